// Section 3: checkpoint overhead in headless Chromium (the only place IndexedDB and localStorage are
// real). The built dist/ files and bench/browser/checkpoint-page.ts are bundled into one script, served
// from 127.0.0.1 (a real origin: IndexedDB refuses opaque ones) and run in a page.
import { existsSync } from 'node:fs'
import { once } from 'node:events'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { build } from 'esbuild'
import { CHROMIUM_PATH, launchChromium } from '../../test/support/chromium.js'
import type { PageConfig, PageRow } from '../browser/checkpoint-page.js'
import type { Section, Table } from '../lib/report.js'
import { builtEntry, selfResolve } from '../lib/self-resolve.js'
import { SHAPES, type ShapeName } from '../lib/sse-bytes.js'
import { fixed, median, si, times } from '../lib/stats.js'

export interface CheckpointOptions {
  root: string
  shapes: { name: ShapeName; count: number }[]
  paced: PageConfig['paced']
  warmup: number
  runs: number
}

const LABELS: Record<string, string> = {
  none: 'no store given (default MemoryStore)',
  memory: 'MemoryStore (counted)',
  indexeddb: 'IndexedDBStore',
  'local-storage': 'LocalStorageStore',
  'indexeddb-spaced': 'IndexedDBStore, puts ≥ 50 ms apart (diagnostic)',
}

const medianMs = (row: PageRow) => median(row.ms.filter(Number.isFinite))

async function bundle(root: string): Promise<string> {
  const idb = builtEntry(root, './indexeddb')
  const local = builtEntry(root, './local-storage')
  const glue = [
    "import { subscribe, MemoryStore } from 'resumable-sse'",
    idb ? "import { IndexedDBStore } from 'resumable-sse/indexeddb'" : 'const IndexedDBStore = undefined',
    local ? "import { LocalStorageStore } from 'resumable-sse/local-storage'" : 'const LocalStorageStore = undefined',
    "import { runCheckpointBench } from './bench/browser/checkpoint-page.ts'",
    'globalThis.__runBench = (config) => runCheckpointBench({ subscribe, MemoryStore, IndexedDBStore, LocalStorageStore }, config)',
  ].join('\n')
  const result = await build({
    stdin: { contents: glue, resolveDir: root, loader: 'ts', sourcefile: 'bench-page.ts' },
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: 'es2022',
    write: false,
    logLevel: 'silent',
    plugins: [selfResolve(root)],
  })
  return result.outputFiles[0]!.text
}

export async function checkpoint(options: CheckpointOptions): Promise<Section> {
  const title = '3. Checkpoint overhead (headless Chromium, committing every event)'
  if (!existsSync(CHROMIUM_PATH)) {
    return { title, tables: [], notes: [`Chromium not found at ${CHROMIUM_PATH}: section skipped.`] }
  }
  const script = await bundle(options.root)
  const server = createServer((req, res) => {
    if (req.url === '/bench.js') {
      res.writeHead(200, { 'content-type': 'text/javascript' }).end(script)
    } else {
      res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>bench</title><script src="/bench.js"></script>')
    }
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const browser = await launchChromium()
  let rows: PageRow[]
  let version = ''
  try {
    const page = await browser.context.newPage()
    await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`)
    version = await page.evaluate(() => navigator.userAgent.match(/Chrom(e|ium)\/[\d.]+/)?.[0] ?? navigator.userAgent)
    const config: PageConfig = { shapes: options.shapes, paced: options.paced, warmup: options.warmup, runs: options.runs }
    rows = await page.evaluate(
      (c) => (globalThis as unknown as { __runBench(c: PageConfig): Promise<PageRow[]> }).__runBench(c),
      config,
    )
  } finally {
    await browser.close()
    server.closeAllConnections()
    server.close()
  }

  const tables: Table[] = []
  const targets: string[] = []
  for (const { name } of options.shapes) {
    const shapeRows = rows.filter((r) => r.shape === name)
    const base = shapeRows.find((r) => r.kind === 'none')
    const first = shapeRows[0]
    tables.push({
      caption: `${SHAPES[name].label}: ${si(first?.events ?? 0)} events, ${fixed((first?.bytes ?? 0) / 1e6)} MB per run`,
      columns: ['store', 'events/s', '× no store', 'extra ms per run', 'final flush ms', 'durable writes / 10 000 events'],
      numeric: [1, 2, 3, 4, 5],
      rows: shapeRows.map((r) => {
        if (r.problem) return [LABELS[r.kind] ?? r.kind, '—', '—', '—', '—', r.problem]
        const ms = medianMs(r)
        const baseMs = base && !base.problem ? medianMs(base) : Number.NaN
        return [
          LABELS[r.kind] ?? r.kind,
          si(r.events / (ms / 1000)),
          base && !base.problem ? times(medianMs(base) / medianMs(r)) : 'n/a',
          r === base ? '' : fixed(ms - baseMs, 1),
          fixed(median(r.flushMs.filter(Number.isFinite)), 1),
          r.puts === undefined ? '—' : fixed((r.puts / r.events) * 10_000, 0),
        ]
      }),
    })
    const idb = shapeRows.find((r) => r.kind === 'indexeddb')
    if (idb && !idb.problem && base && !base.problem) {
      const ratio = medianMs(base) / medianMs(idb)
      const writes = ((idb.puts ?? 0) / idb.events) * 10_000
      targets.push(
        `${SHAPES[name].label}: IndexedDB committing every event runs at ${times(ratio)} the no-store throughput — target ≥ 0.9× ${ratio >= 0.9 ? 'met' : 'MISSED'}; ` +
          `${fixed(writes, 0)} durable writes per 10 000 events — target "a few hundred" ${writes <= 500 ? 'met' : 'MISSED'}`,
      )
    } else {
      targets.push(`${SHAPES[name].label}: IndexedDB row not available — no verdict`)
    }
  }
  const pacedRows = rows.filter((r) => r.shape === 'paced')
  const p = options.paced
  tables.push({
    caption: `Live rate: ${si(p.count)} ~60 B events, a ~${si(p.meanChunk)}B chunk every ${p.intervalMs} ms (≈ ${si((p.meanChunk / 63) * (1000 / p.intervalMs))} events/s)`,
    columns: ['store', 'wall s', 'durable writes / 10 000 events'],
    numeric: [1, 2],
    rows: pacedRows.map((r) =>
      r.problem
        ? [LABELS[r.kind] ?? r.kind, '—', r.problem]
        : [LABELS[r.kind] ?? r.kind, fixed((r.ms[0] ?? Number.NaN) / 1000, 2), r.puts === undefined ? '—' : fixed((r.puts / r.events) * 10_000, 0)],
    ),
  })
  const pacedIdb = pacedRows.find((r) => r.kind === 'indexeddb')
  if (pacedIdb && !pacedIdb.problem && pacedIdb.puts !== undefined) {
    const writes = (pacedIdb.puts / pacedIdb.events) * 10_000
    targets.push(`Live rate: IndexedDB issued ${fixed(writes, 0)} durable writes per 10 000 events — target "a few hundred" ${writes <= 500 ? 'met' : 'MISSED'}`)
  }
  return {
    title,
    intro:
      `${version}, headless. The page bundles the built \`dist/\` entries (esbuild) and generates the same seeded byte streams as section 1, served by an injected fetch. ` +
      'The consumer is `for await` (commit-on-next-pull: every event is committed). Throughput is timed from `subscribe()` to the last event; the final `subscription.flush()` (waiting for the last durable write) is timed separately. Each chunk arrives in its own task (as from a socket), so store callbacks and timers run during the stream. ' +
      'Each run uses a fresh key, so nothing resumes from an earlier run. Writes are counted by wrapping the store\'s `put`.',
    tables,
    notes: [
      'The diagnostic row wraps IndexedDBStore so each put starts at least 50 ms after the previous one (what a minimum write interval in the committer would do). Its final flush includes that wait, an artifact of doing it inside the store; a committer would let flush() skip it.',
      'Chromium shares the 2 cores with its own storage process here: IndexedDB and localStorage work done off the page\'s thread still competes with it, which a desktop with more cores would not show as strongly.',
      `Ratios: median no-store wall time ÷ median store wall time over ${options.runs} rounds, after ${options.warmup} warm-up round(s); rounds rotate the store order.`],
    targets,
  }
}
