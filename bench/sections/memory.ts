// Section 5: memory. (a) Heap after 1 000 000 events minus heap after 10 000, over one endless
// connection generated on the fly (nothing pre-built that could hide or fake a leak); a flat figure means
// per-event state is released. (b) Heap per idle subscription: 1 000 subscriptions open against the
// child-process server, each holding after its first event. The first round of each client carries
// one-time costs (compiled code, undici's pools, module state), so it is a warm-up; the measured rounds
// visit the clients in rotated order, like the throughput rounds.
import { EventSource } from 'eventsource'
import { createParser } from 'eventsource-parser'
import type { ChildServer } from '../lib/child-server.js'
import type { ResumableSSE } from '../lib/clients.js'
import { SSE_HEADERS } from '../lib/feed.js'
import type { Section } from '../lib/report.js'
import { bytes, fixed, median } from '../lib/stats.js'

export interface MemoryOptions {
  lib: ResumableSSE | undefined
  server: ChildServer
  early: number
  late: number
  idle: number
  /** Idle-heap rounds not reported (one-time costs). @default 1 */
  idleWarmup?: number
  /** Idle-heap rounds reported (median). @default 2 */
  idleRounds?: number
}

function heap(): number {
  globalThis.gc?.()
  globalThis.gc?.()
  return process.memoryUsage().heapUsed
}

/** An endless body of ~60 B events, 128 per chunk, encoded as it is pulled. */
function endlessFetch(): typeof fetch {
  return (async (_input: RequestInfo | URL, init?: RequestInit) => {
    const encoder = new TextEncoder()
    let n = 0
    const body = new ReadableStream<Uint8Array>(
      {
        pull(controller) {
          if (init?.signal?.aborted) return controller.error(init.signal.reason)
          let text = ''
          for (let i = 0; i < 128; i++) {
            n++
            text += `id: ${n}\r\nevent: tick\r\ndata: {"seq":${n},"price":"101.25"}\r\n\r\n`
          }
          controller.enqueue(encoder.encode(text))
        },
      },
      { highWaterMark: 0 },
    )
    return new Response(body, { headers: SSE_HEADERS })
  }) as typeof fetch
}

type Growth = (checkpoints: { early: number; late: number }, mark: (which: 'early' | 'late') => void) => Promise<void>

function growthRunners(lib: ResumableSSE | undefined): { label: string; run: Growth | undefined }[] {
  const url = 'http://bench.invalid/endless'
  return [
    {
      label: 'resumable-sse (for await, default store, live)',
      run: lib
        ? async ({ early, late }, mark) => {
            let n = 0
            for await (const _event of lib.subscribe({ url, fetch: endlessFetch(), heartbeatTimeout: false })) {
              n++
              if (n === early) mark('early')
              if (n === late) {
                mark('late')
                break
              }
            }
          }
        : undefined,
    },
    {
      label: 'eventsource v4',
      run: ({ early, late }, mark) =>
        new Promise<void>((resolve) => {
          let n = 0
          const source = new EventSource(url, { fetch: endlessFetch() })
          source.addEventListener('tick', () => {
            n++
            if (n === early) mark('early')
            if (n === late) {
              mark('late')
              source.close()
              resolve()
            }
          })
        }),
    },
    {
      label: 'floor: bare eventsource-parser',
      run: async ({ early, late }, mark) => {
        let n = 0
        const response = await endlessFetch()(url)
        const reader = response.body!.getReader()
        const decoder = new TextDecoder()
        const parser = createParser({
          onEvent() {
            n++
            if (n === early) mark('early')
            if (n === late) mark('late')
          },
        })
        while (n < late) {
          const { value } = await reader.read()
          parser.feed(decoder.decode(value, { stream: true }))
        }
        await reader.cancel()
      },
    },
  ]
}

type Idle = (url: string) => { ready: Promise<void>; close: () => Promise<void> | void }

function idleRunners(lib: ResumableSSE | undefined): { label: string; open: Idle | undefined }[] {
  return [
    {
      label: 'resumable-sse (defaults: live, 60 s heartbeat timer, MemoryStore)',
      open: lib
        ? (url) => {
            const subscription = lib.subscribe({ url })
            const iterator = subscription[Symbol.asyncIterator]()
            // Take the first event, then sit on the next pull: an idle consumer.
            const ready = iterator.next().then(() => {
              void iterator.next().catch(() => {})
            })
            return { ready, close: () => subscription.close() }
          }
        : undefined,
    },
    {
      label: 'eventsource v4',
      open: (url) => {
        const source = new EventSource(url)
        const ready = new Promise<void>((resolve) => source.addEventListener('message', () => resolve(), { once: true }))
        return { ready, close: () => source.close() }
      },
    },
    {
      label: 'floor: fetch + pending read',
      open: (url) => {
        const controller = new AbortController()
        const ready = fetch(url, { signal: controller.signal }).then(async (response) => {
          const reader = response.body!.getReader()
          await reader.read()
          void reader.read().catch(() => {})
        })
        return { ready, close: () => controller.abort() }
      },
    },
  ]
}

export async function memory(options: MemoryOptions): Promise<Section> {
  const growthRows: string[][] = []
  const targets: string[] = []
  for (const runner of growthRunners(options.lib)) {
    if (!runner.run) {
      growthRows.push([runner.label, '—', '—', '—', 'not yet available in dist/'])
      continue
    }
    const marks: Record<string, number> = {}
    const started = performance.now()
    await runner.run({ early: options.early, late: options.late }, (which) => (marks[which] = heap()))
    const seconds = (performance.now() - started) / 1000
    const early = marks.early ?? Number.NaN
    const late = marks.late ?? Number.NaN
    growthRows.push([runner.label, bytes(early), bytes(late), bytes(late - early), `${fixed(seconds, 1)} s`])
    if (runner.label.startsWith('resumable-sse')) {
      // Retaining even one byte per event would show as ~1 MB here; half of that is the line.
      const flat = late - early < 512 * 1024
      targets.push(`Heap after ${options.late.toLocaleString('en')} events minus after ${options.early.toLocaleString('en')}: ${bytes(late - early)} — "does not grow with event count" ${flat ? 'met' : 'MISSED'}`)
    }
  }

  const idleRows: string[][] = []
  const idleHeap = new Map<string, number>()
  const notes: string[] = []
  const url = `${options.server.url}/idle`
  const warmup = options.idleWarmup ?? 1
  const measured = options.idleRounds ?? 2
  const runners = idleRunners(options.lib)
  const perRound = new Map<string, number[]>(runners.map((r) => [r.label, []]))
  for (let round = 0; round < warmup + measured; round++) {
    for (let k = 0; k < runners.length; k++) {
      const runner = runners[(k + round) % runners.length]!
      if (!runner.open) continue
      const before = heap()
      const open = Array.from({ length: options.idle }, () => runner.open!(url))
      await Promise.all(open.map((o) => o.ready))
      const after = heap()
      perRound.get(runner.label)!.push((after - before) / open.length)
      await Promise.all(open.map((o) => o.close()))
      // Let sockets close on both sides before the next client is measured.
      await new Promise((resolve) => setTimeout(resolve, 500))
    }
  }
  for (const runner of runners) {
    if (!runner.open) {
      idleRows.push([runner.label, '—', '—', '—', 'not yet available in dist/'])
      continue
    }
    const rounds = perRound.get(runner.label)!
    const steady = median(rounds.slice(warmup))
    idleHeap.set(runner.label, steady)
    idleRows.push([runner.label, String(options.idle), bytes(steady), rounds.slice(warmup).map((b) => bytes(b)).join(', '), rounds.slice(0, warmup).map((b) => bytes(b)).join(', ')])
  }
  const ours = [...idleHeap].find(([label]) => label.startsWith('resumable-sse'))
  const floor = [...idleHeap].find(([label]) => label.startsWith('floor'))
  if (ours && floor) targets.push(`Idle subscription: ${bytes(ours[1])} of heap each, ${bytes(ours[1] - floor[1])} more than a bare fetch holding its body open`)
  notes.push('Heap figures are `process.memoryUsage().heapUsed` after two `global.gc()` calls (node --expose-gc). Growth runs read one endless connection (~60 B events, 128 per chunk, generated per pull) through an injected fetch.')
  notes.push(`Idle heap: the first round of each client carries one-time costs (code, pools, module state) and is not counted; the figure is the median of the ${measured} measured rounds, clients in rotated order each round.`)
  notes.push('Idle subscriptions connect over real loopback HTTP (Node fetch/undici); the per-subscription heap includes the client\'s share of undici\'s socket and stream objects, which is the same for every row. RSS is not reported: on this machine it moved by more than the figure itself between runs.')
  return {
    title: '5. Memory',
    tables: [
      {
        caption: `Heap growth over one connection: after ${options.early.toLocaleString('en')} vs ${options.late.toLocaleString('en')} events`,
        columns: ['client', `heap @ ${options.early.toLocaleString('en')}`, `heap @ ${options.late.toLocaleString('en')}`, 'growth', 'time'],
        numeric: [1, 2, 3, 4],
        rows: growthRows,
      },
      {
        caption: `${options.idle} concurrent idle subscriptions to one local server, ${warmup} warm-up + ${measured} measured rounds in rotated client order`,
        columns: ['client', 'subscriptions', 'heap per subscription (median)', 'measured rounds', 'warm-up round (not counted)'],
        numeric: [1, 2, 3, 4],
        rows: idleRows,
      },
    ],
    notes,
    targets,
  }
}
