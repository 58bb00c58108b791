/**
 * The supervisor's README promises, tested from outside: the BUILT package (`dist/index.js`, as users
 * import it) against real HTTP servers on 127.0.0.1. Delays are read from the status changes and from
 * an injected timer that fires at once but records what was asked for: no timing assertions.
 */
import { existsSync } from 'node:fs'
import http from 'node:http'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { describe, expect, it, onTestFinished } from 'vitest'
import type * as Lib from '../../src/index.js'

const DIST = join(import.meta.dirname, '../../dist/index.js')
if (!existsSync(DIST)) throw new Error('dist/ is missing: run `npx tsup` (npm test builds first)')
// A computed URL keeps vite's transform out of it: Node loads dist/index.js itself.
const lib = (await import(/* @vite-ignore */ pathToFileURL(DIST).href)) as typeof Lib
/** The CommonJS build, as `require('resumable-sse')` loads it (its Retry-After date parser is a lazy chunk too). */
const cjs = createRequire(import.meta.url)(join(import.meta.dirname, '../../dist/index.cjs')) as typeof Lib

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void

/** A server answering its k-th request with `handlers[k]`; stopped (sockets too) when the test ends. */
async function serve(handlers: Handler[]): Promise<{ url: string; requests: http.IncomingMessage[] }> {
  const requests: http.IncomingMessage[] = []
  const server = http.createServer((req, res) => {
    requests.push(req)
    const handler = handlers.shift()
    if (handler) handler(req, res)
    else res.writeHead(500).end('no more answers scripted')
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  onTestFinished(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  )
  const { port } = server.address() as { port: number }
  return { url: `http://127.0.0.1:${port}/feed`, requests }
}

const stream =
  (chunks: string[], hold = false): Handler =>
  (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' })
    for (const chunk of chunks) res.write(chunk)
    if (!hold) res.end()
  }
const answer =
  (status: number, headers: Record<string, string> = {}, body = ''): Handler =>
  (_req, res) =>
    void res.writeHead(status, headers).end(body)

/** Timers that fire at once (or after `cap` ms) and record every delay the library asked for. */
function recordingTimers(cap = 1) {
  const asked: number[] = []
  const runtime = {
    setTimeout: (fn: () => void, ms: number) => {
      asked.push(ms)
      return setTimeout(fn, Math.min(ms, cap))
    },
    clearTimeout: (handle: unknown) => clearTimeout(handle as ReturnType<typeof setTimeout>),
  }
  return { asked, runtime }
}

const backoffDelays = (statuses: Lib.StatusChange[]) => statuses.filter((s) => s.status === 'backoff').map((s) => s.delay)

describe("the server's retry: field (built package, real server)", () => {
  // Regression: the window of the first failure was capped at `maxDelay` (30 s), so a server asking for
  // `retry: 60000` was called again after 30 s: the README says `retry:` replaces that window.
  it('a retry: above maxDelay is the wait, as asked (jitter off: the whole window)', async () => {
    const { url } = await serve([stream(['retry: 60000\nid: 1\ndata: a\n\n']), stream(['id: 2\ndata: b\n\n'], true)])
    const statuses: Lib.StatusChange[] = []
    const sub = lib.subscribe({ url, heartbeatTimeout: false, backoff: { jitter: false }, runtime: recordingTimers().runtime, onStatus: (s) => void statuses.push(s) })
    for await (const event of sub) if (event.id === '2') break
    expect(backoffDelays(statuses)).toEqual([60000])
  })

  it('a retry: above maxRetryAfter is capped there, like Retry-After', async () => {
    const { url } = await serve([stream(['retry: 900000\nid: 1\ndata: a\n\n']), stream(['id: 2\ndata: b\n\n'], true)])
    const statuses: Lib.StatusChange[] = []
    const sub = lib.subscribe({
      url,
      heartbeatTimeout: false,
      backoff: { jitter: false, maxRetryAfter: 40000 },
      runtime: recordingTimers().runtime,
      onStatus: (s) => void statuses.push(s),
    })
    for await (const event of sub) if (event.id === '2') break
    expect(backoffDelays(statuses)).toEqual([40000])
  })

  it('with jitter, a large retry: is the window of the first draw, and later failures never wait less', async () => {
    const { url } = await serve([
      stream(['retry: 50000\nid: 1\ndata: a\n\n']),
      answer(500),
      answer(500),
      stream(['id: 2\ndata: b\n\n'], true),
    ])
    const statuses: Lib.StatusChange[] = []
    const sub = lib.subscribe({ url, heartbeatTimeout: false, runtime: { ...recordingTimers().runtime, random: () => 0.5 }, onStatus: (s) => void statuses.push(s) })
    for await (const event of sub) if (event.id === '2') break
    // Half of the window each time: 50 s asked by the server, then the window grows from there (the
    // server asked for more than maxDelay, so that is the ceiling now).
    expect(backoffDelays(statuses)).toEqual([25000, 25000, 25000])
  })
})

describe('status classification (built package, real server)', () => {
  // Regression: 408 Request Timeout (a proxy or load balancer gave up waiting) was a fatal HttpError.
  // RFC 9110 §15.5.9: the client may repeat the request; it says nothing about the subscription.
  it('408 is retried with backoff, the HttpError as the backoff cause', async () => {
    const { url, requests } = await serve([answer(408, {}, 'idle'), stream(['id: 1\ndata: a\n\n'])])
    const statuses: Lib.StatusChange[] = []
    const sub = lib.subscribe({ url, mode: 'replay', heartbeatTimeout: false, runtime: recordingTimers().runtime, onStatus: (s) => void statuses.push(s) })
    const data: string[] = []
    for await (const event of sub) data.push(event.data)
    expect(data).toEqual(['a'])
    expect(requests).toHaveLength(2)
    const backoff = statuses.find((s) => s.status === 'backoff')
    expect(backoff?.reason).toBe('http')
    expect(lib.isResumableSSEError(backoff?.cause, 'http') && backoff.cause).toMatchObject({ status: 408, body: 'idle' })
  })

  it('a 1xx before the answer (103 Early Hints) is not the status: the stream that follows is read', async () => {
    const { url } = await serve([
      (_req, res) => {
        res.writeEarlyHints({ link: '</style.css>; rel=preload; as=style' })
        stream(['id: 1\ndata: a\n\n'])(_req, res)
      },
    ])
    const data: string[] = []
    for await (const event of lib.subscribe({ url, mode: 'replay', heartbeatTimeout: false })) data.push(event.data)
    expect(data).toEqual(['a'])
  })

  it('other 4xx (400, 404, 425) and 204 fail at once with an HttpError: one request each', async () => {
    for (const status of [204, 400, 404, 425]) {
      const { url, requests } = await serve([answer(status, {}, status === 204 ? '' : 'why')])
      const sub = lib.subscribe({ url, heartbeatTimeout: false, runtime: recordingTimers().runtime })
      const error = await (async () => {
        for await (const _ of sub);
      })().then(
        () => undefined,
        (caught: unknown) => caught,
      )
      expect(error).toBeInstanceOf(lib.HttpError)
      expect(error).toMatchObject({ code: 'http', status })
      expect(requests).toHaveLength(1)
    }
  })
})

describe('delays the host cannot hold (built package)', () => {
  // Regression: every runtime's setTimeout takes at most 2^31-1 ms and fires at once (Node, browsers) for
  // more. `flushTimeout: Number.MAX_SAFE_INTEGER` ("never give up on the store") timed out at once, and
  // close() rejected with StoreError 'timeout' while a slow store was still writing.
  it('a huge flushTimeout waits for a slow store instead of timing out at once', async () => {
    const { url } = await serve([stream(['id: 1\ndata: a\n\nid: 2\ndata: b\n\n'], true)])
    const inner = new lib.MemoryStore()
    const store = {
      get: (key: string) => inner.get(key),
      delete: (key: string) => inner.delete(key),
      // The store answers after 50 ms; the bug's timer fired after 1 ms.
      put: (key: string, checkpoint: Lib.Checkpoint) => new Promise<void>((resolve) => setTimeout(resolve, 50)).then(() => inner.put(key, checkpoint)),
    }
    const sub = lib.subscribe({ url, store, key: 'k', heartbeatTimeout: false, flushTimeout: Number.MAX_SAFE_INTEGER, commitInterval: 0 })
    for await (const event of sub) if (event.id === '2') break // event 1 committed, 2 held
    expect(await inner.get('k')).toMatchObject({ sequence: 1 })
  })

  it('no delay handed to the runtime exceeds 2^31-1 ms (heartbeat, Retry-After, flush, commit spacing)', async () => {
    const { url } = await serve([
      answer(503, { 'retry-after': String(40 * 24 * 3600) }), // 40 days, allowed by maxRetryAfter below
      stream(['id: 1\ndata: a\n\nid: 2\ndata: b\n\n'], true),
    ])
    const timers = recordingTimers()
    const day = 24 * 3600 * 1000
    const sub = lib.subscribe({
      url,
      key: 'k',
      heartbeatTimeout: 30 * day,
      flushTimeout: 30 * day,
      commitInterval: 30 * day,
      backoff: { maxRetryAfter: 50 * day },
      runtime: timers.runtime,
    })
    for await (const event of sub) if (event.id === '2') break
    expect(timers.asked.length).toBeGreaterThan(0)
    expect(Math.max(...timers.asked)).toBeLessThanOrEqual(2 ** 31 - 1)
  })
})

describe('at-least-once when the consumer fails (built package, real server)', () => {
  it('an exception thrown inside for await leaves the event being processed uncommitted', async () => {
    const { url } = await serve([stream(['id: 1\ndata: a\n\nid: 2\ndata: b\n\n'], true)])
    const store = new lib.MemoryStore()
    const sub = lib.subscribe({ url, store, key: 'k', heartbeatTimeout: false })
    await expect(
      (async () => {
        for await (const event of sub) if (event.id === '2') throw new Error('handler failed')
      })(),
    ).rejects.toThrow('handler failed')
    expect(await store.get('k')).toMatchObject({ sequence: 1 })
    expect(sub.status).toBe('closed')
  })

  it('a forEach handler that rejects leaves its event uncommitted, also with commitOnClose', async () => {
    const { url } = await serve([stream(['id: 1\ndata: a\n\nid: 2\ndata: b\n\n'], true)])
    const store = new lib.MemoryStore()
    const sub = lib.subscribe({ url, store, key: 'k', heartbeatTimeout: false, commitOnClose: true })
    await expect(
      sub.forEach(async (event) => {
        if (event.id === '2') throw new Error('insert failed')
      }),
    ).rejects.toThrow('insert failed')
    expect(await store.get('k')).toMatchObject({ sequence: 1 })
  })
})

describe('AbortSignal (built package, real server)', () => {
  // Regression: a signal already aborted left the status at 'closed' without ever telling onStatus or a
  // status listener, while an abort a moment later (during the store read) is told as closed/aborted:
  // a status pill showing 'connecting' stayed so forever.
  it('already aborted: no request, the loop ends at once, and the closed/aborted change is told', async () => {
    const { url, requests } = await serve([stream(['id: 1\ndata: a\n\n'], true)])
    const told: Lib.StatusChange[] = []
    const listened: Lib.StatusChange[] = []
    const sub = lib.subscribe({ url, signal: AbortSignal.abort(), onStatus: (change) => void told.push(change) })
    // A listener added right after subscribe() returns hears it too.
    sub.addEventListener('status', (event) => void listened.push(event.detail))
    expect(sub.status).toBe('closed')
    const seen: unknown[] = []
    for await (const event of sub) seen.push(event)
    expect(seen).toEqual([])
    expect(told).toMatchObject([{ status: 'closed', previous: 'connecting', reason: 'aborted' }])
    expect(listened).toEqual(told)
    await sub.close()
    await sub.close()
    expect(told).toHaveLength(1)
    expect(requests).toHaveLength(0)
  })

  it('an onStatus that uses the subscription handle finds it (the change is told after subscribe returns)', async () => {
    const statuses: string[] = []
    const sub: Lib.Subscription = lib.subscribe({
      url: 'http://127.0.0.1:9/never',
      signal: AbortSignal.abort(),
      onStatus: () => void statuses.push(sub.status),
    })
    await sub.close()
    expect(statuses).toEqual(['closed'])
  })
})

describe('heartbeatTimeout covers the whole attempt (built package, real server)', () => {
  // Regression: the starvation clock started only once the request was built, so a `headers()` that
  // never settled (a token fetch into a dead network) left the subscription 'connecting' forever,
  // whatever heartbeatTimeout said. Now it is a starved attempt: backoff, headers() called again.
  it('a headers() function that hangs is given up after heartbeatTimeout and called again', async () => {
    const { url, requests } = await serve([stream(['id: 1\ndata: a\n\n'])])
    let calls = 0
    let firstSignal: AbortSignal | undefined
    const statuses: Lib.StatusChange[] = []
    const sub = lib.subscribe({
      url,
      mode: 'replay',
      heartbeatTimeout: 50,
      runtime: recordingTimers(50).runtime,
      headers: ({ signal }) => {
        if (++calls > 1) return { authorization: 'Bearer fresh' }
        firstSignal = signal
        return new Promise<HeadersInit>(() => {})
      },
      onStatus: (s) => void statuses.push(s),
    })
    const data: string[] = []
    for await (const event of sub) data.push(event.data)
    expect(data).toEqual(['a'])
    expect(calls).toBe(2)
    expect(firstSignal?.aborted).toBe(true)
    expect(requests.map((r) => r.headers.authorization)).toEqual(['Bearer fresh'])
    expect(statuses.find((s) => s.status === 'backoff')?.reason).toBe('starved')
  })

  it('close() while headers() hangs ends the subscription at once', async () => {
    const { url, requests } = await serve([])
    let entered!: () => void
    const inHeaders = new Promise<void>((resolve) => (entered = resolve))
    const sub = lib.subscribe({
      url,
      headers: () => {
        entered()
        return new Promise<HeadersInit>(() => {})
      },
    })
    await inHeaders
    await sub.close()
    expect(sub.status).toBe('closed')
    expect(requests).toHaveLength(0)
  })
})

describe('status changes arrive in order (built package, real server)', () => {
  // Regression: a change made from inside a status callback (the natural `if (open) close()`) was told
  // at once, in the middle of telling the previous one: every listener after that callback heard
  // 'closed' and then 'open', so a status pill bound to them showed 'open' on a closed subscription.
  it('close() from onStatus: every listener hears open, then closed', async () => {
    const { url } = await serve([stream(['id: 1\ndata: a\n\n'], true)])
    const heard: Record<string, string[]> = { onStatus: [], first: [], second: [] }
    const sub = lib.subscribe({
      url,
      heartbeatTimeout: false,
      onStatus: (change) => {
        heard.onStatus?.push(change.status)
        if (change.status === 'open') void sub.close()
      },
    })
    sub.addEventListener('status', (event) => void heard.first?.push(event.detail.status))
    sub.addEventListener('status', (event) => void heard.second?.push(event.detail.status))
    for await (const _ of sub);
    expect(heard).toEqual({ onStatus: ['open', 'closed'], first: ['open', 'closed'], second: ['open', 'closed'] })
    expect(sub.status).toBe('closed')
  })

  it('a listener that closes on backoff: the next listener hears backoff before closed', async () => {
    const { url } = await serve([answer(500)])
    const heard: string[][] = [[], []]
    const sub = lib.subscribe({ url, heartbeatTimeout: false, runtime: recordingTimers().runtime })
    sub.addEventListener('status', (event) => {
      heard[0]?.push(event.detail.status)
      if (event.detail.status === 'backoff') void sub.close()
    })
    sub.addEventListener('status', (event) => void heard[1]?.push(`${event.detail.previous}>${event.detail.status}`))
    for await (const _ of sub);
    expect(heard).toEqual([
      ['backoff', 'closed'],
      ['connecting>backoff', 'backoff>closed'],
    ])
  })
})

describe('a quiet feed whose idle connections are cut (built package, real server)', () => {
  // Regression: only a connection that delivered something new ended a failure streak, however long it
  // lasted. A quiet feed (heartbeat comments only) whose connection a proxy cuts now and then counted
  // every cut as a failure: the waits grew to maxDelay, and with `maxRetries: 2` the third cut ended the
  // subscription with retries-exhausted although the server never failed. A connection that stayed open
  // at least maxDelay ends the streak (reconnecting once per such connection is no faster than the
  // backoff's slowest pace, so no server can drive a loop with it).
  it('three cuts of a quiet connection that lasted are not three failures', async () => {
    const quiet = stream([':heartbeat\n\n'])
    const { url, requests } = await serve([quiet, quiet, quiet, quiet, stream(['id: 1\ndata: news\n\n'], true)])
    let now = 0
    const statuses: Lib.StatusChange[] = []
    const sub = lib.subscribe({
      url,
      maxRetries: 2,
      heartbeatTimeout: false,
      // Every reading of the clock is 40 s later: each connection lasted longer than maxDelay (30 s).
      runtime: { ...recordingTimers().runtime, now: () => (now += 40_000) },
      onStatus: (s) => void statuses.push(s),
    })
    const data: string[] = []
    for await (const event of sub) {
      data.push(event.data)
      break
    }
    expect(data).toEqual(['news'])
    expect(requests).toHaveLength(5)
    expect(statuses.filter((s) => s.status === 'backoff').map((s) => s.attempt)).toEqual([1, 1, 1, 1])
  })

  it('a connection dropped for silence (heartbeatTimeout) is a failure however long it lasted: maxRetries still gives up', async () => {
    const silent: Handler = (_req, res) => void res.writeHead(200, { 'content-type': 'text/event-stream' }).flushHeaders()
    const { url, requests } = await serve([silent, silent, silent])
    // The heartbeat's timers (1000 ms) are held until the connection is open; then the clock jumps 40 s
    // and they fire: each connection opened, stayed silent for 40 s and was dropped for it.
    let now = 0
    const held: Array<{ fn: () => void; cleared?: boolean }> = []
    const runtime = {
      setTimeout: (fn: () => void, ms: number) => (ms === 1000 ? held[held.push({ fn }) - 1] : setTimeout(fn, 1)),
      clearTimeout: (handle: unknown) => (held.includes(handle as never) ? ((handle as { cleared?: boolean }).cleared = true) : clearTimeout(handle as ReturnType<typeof setTimeout>)),
      now: () => now,
      random: () => 0,
    }
    const onStatus = (change: Lib.StatusChange) => {
      if (change.status !== 'open') return
      now += 40_000
      for (const timer of held.splice(0)) setTimeout(() => timer.cleared || timer.fn(), 0)
    }
    const sub = lib.subscribe({ url, maxRetries: 1, heartbeatTimeout: 1000, runtime, onStatus })
    const error = await (async () => {
      for await (const _ of sub);
    })().catch((caught: unknown) => caught)
    expect(error).toMatchObject({ code: 'retries-exhausted', message: expect.stringContaining('starved') })
    expect(requests).toHaveLength(2)
  })

  it('connections that end sooner than maxDelay without anything new still add up (no reconnect loop)', async () => {
    const quiet = stream([':heartbeat\n\n'])
    const { url, requests } = await serve([quiet, quiet, quiet, quiet])
    let now = 0
    const sub = lib.subscribe({ url, maxRetries: 2, heartbeatTimeout: false, runtime: { ...recordingTimers().runtime, now: () => (now += 5_000) } })
    const error = await (async () => {
      for await (const _ of sub);
    })().catch((caught: unknown) => caught)
    expect(error).toMatchObject({ code: 'retries-exhausted' })
    expect(requests).toHaveLength(3)
  })
})

describe('Retry-After (built package, real server)', () => {
  for (const [format, build] of [
    ['ESM', lib],
    ['CommonJS', cjs],
  ] as const) {
    it(`seconds and the three HTTP-date forms, read against the injected clock and capped at maxRetryAfter (${format})`, async () => {
      const now = Date.UTC(2030, 0, 1, 0, 0, 0)
      const { url } = await serve([
        answer(503, { 'retry-after': '7' }),
        answer(429, { 'retry-after': 'Tue, 01 Jan 2030 00:00:09 GMT' }), // IMF-fixdate
        answer(503, { 'retry-after': 'Tuesday, 01-Jan-30 00:00:11 GMT' }), // RFC 850
        answer(503, { 'retry-after': 'Tue Jan  1 00:10:00 2030' }), // asctime, above the cap
        stream(['id: 1\ndata: a\n\n']),
      ])
      const statuses: Lib.StatusChange[] = []
      const sub = build.subscribe({
        url,
        mode: 'replay',
        heartbeatTimeout: false,
        backoff: { maxRetryAfter: 60_000 },
        // random 0: the backoff's floor is 0, so each delay is the server's own.
        runtime: { ...recordingTimers().runtime, now: () => now, random: () => 0 },
        onStatus: (s) => void statuses.push(s),
      })
      for await (const _ of sub);
      expect(backoffDelays(statuses)).toEqual([7000, 9000, 11000, 60000])
    })
  }
})

describe('nothing left behind by close() (built package, real server, real timers)', () => {
  const pendingTimers = () => process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length
  const cases: Array<[string, Handler[], Partial<Lib.SubscribeOptions>, Lib.Status | undefined]> = [
    ['an open stream', [stream(['id: 1\ndata: a\n\n'], true)], {}, 'open'],
    ['a backoff wait', [answer(500)], { backoff: { baseDelay: 60_000 } }, 'backoff'],
    ['a Retry-After wait', [answer(503, { 'retry-after': '3600' })], {}, 'backoff'],
    ['a refreshAuth that never settles', [answer(401)], { refreshAuth: () => new Promise(() => {}) }, 'refreshing-auth'],
    ['a server that never answers', [() => {}], {}, undefined],
    ['a headers() that never settles', [], { headers: () => new Promise<HeadersInit>(() => {}) }, undefined],
  ]
  for (const [name, handlers, options, reach] of cases) {
    it(`close() during ${name}: no timer left, the connection closed`, async () => {
      const sockets: Array<Promise<void>> = []
      const { url, requests } = await serve(
        handlers.map((handler) => (req, res) => {
          sockets.push(new Promise((resolve) => req.socket.once('close', () => resolve())))
          handler(req, res)
        }),
      )
      const before = pendingTimers()
      let reached!: () => void
      const there = new Promise<void>((resolve) => (reached = resolve))
      // Default timers (heartbeat 60 s, real backoff): each must be cleared, not waited out.
      const sub = lib.subscribe({ url, store: new lib.MemoryStore(), key: 'k', ...options, onStatus: (s) => void (s.status === reach && reached()) })
      if (reach) await there
      else while (requests.length === 0 && !options.headers) await new Promise((resolve) => setTimeout(resolve, 5))
      await sub.close()
      expect(sub.status).toBe('closed')
      expect(pendingTimers()).toBeLessThanOrEqual(before)
      // The server sees every connection of ours end (a stream or a pending request is not kept open).
      if (name === 'an open stream' || name === 'a server that never answers') await Promise.all(sockets)
    })
  }
})
