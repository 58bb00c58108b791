/**
 * A small aviso-server for tests, from the wire facts in shared/protocols/aviso.md (the real server
 * is Rust and not installable here). It keeps notifications per event type with server-assigned
 * sequences, answers `POST /api/v1/watch` and `POST /api/v1/replay` with the same frames in the same
 * order as the real one, validates request bodies the way it does (unknown fields, both/neither
 * `from_*`), and records every request so tests can assert what the client sent. Faults are scripted
 * per connection with `plan`. 127.0.0.1 only, ephemeral port.
 */
import http from 'node:http'
import type { Socket } from 'node:net'

export interface AvisoRequestRecord {
  path: string
  method: string
  contentType: string | undefined
  authorization: string | undefined
  /** The body text as received. */
  raw: string
  /** The parsed body, when it was JSON. */
  body: Record<string, unknown> | undefined
}

/** What the next connection (one entry per connection, in order) does differently. */
export interface ConnectionPlan {
  /** Answer this status instead of streaming. */
  status?: number
  /** Raw frames written right after the response head, before anything else. */
  inject?: Array<{ event: string; data: string }>
  /** Replay: send `connection-closing` with this reason after this many history notifications. */
  closeAfterReplayed?: { count: number; reason: string }
  /** Replay: end the body (no closing frame) after this many history notifications. */
  dropAfterReplayed?: number
  /**
   * Replay: after this many history notifications, fail the next batch the way the real server does
   * (src/sse/replay.rs): one `error` frame, the rest of the history skipped, then `replay_completed`
   * and (on a watch) live, on the same connection.
   */
  errorAfterReplayed?: number
}

export interface AvisoServerOptions {
  /** `max_allowed`: a replay of more history than this is refused. @default 1000 */
  maxReplay?: number
  /** Heartbeat interval on live streams, ms. @default 30000 */
  heartbeatMs?: number
  /** Live streams are closed with `max_duration_reached` after this long, ms. @default 3600000 */
  maxDurationMs?: number
}

export interface AvisoServer {
  /** `http://127.0.0.1:PORT`, no trailing slash. */
  url: string
  /** Stores a notification and sends it to every matching live watch; returns its sequence. */
  publish(eventType: string, identifier: Record<string, unknown>, payload?: unknown, time?: Date): number
  /** Every request to `/api/v1/*`, in arrival order. */
  readonly requests: AvisoRequestRecord[]
  /** Per-connection faults, consumed in order by the next connections. */
  readonly plan: ConnectionPlan[]
  /** Live watches currently open. */
  readonly openStreams: number
  /** Resolves when at least `count` live watches are open (the live phase has started). */
  waitForStreams(count: number): Promise<void>
  /** Sends `connection-closing` with `reason` to every live watch and ends it. */
  closeStreams(reason: string): void
  /** Writes a raw frame to every live watch. */
  sendToStreams(event: string, data: string): void
  close(): Promise<void>
}

interface StoredNotification {
  eventType: string
  sequence: number
  identifier: Record<string, unknown>
  payload: unknown
  time: Date
}

interface LiveStream {
  eventType: string
  identifier: Record<string, unknown>
  response: http.ServerResponse
  requestId: string
  end(reason: string): void
}

const ALLOWED_FIELDS = new Set(['event_type', 'identifier', 'from_id', 'from_date', 'payload'])

export async function startAvisoServer(options: AvisoServerOptions = {}): Promise<AvisoServer> {
  const maxReplay = options.maxReplay ?? 1000
  const heartbeatMs = options.heartbeatMs ?? 30_000
  const maxDurationMs = options.maxDurationMs ?? 3_600_000
  const notifications: StoredNotification[] = []
  const sequences = new Map<string, number>()
  const requests: AvisoRequestRecord[] = []
  const plan: ConnectionPlan[] = []
  const live = new Set<LiveStream>()
  const sockets = new Set<Socket>()
  const waiters: Array<{ count: number; resolve: () => void }> = []
  let requestCounter = 0

  const wake = () => {
    for (const waiter of [...waiters]) {
      if (live.size >= waiter.count) {
        waiters.splice(waiters.indexOf(waiter), 1)
        waiter.resolve()
      }
    }
  }

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => handle(req, res, Buffer.concat(chunks).toString('utf8')))
  })
  server.on('connection', (socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })

  function handle(req: http.IncomingMessage, res: http.ServerResponse, raw: string): void {
    const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname
    // The real server sends this on every answer but has no OPTIONS route (hence text/plain bodies).
    res.setHeader('access-control-allow-origin', '*')
    const endpoint = /\/api\/v1\/(watch|replay)$/.exec(path)?.[1] as 'watch' | 'replay' | undefined
    if (endpoint === undefined || req.method !== 'POST') {
      res.writeHead(req.method === 'OPTIONS' ? 405 : 404, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ error: 'not_found', message: `${req.method} ${path}` }))
      return
    }
    let body: Record<string, unknown> | undefined
    try {
      const parsed: unknown = JSON.parse(raw)
      if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) body = parsed as Record<string, unknown>
    } catch {
      body = undefined
    }
    requests.push({ path, method: req.method, contentType: req.headers['content-type'], authorization: req.headers.authorization, raw, body })

    const step = plan.shift()
    if (step?.status !== undefined) {
      res.writeHead(step.status, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ error: 'injected', message: `planned ${step.status}` }))
      return
    }
    const problem = body === undefined ? 'body is not a JSON object' : validate(body, endpoint)
    if (problem !== undefined) {
      res.writeHead(400, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ error: 'bad_request', message: problem }))
      return
    }
    stream(res, endpoint, body as Record<string, unknown>, step)
  }

  function validate(body: Record<string, unknown>, endpoint: 'watch' | 'replay'): string | undefined {
    for (const key of Object.keys(body)) if (!ALLOWED_FIELDS.has(key)) return `unknown field \`${key}\``
    if (typeof body.event_type !== 'string' || body.event_type === '') return '`event_type` is required'
    if (typeof body.identifier !== 'object' || body.identifier === null) return '`identifier` must be an object'
    const hasId = body.from_id !== undefined
    const hasDate = body.from_date !== undefined
    if (hasId && hasDate) return '`from_id` and `from_date` are mutually exclusive'
    if (endpoint === 'replay' && !hasId && !hasDate) return 'replay requires `from_id` or `from_date`'
    if (hasId && (typeof body.from_id !== 'string' || !/^\d+$/.test(body.from_id))) return '`from_id` must be a u64 as a string'
    // The real server deserialises `from_date` as a string (serde `Option<String>`): a JSON number is a 400.
    if (hasDate && typeof body.from_date !== 'string') return '`from_date` must be a string'
    if (hasDate && parseDate(body.from_date) === undefined) return '`from_date` is not RFC 3339 or unix seconds/milliseconds'
    return undefined
  }

  function stream(res: http.ServerResponse, endpoint: 'watch' | 'replay', body: Record<string, unknown>, step: ConnectionPlan | undefined): void {
    const eventType = body.event_type as string
    const identifier = body.identifier as Record<string, unknown>
    const requestId = `req-${++requestCounter}`
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' })
    const write = (event: string, data: unknown) => {
      res.write(`event: ${event}\ndata: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`)
    }
    for (const frame of step?.inject ?? []) write(frame.event, frame.data)

    const fromId = body.from_id === undefined ? undefined : Number(body.from_id)
    const fromDate = body.from_date === undefined ? undefined : parseDate(body.from_date)
    const replaying = fromId !== undefined || fromDate !== undefined
    if (replaying) {
      const history = notifications.filter(
        (n) => n.eventType === eventType && matches(identifier, n.identifier) && (fromId !== undefined ? n.sequence >= fromId : n.time.getTime() >= (fromDate as number)),
      )
      write('replay-control', { type: 'replay_started', from_sequence: fromId ?? null, from_date: body.from_date ?? null, request_id: requestId })
      if (history.length > maxReplay) {
        write('replay-control', {
          type: 'notification_replay_limit_reached',
          max_allowed: maxReplay,
          message: `Replay would return ${history.length} notifications; the limit is ${maxReplay}`,
        })
        res.end()
        return
      }
      let sent = 0
      for (const notification of history) {
        if (step?.dropAfterReplayed === sent) {
          res.end()
          return
        }
        if (step?.closeAfterReplayed?.count === sent) {
          write('connection-closing', { reason: step.closeAfterReplayed.reason, message: 'scripted', request_id: requestId })
          res.end()
          return
        }
        if (step?.errorAfterReplayed === sent) {
          write('error', { error: 'replay_batch_failed', message: 'Failed to retrieve historical message batch', request_id: requestId, sequence: notification.sequence })
          break
        }
        write('replay', cloudEvent(notification, 'replay'))
        sent += 1
      }
      write('replay-control', { type: 'replay_completed', request_id: requestId })
    }
    if (endpoint === 'replay') {
      write('connection-closing', { reason: 'end_of_stream', message: 'Replay completed', request_id: requestId })
      res.end()
      return
    }

    if (!replaying) {
      write('live-notification', {
        type: 'connection_established',
        topic: eventType,
        timestamp: new Date().toISOString(),
        connection_will_close_in_seconds: Math.round(maxDurationMs / 1000),
        request_id: requestId,
      })
    }
    const heartbeat = setInterval(() => write('heartbeat', { timestamp: new Date().toISOString(), topic: eventType }), heartbeatMs)
    const expiry = setTimeout(() => entry.end('max_duration_reached'), maxDurationMs)
    const entry: LiveStream = {
      eventType,
      identifier,
      response: res,
      requestId,
      end(reason) {
        if (!live.delete(entry)) return
        clearInterval(heartbeat)
        clearTimeout(expiry)
        write('connection-closing', { reason, message: `closing: ${reason}`, request_id: requestId })
        res.end()
      },
    }
    live.add(entry)
    res.on('close', () => {
      live.delete(entry)
      clearInterval(heartbeat)
      clearTimeout(expiry)
    })
    wake()
  }

  function cloudEvent(notification: StoredNotification, kind: 'replay' | 'live'): Record<string, unknown> {
    return {
      specversion: '1.0',
      id: `${notification.eventType}@${notification.sequence}`,
      type: 'int.ecmwf.aviso.notification',
      source: kind === 'replay' ? '/api/v1/replay' : '/api/v1/watch',
      time: notification.time.toISOString(),
      datacontenttype: 'application/json',
      data: { identifier: notification.identifier, payload: notification.payload },
    }
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('aviso test server has no port')

  return {
    url: `http://127.0.0.1:${address.port}`,
    requests,
    plan,
    get openStreams() {
      return live.size
    },
    publish(eventType, identifier, payload = null, time = new Date()) {
      const sequence = (sequences.get(eventType) ?? 0) + 1
      sequences.set(eventType, sequence)
      const notification: StoredNotification = { eventType, sequence, identifier, payload, time }
      notifications.push(notification)
      for (const stream of live) {
        if (stream.eventType === eventType && matches(stream.identifier, identifier)) {
          stream.response.write(`event: live-notification\ndata: ${JSON.stringify(cloudEvent(notification, 'live'))}\n\n`)
        }
      }
      return sequence
    },
    waitForStreams(count) {
      if (live.size >= count) return Promise.resolve()
      return new Promise((resolve) => waiters.push({ count, resolve }))
    },
    closeStreams(reason) {
      for (const stream of [...live]) stream.end(reason)
    },
    sendToStreams(event, data) {
      for (const stream of live) stream.response.write(`event: ${event}\ndata: ${data}\n\n`)
    },
    close() {
      for (const stream of [...live]) stream.response.destroy()
      for (const socket of sockets) socket.destroy()
      return new Promise((resolve) => server.close(() => resolve()))
    },
  }
}

/** RFC 3339, or unix seconds / milliseconds (digits), as ms since epoch. */
function parseDate(value: unknown): number | undefined {
  if (typeof value === 'string' && /^\d+$/.test(value)) {
    const n = Number(value)
    // Below ~1e11 it cannot be milliseconds of any date after 1973: take it as seconds.
    return n < 1e11 ? n * 1000 : n
  }
  if (typeof value !== 'string') return undefined
  const ms = Date.parse(value)
  return Number.isNaN(ms) ? undefined : ms
}

/** The identifier filter: plain values compare equal; constraint objects as aviso defines them. */
function matches(filter: Record<string, unknown>, identifier: Record<string, unknown>): boolean {
  for (const [key, condition] of Object.entries(filter)) {
    const value = identifier[key]
    if (typeof condition !== 'object' || condition === null) {
      if (String(value) !== String(condition)) return false
      continue
    }
    const c = condition as Record<string, unknown>
    const n = Number(value)
    if ('eq' in c && String(value) !== String(c.eq)) return false
    if ('in' in c && !(Array.isArray(c.in) && c.in.map(String).includes(String(value)))) return false
    if ('gt' in c && !(n > Number(c.gt))) return false
    if ('gte' in c && !(n >= Number(c.gte))) return false
    if ('lt' in c && !(n < Number(c.lt))) return false
    if ('lte' in c && !(n <= Number(c.lte))) return false
    if ('between' in c && !(Array.isArray(c.between) && n >= Number(c.between[0]) && n <= Number(c.between[1]))) return false
  }
  return true
}
