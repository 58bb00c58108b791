// Section 4: resume cost. An in-process 127.0.0.1 server (one clock for both sides) sends one event per
// connection; the moment the client has that event, the server destroys the socket. The figure is the
// time from the destroy to the first event of the next connection: error detection, backoff (base delay
// 0, and `retry: 0` for the peers), a new TCP connection, the request with the cursor, the first bytes.
import { once } from 'node:events'
import { createServer, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { fetchEventSource } from '@microsoft/fetch-event-source'
import { EventSource } from 'eventsource'
import type { ResumableSSE } from '../lib/clients.js'
import type { Section } from '../lib/report.js'
import { fixed, median, quantile } from '../lib/stats.js'

export interface ResumeOptions {
  lib: ResumableSSE | undefined
  cycles: number
  warmup: number
}

/** Opens a reconnecting client; calls `onEvent(id)` per event; resolves once `stop()` has been called and it closed. */
type Opener = (url: string, onEvent: (id: number) => void, stopped: Promise<void>) => Promise<void>

interface Contender {
  label: string
  note: string
  open: Opener | undefined
}

function contenders(lib: ResumableSSE | undefined): Contender[] {
  return [
    {
      label: 'resumable-sse',
      note: '`backoff: { baseDelay: 0 }`, `heartbeatTimeout: false`, for await',
      open: lib
        ? async (url, onEvent, stopped) => {
            const subscription = lib.subscribe({ url, backoff: { baseDelay: 0 }, heartbeatTimeout: false })
            void stopped.then(() => subscription.close())
            for await (const event of subscription) onEvent(Number(event.id))
          }
        : undefined,
    },
    {
      label: 'eventsource v4',
      note: 'server sends `retry: 0`',
      open: (url, onEvent, stopped) =>
        new Promise<void>((resolve) => {
          const source = new EventSource(url)
          source.addEventListener('message', (event) => onEvent(Number(event.lastEventId)))
          void stopped.then(() => {
            source.close()
            resolve()
          })
        }),
    },
    {
      label: '@microsoft/fetch-event-source',
      note: '`onerror` returns 0 (retry at once); Node shim as in section 1',
      open: async (url, onEvent, stopped) => {
        const g = globalThis as Record<string, unknown>
        g.window = { setTimeout, clearTimeout }
        g.document = { hidden: false, addEventListener() {}, removeEventListener() {} }
        const controller = new AbortController()
        void stopped.then(() => controller.abort())
        try {
          await fetchEventSource(url, {
            fetch: globalThis.fetch,
            signal: controller.signal,
            openWhenHidden: true,
            onmessage: (message) => onEvent(Number(message.id)),
            onerror: () => 0,
          })
        } finally {
          delete g.window
          delete g.document
        }
      },
    },
    { label: 'fetch-event-stream', note: 'no reconnect of its own', open: undefined },
    {
      label: 'floor: bare fetch loop',
      note: 'fetch, read, on error fetch again with `last-event-id` (no parser, no backoff)',
      open: async (url, onEvent, stopped) => {
        const controller = new AbortController()
        void stopped.then(() => controller.abort())
        let last = 0
        while (!controller.signal.aborted) {
          try {
            const response = await fetch(url, { headers: { 'last-event-id': String(last) }, signal: controller.signal })
            const reader = response.body!.getReader()
            for (;;) {
              const { done, value } = await reader.read()
              if (done) break
              const text = new TextDecoder().decode(value)
              const id = /id: (\d+)/.exec(text)
              if (id) onEvent((last = Number(id[1])))
            }
          } catch {
            // dropped: go again at once
          }
        }
      },
    },
  ]
}

export async function resume(options: ResumeOptions): Promise<Section> {
  // One live response at a time; the client's event handler triggers the drop.
  let current: ServerResponse | undefined
  let droppedAt = Number.NaN
  const server = createServer((req, res) => {
    const last = Number(req.headers['last-event-id'] ?? '0')
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' })
    res.write(`retry: 0\r\nid: ${last + 1}\r\ndata: event ${last + 1}\r\n\r\n`)
    current = res
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/resume`

  const rows: string[][] = []
  const notes: string[] = []
  const total = options.warmup + options.cycles
  for (const contender of contenders(options.lib)) {
    if (!contender.open) {
      rows.push([contender.label, '—', '—', '—', contender.note + (contender.label === 'resumable-sse' ? '; not yet available in dist/' : '')])
      continue
    }
    const samples: number[] = []
    let lastId = 0
    let gaps = 0
    let stop!: () => void
    const stopped = new Promise<void>((resolve) => (stop = resolve))
    const onEvent = (id: number) => {
      const now = performance.now()
      if (id !== lastId + 1) gaps++
      lastId = id
      if (id > options.warmup + 1) samples.push(now - droppedAt)
      if (id >= total + 1) {
        stop()
        return
      }
      // Drop the connection the event came on, now that the client has it.
      droppedAt = performance.now()
      current?.socket?.destroy()
    }
    const watchdog = setTimeout(stop, 60_000)
    try {
      await contender.open(url, onEvent, stopped)
    } catch (error) {
      notes.push(`${contender.label}: ${(error as Error).message}`)
    }
    clearTimeout(watchdog)
    current?.socket?.destroy()
    if (samples.length < options.cycles) notes.push(`${contender.label}: only ${samples.length} of ${options.cycles} reconnects completed within 60 s`)
    if (gaps > 0) notes.push(`${contender.label}: ${gaps} resumes did not continue at the next id`)
    rows.push([contender.label, String(samples.length), fixed(median(samples), 3), fixed(quantile(samples, 0.95), 3), contender.note])
  }
  server.closeAllConnections()
  server.close()
  notes.push(`${options.cycles} measured reconnects per client after ${options.warmup} warm-up reconnects; each sample runs from \`socket.destroy()\` on the server to the client's handler seeing the next connection's first event.`)
  return {
    title: '4. Resume cost (dropped connection → first event of the next one)',
    tables: [{ columns: ['client', 'reconnects', 'median ms', 'p95 ms', 'setup'], numeric: [1, 2, 3], rows }],
    notes,
  }
}
