import http from 'node:http'
import net from 'node:net'
import { afterEach, describe, expect, it, vi } from 'vitest'
import {
  type Checkpoint,
  type CheckpointStore,
  ConfigError,
  durableStreams,
  EventTooLargeError,
  isResumableSSEError,
  MemoryStore,
  type Notice,
  ProtocolError,
  ResumableSSEError,
  type StatusChange,
  StoreError,
  subscribe,
} from '../../src/index.js'
import { EventChannel } from '../../src/delivery/channel.js'
import { DeliveredEvent } from '../../src/delivery/event.js'
import { consume, stepping } from '../support/consume.js'
import { useFeedServer } from '../support/feed-server.js'
import { sleep, STUCK, within } from '../support/scripted.js'

/**
 * Issue 10 (a hostile or broken server or store) and the bugs of issue 15, each against a real local
 * server written to misbehave (127.0.0.1, closed after each test).
 */

const { feed } = useFeedServer('hostile')

interface Seen {
  method: string
  url: string
  headers: http.IncomingHttpHeaders
  body: string
}

const servers: http.Server[] = []
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
  }
})

/** A server whose n-th request (0-based) is answered by `handler`; it records every request. */
async function serve(handler: (req: http.IncomingMessage, res: http.ServerResponse, n: number, seen: Seen) => void) {
  const seen: Seen[] = []
  const server = http.createServer((req, res) => {
    let body = ''
    req.on('data', (chunk) => (body += chunk))
    req.on('end', () => {
      const entry = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body }
      seen.push(entry)
      handler(req, res, seen.length - 1, entry)
    })
  })
  servers.push(server)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as net.AddressInfo
  return { url: `http://127.0.0.1:${port}`, seen }
}

const SSE = { 'content-type': 'text/event-stream' }
/** Fixed randomness and a small base: the backoff decisions are exact and the test is quick. */
const FAST = { backoff: { baseDelay: 20 }, runtime: { random: () => 0.999 } }
const backoffs = (statuses: StatusChange[]) => statuses.filter((s) => s.status === 'backoff')
/** Stops after `n` backoffs (the loop is proven by then). */
const afterBackoffs = (n: number, statuses: StatusChange[]) => (change: StatusChange) => {
  statuses.push(change)
  if (backoffs(statuses).length === n) controller.abort()
}
let controller = new AbortController()
afterEach(() => {
  controller = new AbortController()
})

async function runUntilAborted(options: Parameters<typeof subscribe>[0]) {
  const sub = subscribe({ heartbeatTimeout: false, ...options, signal: controller.signal })
  const events = []
  try {
    for await (const event of sub) events.push(event)
  } catch (error) {
    return { events, error }
  }
  return { events, error: undefined }
}

// Each loop below let a server drive hundreds of requests per second (measured with the built
// package: 503 + Retry-After: 0 → 879 requests in 1.5 s; retry: 0 + one id-less event → 1 260
// connections in 2 s; 401/200 → refreshAuth 16 times in 2 s).
describe('issue 10: no server input drives a reconnect loop', () => {
  it('503 with Retry-After: 0 — honoured once, then the jittered backoff is the floor', async () => {
    const { url } = await serve((_, res) => res.writeHead(503, { 'retry-after': '0' }).end())
    const statuses: StatusChange[] = []
    await runUntilAborted({ url, ...FAST, onStatus: afterBackoffs(4, statuses) })
    expect(backoffs(statuses).map((s) => s.delay)).toEqual([0, 39, 79, 159])
  })

  it('retry: 0 plus one id-less event per connection — the attempt counter is not reset by a connection that ends at once', async () => {
    const { url } = await serve((_, res) => res.writeHead(200, SSE).end('retry: 0\ndata: hello\n\n'))
    const statuses: StatusChange[] = []
    const r = await runUntilAborted({ url, ...FAST, onStatus: afterBackoffs(4, statuses) })
    expect(r.events.length).toBeGreaterThanOrEqual(4)
    expect(backoffs(statuses).map((s) => [s.attempt, s.delay])).toEqual([
      [1, 0],
      [2, 39],
      [3, 79],
      [4, 159],
    ])
  })

  it('401/200 alternating — refreshAuth runs once per failure streak, then the 401 is fatal', async () => {
    const { url, seen } = await serve((_, res, n) => (n % 2 === 0 ? res.writeHead(401).end() : res.writeHead(200, SSE).end('data: hi\n\n')))
    let refreshes = 0
    const r = await runUntilAborted({ url, ...FAST, refreshAuth: () => void refreshes++ })
    expect(refreshes).toBe(1)
    expect(r.error).toMatchObject({ code: 'auth', status: 401 })
    expect(seen).toHaveLength(3)
  })

  it('a healthy feed whose connections deliver for a while and then close is not penalised', async () => {
    let n = 0
    const { url } = await serve((_, res) => {
      n += 2
      res.writeHead(200, SSE).end(`id: ${n - 1}\ndata: a\n\nid: ${n}\ndata: b\n\n`)
    })
    const statuses: StatusChange[] = []
    // The clock moves 2 s per reading: every connection lasted, as a real feed's do.
    await runUntilAborted({ url, ...FAST, runtime: { ...FAST.runtime, now: stepping() }, onStatus: afterBackoffs(3, statuses) })
    expect(backoffs(statuses).map((s) => [s.attempt, s.delay])).toEqual([
      [1, 19],
      [1, 19],
      [1, 19],
    ])
  })

  it("a Durable Streams close right after opening (the server's immediate reconnect) backs off from the second in a row", async () => {
    const control = 'event: control\ndata: {"streamNextOffset":"0_0","streamCursor":"c","upToDate":true}\n\n'
    const { url } = await serve((_, res) => res.writeHead(200, SSE).end(control))
    const statuses: StatusChange[] = []
    await runUntilAborted({ url, dialect: durableStreams(), ...FAST, onStatus: afterBackoffs(3, statuses) })
    expect(backoffs(statuses).map((s) => [s.reason, s.delay])).toEqual([
      ['server-closing', 0],
      ['server-closing', 39],
      ['server-closing', 79],
    ])
  })
})

/** A store whose `put` never settles until `release()`; reads and deletes go to a MemoryStore. */
function hangingStore(inner = new MemoryStore()) {
  const stuck: Array<() => void> = []
  const store: CheckpointStore = {
    get: (key) => inner.get(key),
    delete: (key) => inner.delete(key),
    put: (key, checkpoint) => new Promise<void>((resolve) => stuck.push(() => void inner.put(key, checkpoint).then(resolve))),
  }
  return { store, inner, puts: () => stuck.length, release: () => stuck.splice(0).forEach((go) => go()) }
}

describe('issue 10: a store that never answers cannot wedge the end', () => {
  const OPTIONS = { flushTimeout: 300, commitInterval: 0, heartbeatTimeout: false as const }

  it('close() settles, rejecting with StoreError reason timeout', async () => {
    const hang = hangingStore()
    const sub = subscribe({ url: feed({ total: 5, hold: true }).url, store: hang.store, ...OPTIONS })
    const it = sub[Symbol.asyncIterator]()
    await it.next()
    await it.next() // commits the first event: a put that never settles
    const closed = await within(sub.close().then(() => 'resolved', (error: unknown) => error), 3000)
    expect(closed).toBeInstanceOf(StoreError)
    expect(closed).toMatchObject({ reason: 'timeout', code: 'store' })
  })

  it('break out of for await settles (the rejection reaches the loop)', async () => {
    const hang = hangingStore()
    const sub = subscribe({ url: feed({ total: 5, hold: true }).url, store: hang.store, ...OPTIONS })
    const loop = (async () => {
      let n = 0
      for await (const _ of sub) if (++n === 3) break
    })()
    const outcome = await within(loop.then(() => 'done', (error: unknown) => error), 3000)
    expect(outcome).toMatchObject({ reason: 'timeout' })
  })

  it('an abort ends a pending next() and the loop, and reports the abandoned write as a notice', async () => {
    const hang = hangingStore()
    const abort = new AbortController()
    const notices: Notice[] = []
    const sub = subscribe({ url: feed({ total: 2, hold: true }).url, store: hang.store, signal: abort.signal, onNotice: (n) => notices.push(n), onStoreError: 'report', ...OPTIONS })
    const loop = (async () => {
      for await (const event of sub) if (event.sequence === 2) setTimeout(() => abort.abort(), 20)
    })()
    expect(await within(loop.then(() => 'done'), 3000)).toBe('done')
    expect(notices.filter((n) => n.kind === 'store-error').map((n) => (n as unknown as { error: StoreError }).error.reason)).toContain('timeout')
  })

  it('the end of a stream settles (replay mode)', async () => {
    const hang = hangingStore()
    const r = await within(consume({ url: feed({ total: 3 }).url, mode: 'replay', store: hang.store, ...OPTIONS }), 3000)
    expect(r).not.toBe(STUCK)
    expect((r as { error: unknown }).error).toMatchObject({ reason: 'timeout' })
    expect((r as { sequences: number[] }).sequences).toEqual([1, 2, 3])
  })

  it('a put that lands after the timeout cannot move the checkpoint backwards', async () => {
    const hang = hangingStore()
    const { url } = feed({ total: 6 })
    const first = await consume({ url, key: 'k', mode: 'replay', store: hang.store, ...OPTIONS }, (_, all) => all.length === 3)
    expect(first.error).toMatchObject({ reason: 'timeout' })
    // The next run, on a healthy store, gets further; then the abandoned write finally lands.
    const second = await consume({ url, key: 'k', mode: 'replay', store: hang.inner, ...OPTIONS })
    expect(second.error).toBeUndefined()
    const newest = (await hang.inner.get('k')) as Checkpoint
    hang.release()
    await sleep(20)
    expect((await hang.inner.get('k'))?.sequence).toBe(newest.sequence)
  })
})

describe('issue 10: memory a server can make us hold', () => {
  const event = (data: string, id?: string) => new DeliveredEvent('message', data, id, 1, '1', undefined, id !== undefined)

  it('the buffer ahead of the consumer is bounded by size (data + type + id) as well as by count', () => {
    const channel = new EventChannel(1024, 100)
    channel.push(event('x'.repeat(60), '1'))
    expect(channel.isFull()).toBe(false)
    channel.push(event('x'.repeat(30), '22')) // 60+7+1 + 30+7+2 = 107 characters
    expect(channel.isFull()).toBe(true)
    channel.shift()
    expect(channel.isFull()).toBe(false)
  })

  it('a stalled consumer pauses reading once highWaterSize is reached, however few events that is', async () => {
    const big = 'x'.repeat(256 * 1024)
    let written = 0
    let ended = false
    const { url } = await serve((_, res) => {
      res.writeHead(200, SSE)
      const pump = () => {
        while (written < 64) {
          written++
          if (!res.write(`id: ${written}\ndata: ${big}\n\n`)) return void res.once('drain', pump)
        }
        ended = true
        res.end()
      }
      pump()
    })
    const sub = subscribe({ url, highWaterSize: 512 * 1024, heartbeatTimeout: false })
    const it = sub[Symbol.asyncIterator]()
    await it.next() // then stall
    // Wait until the server is blocked by backpressure or has written everything.
    let last = -1
    while (!ended && written !== last) {
      last = written
      await sleep(300)
    }
    expect(ended).toBe(false) // 64 × 256 KiB fit the default highWaterMark of 1024 events
    await sub.close()
  })

  /** A body made by `chunk(n)` for n = 0, 1, …, pulled only as fast as the client reads; counts the pulls. */
  function pulledBody(chunk: (n: number) => string | undefined) {
    const state = { pulls: 0 }
    const encoder = new TextEncoder()
    const fetch = async () =>
      new Response(
        new ReadableStream<Uint8Array>({
          pull(controller) {
            const text = chunk(state.pulls++)
            if (text === undefined) controller.close()
            else controller.enqueue(encoder.encode(text))
          },
        }),
        { headers: { 'content-type': 'text/event-stream' } },
      )
    return { state, fetch: fetch as typeof globalThis.fetch }
  }

  // Regression (issue 10): each one-character line held ~32 bytes of the parser's heap, and the event
  // failed only after maxEventSize characters of data (32 MiB of heap at the default limit).
  it('an event of one-character lines fails after about maxEventSize / 32 lines, not maxEventSize / 2', async () => {
    const lines = 'data: x\n'.repeat(1000)
    const { state, fetch } = pulledBody(() => lines)
    const result = await consume({ url: 'http://feed.test/', fetch, maxEventSize: 1024 * 1024, heartbeatTimeout: false, mode: 'replay' })
    expect(result.error).toBeInstanceOf(EventTooLargeError)
    // 1 Mi / 32 ≈ 33 000 lines (plus the unscanned first 64 Ki characters); before: 1 Mi / 2 = 524 288 lines.
    expect(state.pulls * 1000).toBeLessThan(50_000)
  })

  it('heartbeats on a quiet feed never add up to an event, and a large event of long lines still arrives', async () => {
    const heartbeats = ':\n\n'.repeat(10_000)
    const line = `data: ${'y'.repeat(94)}\n`
    const { fetch } = pulledBody((n) => (n < 200 ? heartbeats : n < 300 ? line.repeat(90) : n === 300 ? 'id: 1\n\n' : undefined))
    const result = await consume({ url: 'http://feed.test/', fetch, maxEventSize: 1024 * 1024, heartbeatTimeout: false, mode: 'replay' })
    expect(result.error).toBeUndefined()
    expect(result.data.map((data) => data.length)).toEqual([100 * 90 * 95 - 1])
  })

  // Regression (rstd): every line of an unfinished event counted at least 32 characters, comments and
  // other fields too, though the parser holds none of them: a feed of keep-alive comments without blank
  // lines (or a long comment) failed with event-too-large where a browser's EventSource reads on.
  it('lines the parser does not keep (comments, event:, id:, retry:, unknown fields) never add up to an event', async () => {
    for (const line of [':\n', ': keep-alive\n', 'event: x\n', 'id: 1\n', 'retry: 1000\n', 'foo: bar\n']) {
      const { fetch } = pulledBody((n) => (n < 60 ? line.repeat(1000) : n === 60 ? 'data: a\n\n' : undefined))
      const result = await consume({ url: 'http://feed.test/', fetch, maxEventSize: 1024 * 1024, heartbeatTimeout: false, mode: 'replay' })
      expect([line, result.error]).toEqual([line, undefined])
      expect(result.data).toEqual(['a'])
    }
    const comment = pulledBody((n) => (n === 0 ? ': ' : n < 14 ? 'c'.repeat(100_000) : n === 14 ? '\ndata: b\n\n' : undefined))
    const result = await consume({ url: 'http://feed.test/', fetch: comment.fetch, maxEventSize: 1024 * 1024, heartbeatTimeout: false, mode: 'replay' })
    expect(result.error).toBeUndefined()
    expect(result.data).toEqual(['b'])
  })

  it('id and event type count toward maxEventSize, whole or split across chunks', async () => {
    const whole = await serve((_, res) => res.writeHead(200, SSE).end(`id: ${'i'.repeat(60)}\nevent: ${'t'.repeat(30)}\ndata: ${'d'.repeat(20)}\n\n`))
    expect((await consume({ url: whole.url, maxEventSize: 100, mode: 'replay' })).error).toBeInstanceOf(EventTooLargeError)
    const huge = await serve((_, res) => {
      res.writeHead(200, SSE)
      res.write(`id: ${'i'.repeat(5000)}`)
      setTimeout(() => res.end(`\ndata: x\n\n`), 20)
    })
    expect((await consume({ url: huge.url, maxEventSize: 100, mode: 'replay' })).error).toBeInstanceOf(EventTooLargeError)
  })

  it('EventTooLargeError says characters, the unit maxEventSize counts in', () => {
    expect(new EventTooLargeError(10).message).toMatch(/10 characters/)
    expect(new EventTooLargeError(10).message).not.toMatch(/bytes/)
  })
})

describe('issue 10: secrets and credentials', () => {
  it('a URL with credentials is refused up front, without the password in the message', () => {
    let error: unknown
    try {
      subscribe({ url: 'http://alice:S3CRET@127.0.0.1:9/feed?token=T0KEN' })
    } catch (caught) {
      error = caught
    }
    expect(error).toBeInstanceOf(ConfigError)
    expect(String((error as Error).message)).not.toMatch(/S3CRET|alice|T0KEN/)
    expect(String((error as Error).message)).toContain('http://127.0.0.1:9/feed')
  })

  it('a same-origin redirect is followed, keeping method, body and headers (307)', async () => {
    const { url, seen } = await serve((req, res) => {
      if (req.url === '/old') return res.writeHead(307, { location: '/new' }).end()
      res.writeHead(200, SSE).end('id: 1\ndata: moved\n\n')
    })
    const r = await consume({ url: `${url}/old`, method: 'POST', body: { q: 1 }, headers: { 'x-api-key': 'K' }, mode: 'replay' })
    expect(r.error).toBeUndefined()
    expect(r.data).toEqual(['moved'])
    expect(seen.map((s) => [s.method, s.url, s.body, s.headers['x-api-key']])).toEqual([
      ['POST', '/old', '{"q":1}', 'K'],
      ['POST', '/new', '{"q":1}', 'K'],
    ])
  })

  it('a redirect to another origin is refused with a ProtocolError naming origin and path only; the other origin never sees the request', async () => {
    const other = await serve((_, res) => res.writeHead(200, SSE).end('data: stolen\n\n'))
    const { url } = await serve((_, res) => res.writeHead(307, { location: `${other.url}/collect?secret=1` }).end())
    const r = await consume({ url: `${url}/feed?token=T0KEN`, method: 'POST', body: 'b', headers: { 'x-api-key': 'K' }, from: { sequence: 5, cursor: '5' } })
    expect(r.error).toBeInstanceOf(ProtocolError)
    expect((r.error as Error).message).toContain(`${other.url}/collect`)
    expect((r.error as Error).message).not.toMatch(/T0KEN|secret=1|K\b/)
    expect(other.seen).toHaveLength(0)
  })

  it("redirect: 'follow' opts in to another origin", async () => {
    const other = await serve((_, res) => res.writeHead(200, SSE).end('id: 1\ndata: there\n\n'))
    const { url } = await serve((_, res) => res.writeHead(302, { location: `${other.url}/feed` }).end())
    const r = await consume({ url, redirect: 'follow', mode: 'replay' })
    expect(r.data).toEqual(['there'])
  })

  it('status events and errors carry no request header', async () => {
    const { url } = await serve((_, res) => res.writeHead(500).end())
    const statuses: StatusChange[] = []
    await runUntilAborted({ url: `${url}/feed?token=T0KEN`, headers: { authorization: 'Bearer S3CRET' }, ...FAST, maxRetries: 1, onStatus: (s) => statuses.push(s) })
    const text = JSON.stringify(statuses, (_, value) => (value instanceof Error ? { message: value.message, cause: value.cause } : value))
    expect(text).not.toMatch(/S3CRET|T0KEN/)
  })
})

describe('issue 10: line endings', () => {
  it('an event terminated by CR-only line endings is delivered at once on a quiet feed', async () => {
    const { url } = await serve((_, res) => res.writeHead(200, SSE).write('id: 1\rdata: a\r\r')) // then silence
    const sub = subscribe({ url, heartbeatTimeout: false })
    const first = await within(sub[Symbol.asyncIterator]().next(), 2000)
    expect(first).toMatchObject({ value: { data: 'a', id: '1' } })
    await sub.close()
  })
})

describe('issue 15: errors that say why', () => {
  it('retries-exhausted keeps the last failure as cause and counts every failed attempt; backoff exposes it', async () => {
    const { url } = await serve((_, res) => res.writeHead(503).end('overloaded'))
    const statuses: StatusChange[] = []
    const r = await consume({ url, ...FAST, maxRetries: 2, onStatus: (s) => statuses.push(s) })
    expect(r.error).toMatchObject({ code: 'retries-exhausted', message: 'Gave up after 3 failed attempt(s) in a row (last: http)' })
    expect((r.error as Error).cause).toMatchObject({ status: 503, body: 'overloaded' })
    expect(backoffs(statuses)[0]?.cause).toMatchObject({ status: 503 })
  })

  it('a network failure is kept too (ECONNREFUSED)', async () => {
    const closed = net.createServer()
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve))
    const { port } = closed.address() as net.AddressInfo
    await new Promise((resolve) => closed.close(resolve))
    const r = await consume({ url: `http://127.0.0.1:${port}/`, ...FAST, maxRetries: 0 })
    expect(r.error).toMatchObject({ code: 'retries-exhausted' })
    expect((r.error as Error).cause).toBeInstanceOf(TypeError)
  })

  it('isResumableSSEError says no to Node system errors and URL errors, yes to ours (also from another copy)', async () => {
    const refused = await new Promise<Error>((resolve) => net.connect(1, '127.0.0.1').on('error', resolve))
    expect((refused as Error & { code?: string }).code).toBe('ECONNREFUSED')
    expect(isResumableSSEError(refused)).toBe(false)
    let urlError: unknown
    try {
      new URL('nope')
    } catch (error) {
      urlError = error
    }
    expect(isResumableSSEError(urlError)).toBe(false)
    expect(isResumableSSEError({ name: 'StoreError', code: 'store' })).toBe(false)
    expect(isResumableSSEError(new StoreError('timeout', 'x'), 'store')).toBe(true)
    // Another copy of the library (another bundle or realm): not our class, but branded.
    const foreign = Object.assign(new Error('x'), { name: 'HttpError', code: 'http', [Symbol.for('resumable-sse.error')]: true })
    expect(isResumableSSEError(foreign, 'http')).toBe(true)
    expect(isResumableSSEError(new ResumableSSEError('gap', 'x'), 'http')).toBe(false)
  })

  it('a throwing headers() is a failed attempt: retried with backoff, cause kept; headers() and body() get { signal, attempt }', async () => {
    const { url, seen } = await serve((_, res) => res.writeHead(200, SSE).end('id: 1\ndata: ok\n\n'))
    const contexts: unknown[] = []
    const blip = new TypeError('token endpoint unreachable')
    const statuses: StatusChange[] = []
    const r = await consume({
      url,
      method: 'POST',
      key: 'k',
      mode: 'replay',
      ...FAST,
      headers: (context) => {
        contexts.push(context)
        if (contexts.length === 1) throw blip
        return { 'x-attempt': String(context.attempt) }
      },
      body: (context: { attempt: number; signal: AbortSignal }) => ({ attempt: context.attempt, aborted: context.signal.aborted }),
      onStatus: (s) => statuses.push(s),
    })
    expect(r.error).toBeUndefined()
    expect(r.data).toEqual(['ok'])
    expect(backoffs(statuses)[0]).toMatchObject({ reason: 'request', cause: blip })
    expect(contexts).toHaveLength(2)
    expect(contexts[1]).toMatchObject({ attempt: 1 })
    expect((contexts[1] as { signal: unknown }).signal).toBeInstanceOf(AbortSignal)
    expect(seen[0]?.headers['x-attempt']).toBe('1')
    expect(JSON.parse(seen[0]?.body ?? '')).toEqual({ attempt: 1, aborted: false })
  })

  it('no cache-control request header (not CORS-safelisted: it forces a preflight); cache: no-store instead', async () => {
    const requests: Request[] = []
    const { url } = await serve((_, res) => res.writeHead(200, SSE).end('data: x\n\n'))
    await consume({ url, mode: 'replay', fetch: (input, init) => (requests.push(new Request(input, init)), fetch(input, init)) })
    expect(requests[0]?.headers.has('cache-control')).toBe(false)
    expect(requests[0]?.cache).toBe('no-store')
  })

  it('a relative url resolves against document.baseURI (it follows <base href>), not only location', async () => {
    const { url, seen } = await serve((_, res) => res.writeHead(200, SSE).end('data: x\n\n'))
    vi.stubGlobal('location', { href: `${url}/page.html` })
    vi.stubGlobal('document', { baseURI: `${url}/app/` })
    try {
      await consume({ url: 'feed', mode: 'replay' })
    } finally {
      vi.unstubAllGlobals()
    }
    expect(seen[0]?.url).toBe('/app/feed')
  })
})
