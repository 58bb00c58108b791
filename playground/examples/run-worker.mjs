// Runs playground/examples/worker.ts in workerd through miniflare, the way wrangler would: bundled
// with esbuild (`resumable-sse` resolves to this repository's built dist/), a KV namespace persisted
// on disk so later runs resume too, and FEED_URL bound as a var. Sends RUNS requests (default 2) of
// COUNT events each (default 5) and prints what each one read and where it resumed.
//
//   npm run playground                       # in another terminal
//   node playground/examples/run-worker.mjs  # FEED_URL, COUNT, RUNS, KV_DIR from the environment
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'
import { Log, LogLevel, Miniflare } from 'miniflare'

const here = (path) => fileURLToPath(new URL(path, import.meta.url))
const FEED_URL = process.env.FEED_URL || 'http://127.0.0.1:5173/feed'
const COUNT = Number(process.env.COUNT || 5)
const RUNS = Number(process.env.RUNS || 2)
const KV_DIR = process.env.KV_DIR || here('../../.tmp/playground-worker-kv')

const bundle = await build({
  entryPoints: [here('worker.ts')],
  bundle: true,
  format: 'esm',
  platform: 'neutral',
  conditions: ['workerd', 'worker', 'browser'],
  mainFields: ['module', 'main'],
  target: 'es2022',
  write: false,
  logLevel: 'warning',
})

// No nodejs_compat flag: the library runs on plain Workers APIs.
const mf = new Miniflare({
  modules: true,
  script: bundle.outputFiles[0].text,
  compatibilityDate: '2025-04-01',
  bindings: { FEED_URL },
  kvNamespaces: ['CHECKPOINTS'],
  kvPersist: KV_DIR,
  // A placeholder `request.cf` instead of downloading Cloudflare's: the example needs no network.
  cf: false,
  log: new Log(LogLevel.WARN),
})

try {
  for (let run = 1; run <= RUNS; run++) {
    const response = await mf.dispatchFetch(`http://worker.local/?count=${COUNT}`)
    if (!response.ok) throw new Error(`the Worker answered ${response.status}: ${await response.text()}`)
    const batch = await response.json()
    console.log(`request ${run}: ${batch.resumedFrom === null ? 'no checkpoint in KV, started live' : `resumed after checkpoint #${batch.resumedFrom} (KV)`}`)
    for (const event of batch.events) console.log(`  #${event.sequence} ${event.type} ${JSON.stringify(event.data)}`)
    console.log(`  checkpoint in KV: #${batch.checkpoint}`)
  }
} finally {
  await mf.dispose()
}
