// Measures what resumable-sse costs a user's bundle, from the built package (dist/), the way a user's
// bundler sees it: esbuild resolves `resumable-sse` through package.json "exports" (a package may
// import itself by name), minifies, tree-shakes, and we gzip the result at level 9.
//
//   node scripts/size.mjs           print the table
//   node scripts/size.mjs --json    print the numbers as JSON (the size test reads this)
//   node scripts/size.mjs --write   also record them in test/package/size-budget.json (README quotes it)
import { readFileSync, writeFileSync, existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'
import { build } from 'esbuild'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const budgetFile = join(root, 'test/package/size-budget.json')

/** The core a dashboard pays for: subscribe + MemoryStore (+ the default Last-Event-ID dialect it pulls in). */
const CORE = `import { subscribe, MemoryStore } from 'resumable-sse'\nexport { subscribe, MemoryStore }\n`

/** Each store subpath; its extra cost is (core + store) − core. */
const STORES = {
  indexeddb: 'resumable-sse/indexeddb',
  'local-storage': 'resumable-sse/local-storage',
  kv: 'resumable-sse/kv',
  'durable-object': 'resumable-sse/durable-object',
}

/** The drop-in EventSource class: its extra cost over the core. */
const EVENTSOURCE = `export * from 'resumable-sse/eventsource'\n`

/** Peers, measured the same way, for the README's comparison. */
const PEERS = {
  eventsource: `import { EventSource } from 'eventsource'\nexport { EventSource }\n`,
  '@microsoft/fetch-event-source': `import { fetchEventSource } from '@microsoft/fetch-event-source'\nexport { fetchEventSource }\n`,
}

const gz = (bytes) => gzipSync(bytes, { level: 9 }).length

/**
 * Code the library loads with `import()` only when a feature is used (shareAcrossTabs, a `Retry-After`
 * HTTP date) is a separate chunk for any splitting bundler (Vite, Rollup, webpack) and is not
 * downloaded otherwise, so the core is measured without it and each chunk on its own (`lazy`, matched by the chunk's file name in dist/).
 */
const LAZY = {
  share: /\/source-[^/]*\.js$/,
  'retry-after': /\/retry-after-[^/]*\.js$/,
}

/** Leaves every `import()` out of the bundle except those whose path matches `keep`. */
const skipLazy = (keep) => ({
  name: 'skip-lazy',
  setup(b) {
    b.onResolve({ filter: /.*/ }, (args) => (args.kind === 'dynamic-import' && !keep?.test(args.path) ? { path: args.path, external: true } : undefined))
  },
})

async function bundle(contents, keep) {
  const result = await build({
    plugins: [skipLazy(keep)],
    stdin: { contents, resolveDir: root, sourcefile: 'entry.js', loader: 'js' },
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    logLevel: 'silent',
  })
  const bytes = result.outputFiles[0].contents
  return { min: bytes.length, gzip: gz(bytes) }
}

export async function measure() {
  if (!existsSync(join(root, 'dist/index.js'))) throw new Error('dist/ is missing: run `npx tsup` first')
  const core = await bundle(CORE)
  const lazy = {}
  for (const [name, path] of Object.entries(LAZY)) {
    const withChunk = await bundle(CORE, path)
    lazy[name] = { gzip: withChunk.gzip - core.gzip, min: withChunk.min - core.min }
  }
  const stores = {}
  for (const [name, specifier] of Object.entries(STORES)) {
    // `export *` keeps everything the subpath offers, so this is the whole cost of importing it.
    const withStore = await bundle(`${CORE}export * from '${specifier}'\n`)
    stores[name] = { gzip: withStore.gzip - core.gzip, min: withStore.min - core.min }
  }
  const withClass = await bundle(`${CORE}${EVENTSOURCE}`)
  const eventsource = { gzip: withClass.gzip - core.gzip, min: withClass.min - core.min }
  const globalBytes = readFileSync(join(root, 'dist/resumable-sse.global.js'))
  const cdn = { min: globalBytes.length, gzip: gz(globalBytes) }
  const peers = {}
  for (const [name, contents] of Object.entries(PEERS)) peers[name] = await bundle(contents)
  return { core, lazy, stores, eventsource, cdn, peers }
}

const kB = (n) => `${(n / 1000).toFixed(2)} kB`

function table(m) {
  const lines = [
    `core (subscribe + MemoryStore)   ${kB(m.core.gzip)} min+gz   (${kB(m.core.min)} min)`,
    ...Object.entries(m.lazy).map(([n, s]) => `  + ${(n + ' (lazy chunk, when used)').padEnd(30)}+${kB(s.gzip)} min+gz`),
    ...Object.entries(m.stores).map(([n, s]) => `  + ${n.padEnd(30)}+${kB(s.gzip)} min+gz`),
    `  + ${'eventsource (EventSource class)'.padEnd(30)}+${kB(m.eventsource.gzip)} min+gz`,
    `CDN build (resumable-sse.global.js) ${kB(m.cdn.gzip)} min+gz`,
    ...Object.entries(m.peers).map(([n, s]) => `peer ${n.padEnd(31)}${kB(s.gzip)} min+gz`),
  ]
  return lines.join('\n')
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const m = await measure()
  if (process.argv.includes('--json')) {
    process.stdout.write(`${JSON.stringify(m)}\n`)
  } else {
    console.log(table(m))
  }
  if (process.argv.includes('--write')) {
    const current = JSON.parse(readFileSync(budgetFile, 'utf8'))
    const round = (o) => JSON.parse(JSON.stringify(o))
    const next = { ...current, measured: round({ ...m, at: new Date().toISOString().slice(0, 10) }) }
    writeFileSync(budgetFile, `${JSON.stringify(next, null, 2)}\n`)
    console.error(`recorded in ${budgetFile}`)
  }
}
