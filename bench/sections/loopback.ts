// Section 2: the same clients over real HTTP on 127.0.0.1. The server is a child process, so the
// CPU time per event below is the client's alone (process.cpuUsage of the bench process).
import type { Client, ResumableSSE } from '../lib/clients.js'
import type { ChildServer } from '../lib/child-server.js'
import { type Measured, measureRounds } from '../lib/harness.js'
import type { Section, Table } from '../lib/report.js'
import { SHAPES, type ShapeName, wireText } from '../lib/sse-bytes.js'
import { fixed, si, spreadText, times } from '../lib/stats.js'
import { clientsFor, fastestPeer, spreadAgainst } from './throughput.js'

export interface LoopbackOptions {
  lib: ResumableSSE | undefined
  server: ChildServer
  counts: Partial<Record<ShapeName, number>>
  warmup: number
  runs: number
  /** Narrows the client list (profiling). */
  filter?: (clients: Client[]) => Client[]
}

export async function loopback(options: LoopbackOptions): Promise<Section> {
  const tables: Table[] = []
  const notes: string[] = []
  const targets: string[] = []
  const clients = (options.filter ?? ((c: Client[]) => c))(clientsFor(options.lib))
  for (const [name, count] of Object.entries(options.counts) as [ShapeName, number][]) {
    const shape = SHAPES[name]
    const { text, dataChars } = wireText(shape, count)
    const size = Buffer.byteLength(text)
    const url = `${options.server.url}/stream?shape=${name}&count=${count}`
    const results = await measureRounds(
      clients,
      () => ({ url, fetch: globalThis.fetch, eventType: shape.eventType, expected: count }),
      { events: count, dataChars },
      { warmup: options.warmup, runs: options.runs },
    )
    const floor = results.find((r) => r.client.id === 'floor-parser')
    const iteratorFloor = results.find((r) => r.client.id === 'floor-parser-iterator' && !r.problem)
    const peer = fastestPeer(results)
    const spread = (baseline: Measured | undefined, r: Measured) => {
      const value = spreadAgainst(baseline, r)
      return value ? spreadText(value) : 'n/a'
    }
    const usPerEvent = (r: Measured) => (r.cpuMs * 1000) / count
    tables.push({
      caption: `${shape.label}: ${si(count)} events, ${fixed(size / 1e6)} MB per connection`,
      columns: ['client', 'events/s', 'MB/s', 'client CPU µs/event', '× eventsource-parser floor', '× for-await floor (range)', `× fastest peer${peer ? ` (${peer.client.id})` : ''} (range)`],
      numeric: [1, 2, 3, 4, 5, 6],
      rows: results.map((r) =>
        r.problem
          ? [r.client.label, '—', '—', '—', '—', '—', r.problem]
          : [
              r.client.label,
              si(count / (r.ms / 1000)),
              fixed(size / 1e6 / (r.ms / 1000), 1),
              fixed(usPerEvent(r), 3),
              floor && !floor.problem ? times(spreadAgainst(floor, r)!.median) : 'n/a',
              spread(iteratorFloor, r),
              spread(peer, r),
            ],
      ),
    })
    const ours = results.find((r) => r.client.id === 'rsse')
    if (ours && !ours.problem && peer && floor) {
      targets.push(
        `${shape.label} over loopback: resumable-sse ${spread(peer, ours)} the fastest peer, ${spread(iteratorFloor, ours)} the for-await floor, ${times(spreadAgainst(floor, ours)!.median)} the parser floor; ` +
          `CPU per event ${(usPerEvent(ours) / usPerEvent(floor)).toFixed(2)}× the floor's`,
      )
    }
    for (const r of results) if (r.problem) notes.push(`${r.client.label} on ${shape.label}: ${r.problem}`)
  }
  notes.push('Server: node:http in a child process, pre-built body written in 64 KiB slices as fast as the socket drains; the client uses Node\'s global fetch (undici) with keep-alive.')
  notes.push(`Steady state: one \`gc()\` before ${options.warmup} warm-up + ${options.runs} measured rounds per shape, none in between; a ratio is baseline ÷ client wall time within one round, median over rounds (range: lowest–highest round).`)
  notes.push('CPU µs/event is user + system time of the bench process over the run divided by the event count (median run).')
  return {
    title: '2. Over loopback HTTP (127.0.0.1, server in a child process)',
    tables,
    notes,
    targets,
  }
}
