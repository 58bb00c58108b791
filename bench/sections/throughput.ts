// Section 1: parse + deliver throughput in-process. The same pre-built chunks go to every client as a
// streaming Response body through an injected fetch, so the network is out of the picture and the
// figures are the clients' own per-byte and per-event cost.
import { type Client, FLOORS, PEERS, type ResumableSSE, resumableClients } from '../lib/clients.js'
import { eventSourceClass } from '../lib/eventsource-class.js'
import { fetchServing } from '../lib/feed.js'
import { type Measured, measureRounds } from '../lib/harness.js'
import type { Section, Table } from '../lib/report.js'
import { buildStream, SHAPES, type ShapeName } from '../lib/sse-bytes.js'
import { fixed, ratioSpread, type Spread, si, spreadText, times } from '../lib/stats.js'

export interface ThroughputOptions {
  lib: ResumableSSE | undefined
  counts: Record<ShapeName, number>
  warmup: number
  runs: number
  /** Also measure with a full gc() before every run (the old method), for a comparison column. */
  gcRegime?: { warmup: number; runs: number }
  /** Narrows the client list (profiling). */
  filter?: (clients: Client[]) => Client[]
}

export const THROUGHPUT_URL = 'http://bench.invalid/stream'

export function clientsFor(lib: ResumableSSE | undefined): Client[] {
  return [...(lib ? [...resumableClients(lib), eventSourceClass] : []), ...PEERS, ...FLOORS]
}

/** Best (fastest) measured peer, for the "× fastest peer" column. */
export function fastestPeer(results: readonly Measured[]): Measured | undefined {
  return results
    .filter((r) => r.client.kind === 'peer' && !r.problem && Number.isFinite(r.ms))
    .sort((a, b) => a.ms - b.ms)[0]
}

/** Paired ratio of every result against `baseline`, median and range over the measured rounds. */
export function spreadAgainst(baseline: Measured | undefined, result: Measured): Spread | undefined {
  return baseline && !baseline.problem && !result.problem ? ratioSpread(baseline.perRound, result.perRound) : undefined
}

const cell = (spread: Spread | undefined, withRange = true): string =>
  spread === undefined ? 'n/a' : withRange ? spreadText(spread) : times(spread.median)

export async function throughput(options: ThroughputOptions): Promise<Section> {
  const tables: Table[] = []
  const targets: string[] = []
  const notes: string[] = []
  const figures: Record<string, number> = {}
  const clients = (options.filter ?? ((c: Client[]) => c))(clientsFor(options.lib))
  const gcRuns = options.gcRegime?.runs ?? 0
  for (const name of ['small', 'json1k', 'big64k'] as const) {
    const shape = SHAPES[name]
    const stream = buildStream(shape, options.counts[name])
    const target = () => ({ url: THROUGHPUT_URL, fetch: fetchServing(stream.chunks), eventType: shape.eventType, expected: stream.events })
    const expected = { events: stream.events, dataChars: stream.dataChars }
    const results = await measureRounds(clients, target, expected, { warmup: options.warmup, runs: options.runs })
    const gcResults =
      gcRuns > 0 ? await measureRounds(clients, target, expected, { warmup: options.gcRegime!.warmup, runs: gcRuns, gcBeforeEach: true }) : undefined
    const byId = (list: readonly Measured[] | undefined, id: string | undefined) => list?.find((r) => r.client.id === id && !r.problem)
    const parserFloor = byId(results, 'floor-parser')
    const iteratorFloor = byId(results, 'floor-parser-iterator')
    const peer = fastestPeer(results)
    const rate = (r: Measured) => stream.events / (r.ms / 1000)
    tables.push({
      caption: `${shape.label}: ${si(stream.events)} events, ${fixed(stream.bytes / 1e6)} MB in ${stream.chunks.length} chunks (${stream.crlfSplits} cut inside \\r\\n)`,
      columns: [
        'client',
        'events/s',
        'MB/s',
        '× eventsource-parser floor',
        '× for-await floor (range)',
        `× fastest peer${peer ? ` (${peer.client.id})` : ''} (range)`,
        ...(gcResults ? ['× same peer, gc before each run'] : []),
        'store puts / 10k events',
      ],
      numeric: gcResults ? [1, 2, 3, 4, 5, 6, 7] : [1, 2, 3, 4, 5, 6],
      rows: results.map((r) => {
        if (r.problem) return [r.client.label, '—', '—', '—', '—', '—', ...(gcResults ? ['—'] : []), r.problem]
        const puts = r.tally?.puts
        const gcOwn = byId(gcResults, r.client.id)
        const gcPeer = byId(gcResults, peer?.client.id)
        return [
          r.client.label,
          si(rate(r)),
          fixed(stream.bytes / 1e6 / (r.ms / 1000), 1),
          cell(spreadAgainst(parserFloor, r), false),
          cell(spreadAgainst(iteratorFloor, r)),
          cell(spreadAgainst(peer, r)),
          ...(gcResults ? [gcOwn && gcPeer ? cell(spreadAgainst(gcPeer, gcOwn), false) : 'n/a'] : []),
          puts === undefined ? '' : fixed((puts / stream.events) * 10_000, 0),
        ]
      }),
    })
    const ours = byId(results, 'rsse')
    if (ours && peer && parserFloor) {
      const vsPeer = spreadAgainst(peer, ours)!
      const vsParser = spreadAgainst(parserFloor, ours)!
      const vsIterator = spreadAgainst(iteratorFloor, ours)
      const gcOurs = byId(gcResults, 'rsse')
      const gcPeer = byId(gcResults, peer.client.id)
      const vsPeerGc = gcOurs && gcPeer ? spreadAgainst(gcPeer, gcOurs) : undefined
      figures[`${name}.peer`] = vsPeer.median
      figures[`${name}.parser`] = vsParser.median
      if (vsIterator) figures[`${name}.iterator`] = vsIterator.median
      if (vsPeerGc) figures[`${name}.peerGc`] = vsPeerGc.median
      targets.push(
        `${shape.label}: resumable-sse ${spreadText(vsPeer)} the fastest peer (${peer.client.id}) in steady state — target ≥ 1.0× ${vsPeer.median >= 1 ? 'met' : 'MISSED'}` +
          (vsPeerGc ? ` (gc before each run: ${times(vsPeerGc.median)})` : '') +
          (vsIterator ? `; ${spreadText(vsIterator)} the for-await floor — target ≥ 0.85× ${vsIterator.median >= 0.85 ? 'met' : 'MISSED'}` : '') +
          `; ${times(vsParser.median)} the bare eventsource-parser floor`,
      )
    } else if (!options.lib) {
      targets.push(`${shape.label}: resumable-sse not yet available in dist/ — no verdict`)
    }
    for (const r of [...results, ...(gcResults ?? [])]) if (r.problem) notes.push(`${r.client.label} on ${shape.label}: ${r.problem}`)
  }
  for (const client of clients) if (client.note) notes.push(`${client.label}: ${client.note}`)
  return {
    title: '1. Parse + deliver throughput (in-process, injected fetch)',
    intro:
      'Every client reads the same pre-generated bytes (CRLF line endings, seeded random chunk cuts, a quarter of them moved inside `\\r\\n`) from a streaming `Response` body served by an injected `fetch`, one chunk per pull. ' +
      'The consumer counts each event and reads `data.length`; a run only counts when the client delivered exactly the expected events and data. ' +
      `Steady state: one \`gc()\` before ${options.warmup} warm-up rounds, then ${options.runs} measured rounds with no \`gc()\` in between, all clients once per round in rotated order. ` +
      'A ratio is baseline wall time ÷ client wall time within the same round (above 1× is faster than the baseline); the table gives the median over rounds and, in brackets, the lowest and highest round. ' +
      'The for-await floor is the same parser behind a hand-written async iterator (one resolved promise per event), the least any `for await` API can pay.' +
      (gcRuns > 0
        ? ` The "gc before each run" column repeats the measurement the old way (a full \`gc()\` right before every run, ${options.gcRegime!.warmup} warm-up + ${gcRuns} measured rounds): on this V8 that deoptimizes freshly optimized code and moves the ratios, so it is shown for comparison only.`
        : ''),
    tables,
    notes,
    targets,
    figures,
  }
}
