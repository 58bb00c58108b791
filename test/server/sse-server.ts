/**
 * The project's SSE test server: a numbered feed whose every fault is chosen by the request URL, so a
 * test in Node, Deno, workerd or a browser page can ask for the same misbehaviour. Plain `node:http`
 * only (it also runs under Deno's compat layer) and no relative imports (Deno resolves `.ts` paths
 * literally). 127.0.0.1 only. The URL language is in README.md beside this file.
 */
import { readFile } from 'node:fs/promises'
import http from 'node:http'
import type { Socket } from 'node:net'
import { extname, resolve, sep } from 'node:path'

/** What happens after a connection's events. */
export type Then = 'end' | 'drop' | 'drop-mid-frame' | 'stall' | 'hold'

/** One connection's behaviour; entry k of `plan` applies to the k-th connection of a `sid`. */
export interface PlanEntry {
  /** Answer this status instead of streaming. */
  status?: number
  /** Sent as `Retry-After` with `status`. */
  retryAfter?: string
  /** Response body with `status` (sent as application/json when it parses as JSON, else text/plain). */
  body?: string
  /** Sent as `x-request-id` with `status`. */
  requestId?: string
  /** Stream with this content type instead of `text/event-stream`. */
  contentType?: string
  /** Send only this many new events (distinct ids) on this connection, then do `then`. */
  events?: number
  /** @default 'end', or 'hold' when the query has `hold=1` */
  then?: Then
  /** Send first one id-less event whose data is exactly this many bytes. */
  bigEvent?: number
  /** Write this raw text first (after `retry:`). */
  garbage?: string
  /** `repeat`: every event is sent twice; `backwards`: before event k (from the third on), event k-2 again. */
  lie?: 'repeat' | 'backwards'
  /** Overrides the query's `heartbeat` (ms between `:hb` comments) for this connection. */
  heartbeat?: number
  /** Overrides the query's `interval` for this connection. */
  interval?: number
  /** Overrides the query's `retry` for this connection. */
  retry?: number
}

/** One request to `/events`, as the server saw it. */
export interface RequestRecord {
  /** The connection number within its `sid`, from 1. */
  n: number
  method: string
  path: string
  query: Record<string, string>
  headers: {
    'last-event-id'?: string
    authorization?: string
    'content-type'?: string
    accept?: string
    'cache-control'?: string
    /** On a CORS preflight (`method: 'OPTIONS'`): the headers the browser asked to send. */
    'access-control-request-headers'?: string
    cookie?: string
    origin?: string
  }
  body: string
}

/**
 * One connection of `/script`: raw bytes chosen by the test (the EventSource ports need exact
 * streams: BOMs, bare CRs, NULs, comments), written chunk by chunk.
 */
export interface ScriptEntry {
  /** Answer this status (empty body) instead of streaming. */
  status?: number
  /** @default 'text/event-stream'; `null` sends no content type at all */
  contentType?: string | null
  /** Written in order, each handed to the socket before the next. */
  chunks?: string[]
  /** Each chunk's characters (U+0000–U+00FF) are its bytes, for invalid or split UTF-8. @default false (UTF-8) */
  bytes?: boolean
  /** @default 'end' */
  then?: 'end' | 'hold' | 'drop'
  /** Answer CORS with credentials allowed (the request's Origin echoed, `Allow-Credentials: true`). */
  credentials?: boolean
  /** Answer this redirect status with `Location:` the same URL (the next connection of the sid). */
  redirect?: number
}

export interface SSEServerOptions {
  /** @default 0 (an ephemeral port) */
  port?: number
  /** Serve the files under this directory at `GET /static/...`. */
  staticDir?: string
}

export interface SSEServer {
  /** `http://127.0.0.1:PORT`, no trailing slash. */
  url: string
  /** Stops listening and destroys every open connection (streams in progress included). */
  close(): Promise<void>
  /** The requests made to `/events` with this `sid`, in arrival order. */
  log(sid: string): RequestRecord[]
  /** How many `/events` streams of this `sid` are open right now. */
  open(sid: string): number
}

/** Query parameters of `/events`, typed; `feedUrl` encodes them (the plan as JSON). */
export interface FeedQuery {
  sid: string
  total?: number
  size?: number
  type?: string
  interval?: number
  hold?: boolean
  heartbeat?: number
  retry?: number
  token?: string
  lastEventId?: string | number
  plan?: PlanEntry[]
}

/** `feedUrl(server.url, { sid: 'a', total: 5, plan: [{ events: 2, then: 'drop' }] })` */
export function feedUrl(base: string, query: FeedQuery): string {
  const url = new URL('/events', base)
  for (const [name, value] of Object.entries(query)) {
    if (value === undefined || value === false) continue
    const text = name === 'plan' ? JSON.stringify(value) : value === true ? '1' : String(value)
    url.searchParams.set(name, text)
  }
  return url.href
}

const CONTENT_TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.cjs': 'text/javascript; charset=utf-8',
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.txt': 'text/plain; charset=utf-8',
}

const THENS: readonly string[] = ['end', 'drop', 'drop-mid-frame', 'stall', 'hold']

/** Headers on every response: never cached, and readable from a page on another origin. */
function baseHeaders(): Record<string, string> {
  return {
    'cache-control': 'no-cache',
    'access-control-allow-origin': '*',
    // The `*` wildcard never covers Authorization (Fetch spec), so it is named as well.
    'access-control-allow-headers': '*, Authorization',
    'access-control-allow-methods': '*',
    'access-control-expose-headers': '*',
  }
}

class BadRequest extends Error {}

export async function startSSEServer(options: SSEServerOptions = {}): Promise<SSEServer> {
  const connections = new Map<string, number>()
  const logs = new Map<string, RequestRecord[]>()
  const sockets = new Set<Socket>()
  const streams = new Set<AbortController>()
  const open = new Map<string, number>()

  const server = http.createServer((req, res) => {
    res.on('error', () => {}) // a client that went away mid-write is normal here
    req.on('error', () => {})
    handle(req, res).catch((error: unknown) => {
      if (res.headersSent) {
        res.destroy()
        return
      }
      const status = error instanceof BadRequest ? 400 : 500
      res.writeHead(status, { ...baseHeaders(), 'content-type': 'text/plain; charset=utf-8' })
      res.end(error instanceof Error ? error.message : String(error))
    })
  })
  server.on('connection', (socket: Socket) => {
    sockets.add(socket)
    socket.on('error', () => {})
    socket.on('close', () => sockets.delete(socket))
  })

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1')
    if (req.method === 'OPTIONS') {
      // A preflight is logged too (not a connection: `n` stays the last connection's), so browser tests can count them.
      if (url.pathname === '/events') {
        const sid = url.searchParams.get('sid') ?? 'default'
        logFor(sid).push({ n: connections.get(sid) ?? 0, method: 'OPTIONS', path: url.pathname, query: Object.fromEntries(url.searchParams), headers: pickHeaders(req.headers), body: '' })
      }
      res.writeHead(204, { ...baseHeaders(), 'access-control-max-age': '600' })
      res.end()
      return
    }
    if (url.pathname === '/events') return feed(req, res, url)
    // `/redirect?to=<path or URL>&status=307`: a redirect, to this origin or another one.
    if (url.pathname === '/redirect') {
      await readBody(req)
      res.writeHead(Number(url.searchParams.get('status') ?? 307), { ...baseHeaders(), location: url.searchParams.get('to') ?? '/' })
      res.end()
      return
    }
    if (url.pathname === '/script') return script(req, res, url)
    if (url.pathname === '/_log') {
      const records = logs.get(url.searchParams.get('sid') ?? '') ?? []
      res.writeHead(200, { ...baseHeaders(), 'content-type': 'application/json; charset=utf-8' })
      res.end(JSON.stringify(records))
      return
    }
    if (url.pathname.startsWith('/static/') && options.staticDir !== undefined && (req.method === 'GET' || req.method === 'HEAD')) {
      return serveStatic(res, url, options.staticDir, req.method === 'HEAD')
    }
    res.writeHead(404, { ...baseHeaders(), 'content-type': 'text/plain; charset=utf-8' })
    res.end(`No route for ${req.method ?? '?'} ${url.pathname}`)
  }

  function logFor(sid: string): RequestRecord[] {
    let log = logs.get(sid)
    if (log === undefined) logs.set(sid, (log = []))
    return log
  }

  async function feed(req: http.IncomingMessage, res: http.ServerResponse, url: URL): Promise<void> {
    const q = url.searchParams
    const sid = q.get('sid') ?? 'default'
    const body = await readBody(req)
    const n = (connections.get(sid) ?? 0) + 1
    connections.set(sid, n)
    const record: RequestRecord = {
      n,
      method: req.method ?? 'GET',
      path: url.pathname,
      query: Object.fromEntries(q),
      headers: pickHeaders(req.headers),
      body,
    }
    logFor(sid).push(record)

    const plan = parsePlan(q.get('plan'))
    const entry: PlanEntry = plan[n - 1] ?? {}

    const token = q.get('token')
    if (token !== null && req.headers.authorization !== `Bearer ${token}` && entry.status === undefined) {
      return answer(res, { status: 401, body: JSON.stringify({ error: 'unauthorized', message: 'Expected Authorization: Bearer <token>' }) })
    }
    if (entry.status !== undefined) return answer(res, entry)

    const total = intParam(q, 'total', 10)
    const resumeFrom = lastEventIdOf(req, q)
    const interval = entry.interval ?? intParam(q, 'interval', 0)
    const heartbeat = entry.heartbeat ?? intParam(q, 'heartbeat', 0)
    const retry = entry.retry ?? (q.has('retry') ? intParam(q, 'retry', 0) : undefined)
    const size = intParam(q, 'size', 0)
    const type = q.get('type')
    const then: Then = entry.then ?? (q.get('hold') === '1' ? 'hold' : 'end')
    if (!THENS.includes(then)) throw new BadRequest(`Unknown plan \`then\`: ${String(then)}`)

    const stream = new AbortController()
    streams.add(stream)
    const { signal } = stream
    let heartbeatTimer: ReturnType<typeof setInterval> | undefined
    res.on('close', () => stream.abort())
    open.set(sid, (open.get(sid) ?? 0) + 1)
    signal.addEventListener('abort', () => {
      open.set(sid, (open.get(sid) ?? 1) - 1)
      streams.delete(stream)
      clearInterval(heartbeatTimer)
    })

    res.writeHead(200, { ...baseHeaders(), 'content-type': entry.contentType ?? 'text/event-stream; charset=utf-8', connection: 'keep-alive' })
    res.flushHeaders()

    // Writes resolve once the bytes are handed to the socket, so `drop` never discards what was
    // "sent" before it (destroy() throws away anything still buffered).
    const write = (text: string): Promise<void> =>
      new Promise((done) => {
        if (signal.aborted || res.destroyed) return done()
        const finish = (): void => {
          signal.removeEventListener('abort', finish)
          done()
        }
        signal.addEventListener('abort', finish)
        res.write(text, finish)
      })
    if (heartbeat > 0) {
      heartbeatTimer = setInterval(() => void write(':hb\n\n'), heartbeat)
    }

    if (retry !== undefined) await write(`retry: ${retry}\n\n`)
    if (entry.garbage !== undefined) await write(entry.garbage)
    if (entry.bigEvent !== undefined) await write(frame({ data: exactBytes(entry.bigEvent) }))

    const eventFrame = (id: number): string =>
      frame({ id, type, data: eventData(id, sid, size) })
    const limit = entry.events ?? Number.POSITIVE_INFINITY
    let sent = 0
    let next = resumeFrom + 1
    while (next <= total && sent < limit && !signal.aborted) {
      if (sent > 0 && interval > 0) await sleep(interval, signal)
      if (signal.aborted) break
      if (entry.lie === 'backwards' && next - 2 > resumeFrom) await write(eventFrame(next - 2))
      await write(eventFrame(next))
      if (entry.lie === 'repeat') await write(eventFrame(next))
      sent += 1
      next += 1
    }
    if (signal.aborted) return

    switch (then) {
      case 'end':
        clearInterval(heartbeatTimer)
        res.end()
        stream.abort()
        return
      case 'drop':
        destroy(req, res)
        return
      case 'drop-mid-frame': {
        clearInterval(heartbeatTimer)
        const whole = eventFrame(next)
        await write(whole.slice(0, Math.floor(whole.length / 2)))
        destroy(req, res)
        return
      }
      case 'stall':
        // Not a byte more, heartbeats included, until the client leaves or the server closes.
        clearInterval(heartbeatTimer)
        return
      case 'hold':
        return
    }
  }

  /** `/script?sid=&conns=[ScriptEntry...]`: entry k is connection k; connections past the list get 204. */
  async function script(req: http.IncomingMessage, res: http.ServerResponse, url: URL): Promise<void> {
    const sid = url.searchParams.get('sid') ?? 'default'
    const n = (connections.get(sid) ?? 0) + 1
    connections.set(sid, n)
    let log = logs.get(sid)
    if (log === undefined) logs.set(sid, (log = []))
    log.push({ n, method: req.method ?? 'GET', path: url.pathname, query: Object.fromEntries(url.searchParams), headers: pickHeaders(req.headers), body: await readBody(req) })
    let entries: ScriptEntry[]
    try {
      entries = JSON.parse(url.searchParams.get('conns') ?? '[]') as ScriptEntry[]
    } catch {
      throw new BadRequest('Expected `conns` to be a JSON array')
    }
    const entry: ScriptEntry = entries[n - 1] ?? { status: 204 }
    const headers: Record<string, string> = baseHeaders()
    if (entry.credentials) {
      headers['access-control-allow-origin'] = req.headers.origin ?? '*'
      headers['access-control-allow-credentials'] = 'true'
    }
    if (entry.redirect !== undefined) {
      res.writeHead(entry.redirect, { ...headers, location: req.url ?? '/' })
      res.end()
      return
    }
    if (entry.status !== undefined) {
      res.writeHead(entry.status, headers)
      res.end()
      return
    }
    if (entry.contentType !== null) headers['content-type'] = entry.contentType ?? 'text/event-stream'
    res.writeHead(200, headers)
    res.flushHeaders()
    const stream = new AbortController()
    streams.add(stream)
    res.on('close', () => {
      stream.abort()
      streams.delete(stream)
    })
    for (const chunk of entry.chunks ?? []) {
      if (stream.signal.aborted) return
      await new Promise<void>((done) => res.write(chunk, entry.bytes ? 'latin1' : 'utf8', () => done()))
    }
    if (entry.then === 'hold') return
    if (entry.then === 'drop') {
      // A moment first: Chromium's fetch may discard bytes that arrive together with the reset, and
      // these scripts are about a drop *after* the client read what was sent.
      await new Promise((resolve) => setTimeout(resolve, 100))
      destroy(req, res)
    } else res.end()
  }

  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject)
      resolveListen()
    })
  })
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('The SSE test server has no TCP address')

  let closing: Promise<void> | undefined
  return {
    url: `http://127.0.0.1:${address.port}`,
    log: (sid) => (logs.get(sid) ?? []).map((record) => structuredClone(record)),
    open: (sid) => open.get(sid) ?? 0,
    close() {
      closing ??= new Promise<void>((done) => {
        for (const stream of streams) stream.abort()
        server.close(() => done())
        for (const socket of sockets) socket.destroy()
        // Deno's compat server may not report sockets through 'connection'.
        ;(server as { closeAllConnections?: () => void }).closeAllConnections?.()
      })
      return closing
    },
  }
}

function answer(res: http.ServerResponse, entry: PlanEntry): void {
  const status = entry.status ?? 200
  const headers: Record<string, string> = { ...baseHeaders() }
  if (entry.retryAfter !== undefined) headers['retry-after'] = entry.retryAfter
  if (entry.requestId !== undefined) headers['x-request-id'] = entry.requestId
  const body = status === 204 || status === 304 ? '' : (entry.body ?? '')
  if (body !== '') headers['content-type'] = isJson(body) ? 'application/json; charset=utf-8' : 'text/plain; charset=utf-8'
  res.writeHead(status, headers)
  res.end(body)
}

async function serveStatic(res: http.ServerResponse, url: URL, root: string, headOnly: boolean): Promise<void> {
  const base = resolve(root)
  const file = resolve(base, `.${decodeURIComponent(url.pathname.slice('/static'.length))}`)
  if (file !== base && !file.startsWith(base + sep)) {
    res.writeHead(403, baseHeaders())
    res.end()
    return
  }
  let content: Uint8Array
  try {
    content = await readFile(file)
  } catch {
    res.writeHead(404, { ...baseHeaders(), 'content-type': 'text/plain; charset=utf-8' })
    res.end(`No file ${url.pathname}`)
    return
  }
  const extension = extname(file).toLowerCase()
  const headers: Record<string, string> = {
    ...baseHeaders(),
    'content-type': CONTENT_TYPES[extension] ?? 'application/octet-stream',
    'content-length': String(content.byteLength),
  }
  const csp = url.searchParams.get('csp')
  if (csp !== null && extension === '.html') headers['content-security-policy'] = csp
  res.writeHead(200, headers)
  res.end(headOnly ? undefined : content)
}

function frame(event: { id?: number; type?: string | null; data: string }): string {
  let text = ''
  if (event.id !== undefined) text += `id: ${event.id}\n`
  if (event.type) text += `event: ${event.type}\n`
  return `${text}data: ${event.data}\n\n`
}

/** `{"n":7,"sid":"a"}`, padded with a `"pad"` member to about `size` bytes when asked. */
function eventData(id: number, sid: string, size: number): string {
  const plain = JSON.stringify({ n: id, sid })
  const room = size - plain.length - ',"pad":""'.length
  return room > 0 ? JSON.stringify({ n: id, sid, pad: 'x'.repeat(room) }) : plain
}

/** Exactly `bytes` bytes of data, JSON when there is room for it. */
function exactBytes(bytes: number): string {
  const wrapper = '{"pad":""}'.length
  return bytes >= wrapper ? `{"pad":"${'x'.repeat(bytes - wrapper)}"}` : 'x'.repeat(Math.max(0, bytes))
}

function destroy(req: http.IncomingMessage, res: http.ServerResponse): void {
  if (req.socket) req.socket.destroy()
  else res.destroy()
}

function lastEventIdOf(req: http.IncomingMessage, q: URLSearchParams): number {
  const header = req.headers['last-event-id']
  const raw = (typeof header === 'string' ? header : undefined) ?? q.get('lastEventId') ?? ''
  // Ids are numeric here; anything else (or nothing) starts the feed from the beginning.
  return /^\d+$/.test(raw.trim()) ? Number(raw.trim()) : 0
}

function intParam(q: URLSearchParams, name: string, fallback: number): number {
  const raw = q.get(name)
  if (raw === null || raw === '') return fallback
  const value = Number(raw)
  if (!Number.isInteger(value) || value < 0) throw new BadRequest(`Expected \`${name}\` to be a non-negative integer, got ${raw}`)
  return value
}

function parsePlan(raw: string | null): PlanEntry[] {
  if (raw === null || raw === '') return []
  let plan: unknown
  try {
    plan = JSON.parse(raw)
  } catch {
    throw new BadRequest(`Expected \`plan\` to be a JSON array, got ${raw}`)
  }
  if (!Array.isArray(plan)) throw new BadRequest(`Expected \`plan\` to be a JSON array, got ${raw}`)
  return plan.map((entry: unknown) => (typeof entry === 'object' && entry !== null ? (entry as PlanEntry) : {}))
}

function pickHeaders(headers: http.IncomingHttpHeaders): RequestRecord['headers'] {
  const picked: RequestRecord['headers'] = {}
  for (const name of ['last-event-id', 'authorization', 'content-type', 'accept', 'cache-control', 'access-control-request-headers', 'cookie', 'origin'] as const) {
    const value = headers[name]
    if (typeof value === 'string') picked[name] = value
  }
  return picked
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((done) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => done(Buffer.concat(chunks).toString('utf8')))
    req.on('error', () => done(Buffer.concat(chunks).toString('utf8')))
  })
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text)
    return true
  } catch {
    return false
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((done) => {
    const timer = setTimeout(finish, ms)
    signal.addEventListener('abort', finish, { once: true })
    function finish(): void {
      clearTimeout(timer)
      signal.removeEventListener('abort', finish)
      done()
    }
  })
}
