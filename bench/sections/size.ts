// Section 6: bundle size. Each entry is a one-line module bundled by esbuild the way an app would
// (browser platform, ESM, minified, tree-shaken), then gzipped at level 9. resumable-sse is resolved to
// the built dist/ files through package.json "exports", exactly what an installed copy would give.
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { build, type Plugin } from 'esbuild'
import { selfResolve } from '../lib/self-resolve.js'
import type { Section } from '../lib/report.js'
import { bytes } from '../lib/stats.js'

interface Entry {
  label: string
  code: string
  /** Subtract this entry's size (store entries are reported as the extra cost over the core). */
  over?: string
  /** Bundle the `import()` chunks whose path matches (measured like scripts/size.mjs: a lazy chunk is not the core). */
  lazy?: RegExp
}

interface Measured {
  minified: number
  gzipped: number
  /** Minified bytes each input contributed (esbuild metafile), largest first. */
  inputs: [string, number][]
}

/**
 * Code the library loads with `import()` only when a feature is used is a separate chunk for a
 * splitting bundler, downloaded only then: left out of a bundle unless `keep` matches its path.
 */
const skipLazy = (keep?: RegExp): Plugin => ({
  name: 'skip-lazy',
  setup(b) {
    b.onResolve({ filter: /.*/ }, (args) => (args.kind === 'dynamic-import' && !keep?.test(args.path) ? { path: args.path, external: true } : undefined))
  },
})

async function measure(root: string, code: string, lazy?: RegExp): Promise<Measured> {
  const result = await build({
    stdin: { contents: code, resolveDir: root, loader: 'js' },
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    metafile: true,
    logLevel: 'silent',
    plugins: [selfResolve(root), skipLazy(lazy)],
  })
  const output = result.outputFiles[0]!.contents
  const meta = Object.values(result.metafile.outputs)[0]
  const inputs = Object.entries(meta?.inputs ?? {})
    .map(([path, info]) => [path.replace(/^.*node_modules\//, ''), info.bytesInOutput] as [string, number])
    .sort((a, b) => b[1] - a[1])
  return { minified: output.length, gzipped: gzipSync(output, { level: 9 }).length, inputs }
}

export async function size(root: string): Promise<Section> {
  const core = "export { subscribe, MemoryStore, lastEventId } from 'resumable-sse'"
  const entries: Entry[] = [
    { label: 'resumable-sse core: `subscribe`, `MemoryStore`, `lastEventId`', code: core },
    { label: 'resumable-sse, everything in the main entry (`export *`)', code: "export * from 'resumable-sse'" },
    { label: '+ `shareAcrossTabs` (lazy chunk, loaded when first used)', code: core, over: core, lazy: /\/source-[^/]*\.js$/ },
    { label: '+ `Retry-After` HTTP date (lazy chunk, loaded when first received)', code: core, over: core, lazy: /\/retry-after-[^/]*\.js$/ },
    { label: '+ `resumable-sse/indexeddb` (extra over core)', code: `${core}\nexport * from 'resumable-sse/indexeddb'`, over: core },
    { label: '+ `resumable-sse/local-storage` (extra over core)', code: `${core}\nexport * from 'resumable-sse/local-storage'`, over: core },
    { label: '+ `resumable-sse/kv` (extra over core)', code: `${core}\nexport * from 'resumable-sse/kv'`, over: core },
    { label: '+ `resumable-sse/durable-object` (extra over core)', code: `${core}\nexport * from 'resumable-sse/durable-object'`, over: core },
    { label: 'eventsource v4 (`EventSource`)', code: "export { EventSource } from 'eventsource'" },
    { label: '@microsoft/fetch-event-source (`fetchEventSource`)', code: "export { fetchEventSource } from '@microsoft/fetch-event-source'" },
    { label: 'fetch-event-stream (`events`, `stream`)', code: "export { events, stream } from 'fetch-event-stream'" },
    { label: 'eventsource-parser (`createParser`)', code: "export { createParser } from 'eventsource-parser'" },
  ]
  const cache = new Map<string, Measured | Error>()
  const get = async (code: string, lazy?: RegExp) => {
    const id = `${code}\0${lazy ?? ''}`
    if (!cache.has(id)) cache.set(id, await measure(root, code, lazy).catch((error: unknown) => error as Error))
    return cache.get(id)!
  }
  const rows: string[][] = []
  const notes: string[] = []
  for (const entry of entries) {
    const m = await get(entry.code, entry.lazy)
    const base = entry.over ? await get(entry.over) : undefined
    if (m instanceof Error || base instanceof Error) {
      const error = (m instanceof Error ? m : base) as Error & { errors?: { text: string }[] }
      rows.push([entry.label, '—', '—', error.errors?.[0]?.text ?? error.message.split('\n')[0] ?? 'build failed'])
      continue
    }
    const minified = base ? m.minified - base.minified : m.minified
    const gzipped = base ? m.gzipped - base.gzipped : m.gzipped
    rows.push([entry.label, `${base ? '+' : ''}${bytes(minified)}`, `${base ? '+' : ''}${bytes(gzipped)}`, ''])
  }
  const globalBuild = join(root, 'dist/resumable-sse.global.js')
  if (existsSync(globalBuild)) {
    const data = readFileSync(globalBuild)
    rows.push(['`dist/resumable-sse.global.js` (CDN build, browser stores included)', bytes(data.length), bytes(gzipSync(data, { level: 9 }).length), 'as shipped'])
  }
  const coreBuild = await get(core)
  if (!(coreBuild instanceof Error)) {
    const byPackage = new Map<string, number>()
    for (const [path, size] of coreBuild.inputs) {
      if (path === '<stdin>') continue
      const pkg = path.startsWith('dist/') ? 'resumable-sse' : path.split('/').slice(0, path.startsWith('@') ? 2 : 1).join('/')
      byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + size)
    }
    const parts = [...byPackage].sort((a, b) => b[1] - a[1]).map(([pkg, size]) => `${pkg} ${bytes(size)} (${((100 * size) / coreBuild.minified).toFixed(0)}%)`)
    notes.push(`Core bundle by package (minified, before gzip): ${parts.join(', ')}.`)
    // The same entry bundled from src/ attributes resumable-sse's own bytes to its modules.
    const fromSrc = await measure(root, "export { subscribe, MemoryStore, lastEventId } from './src/index.ts'").catch(() => undefined)
    if (fromSrc) {
      const own = fromSrc.inputs.filter(([path]) => path.startsWith('src/')).slice(0, 8)
      notes.push(`Largest src/ modules in the core (bundled from src/, minified): ${own.map(([path, size]) => `${path} ${bytes(size)}`).join(', ')}.`)
    }
  }
  notes.push('esbuild: `bundle`, `minify`, `format: esm`, `platform: browser`, `target: es2022`, dependencies bundled; gzip level 9 (node:zlib). Store and lazy-chunk rows are the difference to the core bundle, so shared code is not counted twice; code loaded with `import()` (a separate chunk for a splitting bundler) is not counted in the core.')
  return {
    title: '6. Size (min + gzip)',
    tables: [{ columns: ['entry', 'minified', 'min + gz', 'note'], numeric: [1, 2], rows }],
    notes,
  }
}
