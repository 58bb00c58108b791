import { describe, expect, it } from 'vitest'
import {
  type Checkpoint,
  type CheckpointStore,
  ConfigError,
  EventTooLargeError,
  HttpError,
  MemoryStore,
  type Notice,
  ProtocolError,
  type StatusChange,
  StoreError,
  type SubscribeOptions,
  aviso,
  lastEventId,
  subscribe,
} from '../../src/index.js'
import { consume, fastTimers } from '../support/consume.js'
import { useFeedServer } from '../support/feed-server.js'

const { feed, log } = useFeedServer('s')

/** Consume until the end, or until `limit` events arrived (then break, as a consumer would). */
const collect = (options: SubscribeOptions, limit = Number.POSITIVE_INFINITY) => consume(options, (_, all) => all.length >= limit)

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i)

describe('receiving', () => {
  it('delivers every event in order with type, id, sequence, cursor and json()', async () => {
    const { url, sid } = feed({ total: 5, type: 'reading' })
    const r = await collect({ url, mode: 'replay' })
    expect(r.error).toBeUndefined()
    expect(r.sequences).toEqual([1, 2, 3, 4, 5])
    expect(r.events[0]).toMatchObject({ type: 'reading', id: '1', sequence: 1, cursor: '1' })
    expect(r.events[4]!.json()).toMatchObject({ n: 5, sid })
    expect(r.sub.status).toBe('closed')
  })
  it('asks for an event stream and no caching', async () => {
    const { url, sid } = feed({ total: 1 })
    await collect({ url, mode: 'replay' })
    const [request] = log(sid)
    expect(request?.headers.accept).toBe('text/event-stream')
    // Asked for with `cache: 'no-store'`; fetch itself adds this header (after the CORS decision, so
    // it forces no preflight). The library sets no cache-control header (see hostile.test.ts).
    expect(request?.headers['cache-control']).toBe('no-cache')
    expect(request?.headers['last-event-id']).toBeUndefined()
  })
  it('sends headers and a JSON body, evaluating functions per attempt', async () => {
    const { url, sid } = feed({ total: 2, plan: [{ events: 1, then: 'drop' }] })
    let calls = 0
    await collect({
      url,
      method: 'POST',
      key: 'k',
      headers: () => ({ 'x-attempt': String(++calls) }),
      body: async () => ({ filter: { region: 'eu' }, attempt: calls }),
      mode: 'replay',
      runtime: fastTimers().runtime,
    })
    const requests = log(sid)
    expect(requests.map((r) => r.method)).toEqual(['POST', 'POST'])
    expect(requests[0]?.headers['content-type']).toBe('application/json')
    expect(JSON.parse(requests[1]!.body)).toEqual({ filter: { region: 'eu' }, attempt: 2 })
    expect(calls).toBe(2)
  })
  it('live mode reconnects after a normal end of the body', async () => {
    const { url, sid } = feed({ total: 4, plan: [{ events: 2, then: 'end' }] })
    const r = await collect({ url, runtime: fastTimers().runtime }, 4)
    expect(r.sequences).toEqual([1, 2, 3, 4])
    expect(log(sid)[1]?.headers['last-event-id']).toBe('2')
    expect(r.statuses.some((s) => s.status === 'backoff' && s.reason === 'eof')).toBe(true)
  })
  it('gives opaque ids a local increasing sequence and resumes with the opaque id', async () => {
    let calls = 0
    const fakeFetch: typeof fetch = async (input) => {
      calls++
      const last = new Request(input).headers.get('last-event-id')
      const body = last === null ? 'id: a\ndata: 1\n\nid: b\ndata: 2\n\n' : `id: c-after-${last}\ndata: 3\n\n`
      return new Response(body, { headers: { 'content-type': 'text/event-stream' } })
    }
    const r = await collect({ url: 'http://127.0.0.1:9/opaque', fetch: fakeFetch, runtime: fastTimers().runtime }, 3)
    expect(r.events.map((e) => [e.id, e.sequence])).toEqual([['a', 1], ['b', 2], ['c-after-b', 3]])
    expect(calls).toBe(2)
  })
  it('delivers an event without an id but never commits it', async () => {
    const store = new MemoryStore()
    const fakeFetch: typeof fetch = async () =>
      new Response('id: 7\ndata: a\n\ndata: no-id\n\n', { headers: { 'content-type': 'text/event-stream' } })
    const r = await collect({ url: 'http://127.0.0.1:9/x', fetch: fakeFetch, store, key: 'k', mode: 'replay' })
    expect(r.events.map((e) => [e.data, e.id, e.sequence])).toEqual([['a', '7', 7], ['no-id', undefined, 7]])
    expect((await store.get('k'))?.sequence).toBe(7)
  })
})

describe('resuming', () => {
  it('a dropped connection (mid-frame) resumes after the last event received: zero loss, no duplicates', async () => {
    const { url, sid } = feed({ total: 30, plan: [{ events: 10, then: 'drop-mid-frame' }, { events: 10, then: 'drop' }] })
    const timers = fastTimers()
    const r = await collect({ url, mode: 'replay', runtime: timers.runtime })
    expect(r.error).toBeUndefined()
    expect(r.sequences).toEqual(range(1, 30))
    expect(log(sid).map((x) => x.headers['last-event-id'])).toEqual([undefined, '10', '20'])
    expect(r.sub.reconnects).toBe(2)
    expect(r.statuses.filter((s) => s.status === 'backoff').map((s) => s.reason)).toEqual(['transport', 'transport'])
  })
  it('a new subscription on the same store resumes after the last event the consumer finished', async () => {
    const { url, sid } = feed({ total: 20 })
    const store = new MemoryStore()
    const first = await collect({ url, store, mode: 'replay' }, 8)
    // The consumer broke out while holding event 8: it finished 1..7.
    expect(first.sequences).toEqual(range(1, 8))
    expect((await store.get(first.sub.key))?.sequence).toBe(7)
    const second = await collect({ url, store, mode: 'replay' })
    expect(second.sub.key).toBe(first.sub.key)
    expect(second.sequences).toEqual(range(8, 20))
    expect(log(sid)[1]?.headers['last-event-id']).toBe('7')
    expect(second.notices).toContainEqual({ kind: 'resumed', checkpoint: expect.objectContaining({ sequence: 7, cursor: '7' }) })
  })
  it('commits event N only when the consumer asks for N+1', async () => {
    const { url } = feed({ total: 5 })
    const store = new MemoryStore()
    const sub = subscribe({ url, store, mode: 'replay', heartbeatTimeout: false })
    const it = sub[Symbol.asyncIterator]()
    expect((await it.next()).value.sequence).toBe(1)
    await sub.flush()
    expect(await store.get(sub.key)).toBeUndefined()
    expect((await it.next()).value.sequence).toBe(2)
    await sub.flush()
    expect((await store.get(sub.key))?.sequence).toBe(1)
    await sub.close()
    expect((await store.get(sub.key))?.sequence).toBe(1)
  })
  it('when a replay ends, the checkpoint of the last event is already durable (no waiting on the write spacing)', async () => {
    const { url } = feed({ total: 5 })
    const store = new MemoryStore()
    const r = await collect({ url, store, mode: 'replay', commitInterval: 60_000 })
    expect(r.sequences).toEqual([1, 2, 3, 4, 5])
    expect((await store.get(r.sub.key))?.sequence).toBe(5)
  })
  it('spaces checkpoint writes by commitInterval on a fast stream', async () => {
    const { url } = feed({ total: 500 })
    const puts: number[] = []
    const inner = new MemoryStore()
    const counting: CheckpointStore = { get: (k) => inner.get(k), delete: (k) => inner.delete(k), put: (k, c) => (puts.push(c.sequence), inner.put(k, c)) }
    const r = await collect({ url, store: counting, mode: 'replay', commitInterval: 60_000 })
    expect(r.sequences).toHaveLength(500)
    // One write when the first event was committed, one at the end: nothing in between.
    expect(puts).toEqual([1, 500])
  })
  it('aborting with a store that cannot save the last checkpoint reports it instead of an unhandled rejection', async () => {
    const { url } = feed({ total: 3, plan: [{ then: 'hold' }] })
    let fail = false
    const flaky: CheckpointStore = {
      get: async () => undefined,
      delete: async () => {},
      put: async () => {
        if (fail) throw new Error('disk gone')
      },
    }
    const controller = new AbortController()
    const notices: Notice[] = []
    const sub = subscribe({ url, store: flaky, signal: controller.signal, heartbeatTimeout: false, commitInterval: 60_000, onNotice: (n) => notices.push(n) })
    const it = sub[Symbol.asyncIterator]()
    await it.next()
    await it.next()
    await it.next() // commits 2, pending behind the spacing
    fail = true
    controller.abort()
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(sub.status).toBe('closed')
    expect(notices.some((n) => n.kind === 'store-error')).toBe(true)
  })
  it('commitOnClose commits the event held at close()', async () => {
    const { url } = feed({ total: 5 })
    const store = new MemoryStore()
    const sub = subscribe({ url, store, mode: 'replay', commitOnClose: true, heartbeatTimeout: false })
    const it = sub[Symbol.asyncIterator]()
    await it.next()
    await it.next()
    await sub.close()
    expect((await store.get(sub.key))?.sequence).toBe(2)
  })
  it('`from` wins over the store; `from: "start"` ignores it', async () => {
    const { url, sid } = feed({ total: 6 })
    const store = new MemoryStore()
    const key = 'shared'
    await store.put(key, { sequence: 4, cursor: '4' })
    expect((await collect({ url, store, key, mode: 'replay', from: { sequence: 2, cursor: '2' } })).sequences).toEqual([3, 4, 5, 6])
    expect((await collect({ url, store, key, mode: 'replay', from: 'start' })).sequences).toEqual(range(1, 6))
    expect(log(sid).map((x) => x.headers['last-event-id'])).toEqual(['2', undefined])
  })
  it('replays the server sends anyway are dropped (a server that repeats ids)', async () => {
    const { url } = feed({ total: 6, plan: [{ lie: 'repeat' }] })
    const r = await collect({ url, mode: 'replay' })
    expect(r.sequences).toEqual(range(1, 6))
    expect(r.notices.filter((n) => n.kind === 'duplicate')).toHaveLength(6)
  })
  it('ids that go backwards are never delivered twice', async () => {
    const { url } = feed({ total: 8, plan: [{ lie: 'backwards' }] })
    const r = await collect({ url, mode: 'replay' })
    expect(r.sequences).toEqual(range(1, 8))
  })
  it('a gap on a contiguous stream is a notice, or a GapError in strict mode after what came before', async () => {
    const fakeFetch: typeof fetch = async () =>
      new Response('id: 1\ndata: a\n\nid: 2\ndata: b\n\nid: 5\ndata: e\n\n', { headers: { 'content-type': 'text/event-stream' } })
    const loose = await collect({ url: 'http://127.0.0.1:9/g', fetch: fakeFetch, dialect: lastEventId({ contiguous: true }), mode: 'replay' })
    expect(loose.sequences).toEqual([1, 2, 5])
    expect(loose.notices).toContainEqual({ kind: 'gap', expected: 3, received: 5 })
    const strict = await collect({ url: 'http://127.0.0.1:9/g', fetch: fakeFetch, dialect: lastEventId({ contiguous: true }), mode: 'replay', strictGaps: true })
    expect(strict.sequences).toEqual([1, 2])
    expect(strict.error).toMatchObject({ code: 'gap', expected: 3, received: 5 })
  })
})

describe('reconnect policy', () => {
  it('uses full-jitter backoff from the injected random source', async () => {
    const { url } = feed({ total: 3, plan: [{ status: 500 }, { status: 502 }, { status: 500 }] })
    const timers = fastTimers()
    const r = await collect({ url, mode: 'replay', runtime: { ...timers.runtime, random: () => 0.5 } })
    expect(r.sequences).toEqual([1, 2, 3])
    expect(r.statuses.filter((s) => s.status === 'backoff').map((s) => s.delay)).toEqual([125, 250, 500])
  })
  it('honours the configured base, factor and cap', async () => {
    const { url } = feed({ total: 1, plan: [{ status: 500 }, { status: 500 }, { status: 500 }] })
    const r = await collect({ url, mode: 'replay', backoff: { baseDelay: 1000, factor: 3, maxDelay: 5000 }, runtime: { ...fastTimers().runtime, random: () => 0.999 } })
    expect(r.statuses.filter((s) => s.status === 'backoff').map((s) => s.delay)).toEqual([999, 2997, 4995])
  })
  it('503 with Retry-After waits what the server asked', async () => {
    const { url } = feed({ total: 2, plan: [{ status: 503, retryAfter: '7' }] })
    const r = await collect({ url, mode: 'replay', runtime: fastTimers().runtime })
    expect(r.sequences).toEqual([1, 2])
    expect(r.statuses.find((s) => s.status === 'backoff')).toMatchObject({ delay: 7000, reason: 'http' })
  })
  it('429 with an HTTP-date Retry-After, capped', async () => {
    const { url } = feed({ total: 1, plan: [{ status: 429, retryAfter: new Date(Date.now() + 3_600_000).toUTCString() }] })
    const r = await collect({ url, mode: 'replay', backoff: { maxRetryAfter: 60_000 }, runtime: fastTimers().runtime })
    expect(r.statuses.find((s) => s.status === 'backoff')?.delay).toBe(60_000)
  })
  it("the server's retry: field becomes the base delay", async () => {
    const { url } = feed({ total: 2, retry: 4000, plan: [{ events: 1, then: 'drop' }] })
    const r = await collect({ url, mode: 'replay', runtime: { ...fastTimers().runtime, random: () => 0.5 } })
    expect(r.statuses.find((s) => s.status === 'backoff')?.delay).toBe(2000)
  })
  for (const status of [400, 403, 404, 410]) {
    it(`${status} fails fast with a typed HttpError carrying status, body and request id`, async () => {
      const { url, sid } = feed({ total: 2, plan: [{ status, body: '{"error":"nope"}', requestId: 'req-42' }] })
      const r = await collect({ url, runtime: fastTimers().runtime })
      expect(r.error).toBeInstanceOf(HttpError)
      expect(r.error).toMatchObject({ code: 'http', status, requestId: 'req-42', body: '{"error":"nope"}' })
      expect(log(sid)).toHaveLength(1)
      expect(r.sub.status).toBe('closed')
    })
  }
  it('204 is fatal too (the server says: stop reconnecting)', async () => {
    const { url } = feed({ total: 2, plan: [{ status: 204 }] })
    const r = await collect({ url })
    expect(r.error).toMatchObject({ code: 'http', status: 204 })
  })
  it('401 calls refreshAuth once and continues with the fresh token', async () => {
    const { url, sid } = feed({ total: 3, token: 'fresh' })
    let token = 'stale'
    let refreshes = 0
    const r = await collect({
      url,
      mode: 'replay',
      headers: () => ({ authorization: `Bearer ${token}` }),
      refreshAuth: async () => {
        refreshes++
        token = 'fresh'
      },
    })
    expect(r.error).toBeUndefined()
    expect(r.sequences).toEqual([1, 2, 3])
    expect(refreshes).toBe(1)
    expect(log(sid).map((x) => x.headers.authorization)).toEqual(['Bearer stale', 'Bearer fresh'])
    expect(r.statuses.map((s) => s.status)).toContain('refreshing-auth')
  })
  it('a second 401 after the refresh is fatal with code auth', async () => {
    const { url } = feed({ total: 3, token: 'never' })
    let refreshes = 0
    const r = await collect({ url, refreshAuth: () => void refreshes++ })
    expect(refreshes).toBe(1)
    expect(r.error).toMatchObject({ code: 'auth', status: 401 })
  })
  it('a refreshAuth that throws ends with code auth and the cause', async () => {
    const { url } = feed({ total: 3, token: 'never' })
    const r = await collect({ url, refreshAuth: () => Promise.reject(new Error('idp down')) })
    expect(r.error).toMatchObject({ code: 'auth' })
    expect((r.error as Error).cause).toMatchObject({ message: 'idp down' })
  })
  it('maxRetries gives up with retries-exhausted', async () => {
    const { url } = feed({ total: 1, plan: [{ status: 500 }, { status: 500 }, { status: 500 }] })
    const r = await collect({ url, maxRetries: 2, runtime: fastTimers().runtime })
    expect(r.error).toMatchObject({ code: 'retries-exhausted' })
  })
})

describe('heartbeats', () => {
  it('a stalled connection is dropped after heartbeatTimeout and resumed', async () => {
    const { url, sid } = feed({ total: 6, plan: [{ events: 3, then: 'stall' }] })
    const r = await collect({ url, mode: 'replay', heartbeatTimeout: 150, backoff: { baseDelay: 0 } })
    expect(r.sequences).toEqual(range(1, 6))
    expect(r.statuses.find((s) => s.status === 'backoff')?.reason).toBe('starved')
    expect(log(sid)[1]?.headers['last-event-id']).toBe('3')
  })
  it('a server that never answers the request counts as starved too', async () => {
    let calls = 0
    const silentThenFine: typeof fetch = (input) => {
      calls++
      if (calls > 1) return Promise.resolve(new Response('id: 1\ndata: x\n\n', { headers: { 'content-type': 'text/event-stream' } }))
      const signal = new Request(input).signal
      return new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason)))
    }
    const r = await collect({ url: 'http://127.0.0.1:9/silent', fetch: silentThenFine, mode: 'replay', heartbeatTimeout: 100, backoff: { baseDelay: 0 } })
    expect(r.sequences).toEqual([1])
    expect(r.statuses.find((s) => s.status === 'backoff')?.reason).toBe('starved')
  })
  it('comments count as liveness: a quiet stream with heartbeats is not dropped', async () => {
    const { url, sid } = feed({ total: 2, hold: true, heartbeat: 40 })
    const sub = subscribe({ url, heartbeatTimeout: 200 })
    const seen: number[] = []
    for await (const event of sub) {
      seen.push(event.sequence)
      if (seen.length === 2) break
    }
    // Hold the connection across several heartbeat timeouts' worth of quiet.
    const sub2 = subscribe({ url, heartbeatTimeout: 200, from: { sequence: 2, cursor: '2' } })
    await new Promise((resolve) => setTimeout(resolve, 700))
    expect(sub2.status).toBe('open')
    expect(sub2.reconnects).toBe(0)
    await sub2.close()
    expect(log(sid)).toHaveLength(2)
  })
})

describe('cancellation', () => {
  async function endsCleanly(setup: (signal: AbortSignal, timers: ReturnType<typeof fastTimers>) => SubscribeOptions, when: (sub: ReturnType<typeof subscribe>, statuses: StatusChange[]) => boolean) {
    const controller = new AbortController()
    const timers = fastTimers()
    const statuses: StatusChange[] = []
    const sub = subscribe({ ...setup(controller.signal, timers), signal: controller.signal, onStatus: (c) => statuses.push(c) })
    const consumed = (async () => {
      const seen: number[] = []
      for await (const event of sub) seen.push(event.sequence)
      return seen
    })()
    while (!when(sub, statuses)) await new Promise((resolve) => setTimeout(resolve, 5))
    controller.abort()
    const seen = await consumed
    expect(sub.status).toBe('closed')
    expect(statuses.at(-1)).toMatchObject({ status: 'closed', reason: 'aborted' })
    expect(timers.live.size).toBe(0)
    return seen
  }
  it('abort while the request is pending', async () => {
    let started = false
    const neverAnswers: typeof fetch = (input) =>
      new Promise((_, reject) => {
        started = true
        const signal = new Request(input).signal
        signal.addEventListener('abort', () => reject(signal.reason))
      })
    await endsCleanly((_, t) => ({ url: 'http://127.0.0.1:9/pending', fetch: neverAnswers, runtime: t.runtime, heartbeatTimeout: 10_000 }), () => started)
  })
  it('abort mid-stream', async () => {
    const { url } = feed({ total: 3, plan: [{ then: 'hold' }] })
    const seen = await endsCleanly((_, t) => ({ url, runtime: t.runtime, heartbeatTimeout: 10_000 }), (sub) => (sub.checkpoint?.sequence ?? 0) >= 2)
    expect(seen).toEqual([1, 2, 3])
  })
  it('abort during backoff', async () => {
    const { url } = feed({ total: 3, plan: [{ status: 503, retryAfter: '60' }] })
    // Real timers here: the 60 s backoff timer must be cleared by the abort, not run out.
    const controller = new AbortController()
    const sub = subscribe({ url, signal: controller.signal, heartbeatTimeout: false })
    while (sub.status !== 'backoff') await new Promise((resolve) => setTimeout(resolve, 5))
    const started = Date.now()
    controller.abort()
    for await (const _ of sub) {
      /* nothing arrives */
    }
    expect(sub.status).toBe('closed')
    expect(Date.now() - started).toBeLessThan(5000)
  })
  it('abort while refreshing auth', async () => {
    const { url } = feed({ total: 3, token: 'x' })
    let signalSeen: AbortSignal | undefined
    await endsCleanly(
      (_, t) => ({
        url,
        runtime: t.runtime,
        refreshAuth: ({ signal }) =>
          new Promise<void>((resolve) => {
            signalSeen = signal
            signal.addEventListener('abort', () => resolve())
          }),
      }),
      (_, statuses) => statuses.some((s) => s.status === 'refreshing-auth'),
    )
    expect(signalSeen?.aborted).toBe(true)
  })
  it('an already-aborted signal never connects', async () => {
    const { url, sid } = feed({ total: 3 })
    const r = await collect({ url, signal: AbortSignal.abort() })
    expect(r.events).toEqual([])
    expect(r.sub.status).toBe('closed')
    expect(log(sid)).toHaveLength(0)
  })
  it('close() resolves after flushing, and ends a pending next()', async () => {
    const { url } = feed({ total: 2, plan: [{ then: 'hold' }] })
    const store = new MemoryStore()
    const sub = subscribe({ url, store, heartbeatTimeout: false })
    const it = sub[Symbol.asyncIterator]()
    await it.next()
    await it.next()
    const pending = it.next()
    await sub.close()
    expect(await pending).toEqual({ value: undefined, done: true })
    expect((await store.get(sub.key))?.sequence).toBe(2)
  })
})

describe('bad input', () => {
  it('an oversized event is a typed error after the events before it', async () => {
    const fakeFetch: typeof fetch = async () =>
      new Response(`id: 1\ndata: ok\n\nid: 2\ndata: ${'x'.repeat(5000)}\n\n`, { headers: { 'content-type': 'text/event-stream' } })
    const r = await collect({ url: 'http://127.0.0.1:9/big', fetch: fakeFetch, maxEventSize: 1024 })
    expect(r.sequences).toEqual([1])
    expect(r.error).toBeInstanceOf(EventTooLargeError)
    expect(r.error).toMatchObject({ code: 'event-too-large', limit: 1024 })
  })
  it('an oversized event arriving in many small chunks is stopped without buffering it all', async () => {
    const { url } = feed({ total: 1, plan: [{ bigEvent: 300_000 }] })
    const r = await collect({ url, maxEventSize: 64 * 1024 })
    expect(r.error).toMatchObject({ code: 'event-too-large' })
  })
  it('a 200 that is not an event stream is a ProtocolError', async () => {
    const { url } = feed({ total: 1, plan: [{ contentType: 'text/html' }] })
    const r = await collect({ url })
    expect(r.error).toBeInstanceOf(ProtocolError)
    expect((r.error as Error).message).toContain('text/html')
  })
  it('garbage lines are ignored as the SSE spec says', async () => {
    const { url } = feed({ total: 2, plan: [{ garbage: 'this is not sse\nfoo: bar\n\n' }] })
    const r = await collect({ url, mode: 'replay' })
    expect(r.sequences).toEqual([1, 2])
  })
  it('a corrupt stored checkpoint stops the subscription with a StoreError and is left as it was', async () => {
    const { url, sid } = feed({ total: 2 })
    const broken: CheckpointStore = {
      get: async () => {
        throw new StoreError('corrupt', 'Stored checkpoint is not valid JSON')
      },
      put: async () => {},
      delete: async () => {},
    }
    const r = await collect({ url, store: broken })
    expect(r.error).toMatchObject({ code: 'store', reason: 'corrupt' })
    expect(log(sid)).toHaveLength(0)
  })
  it("a failing store stops the subscription by default; with onStoreError 'report' it goes on", async () => {
    const failing: CheckpointStore = {
      get: async () => undefined,
      put: async () => {
        throw Object.assign(new Error('full'), { name: 'QuotaExceededError' })
      },
      delete: async () => {},
    }
    const { url } = feed({ total: 20, interval: 5 })
    const strict = await collect({ url, store: failing })
    expect(strict.error).toMatchObject({ code: 'store', reason: 'quota' })
    expect(strict.events.length).toBeLessThan(20)
    const { url: url2 } = feed({ total: 5 })
    const lenient = await collect({ url: url2, store: failing, onStoreError: 'report', mode: 'replay' })
    expect(lenient.error).toBeUndefined()
    expect(lenient.sequences).toEqual(range(1, 5))
    expect(lenient.notices.some((n) => n.kind === 'store-error')).toBe(true)
  })
  it('rejects invalid options with exact messages before any request', () => {
    const cases: Array<[Partial<SubscribeOptions>, string]> = [
      [{ url: '' }, 'Expected `url` to be an absolute URL string or a URL'],
      [{ url: 'not a url' }, 'Expected `url` to be an absolute URL, got "not a url"'],
      [{ url: 'http://x/', body: { a: 1 } }, "A `body` cannot be sent with GET; set `method: 'POST'`"],
      [{ url: 'http://x/', method: 'POST', body: () => ({}) }, 'Pass `key` when `body` is a function: a function cannot be part of the derived resume key'],
      [{ url: 'http://x/', heartbeatTimeout: 0 }, 'Expected `heartbeatTimeout` to be a positive number of milliseconds or false'],
      [{ url: 'http://x/', maxEventSize: -1 }, 'Expected `maxEventSize` to be a positive integer'],
      [{ url: 'http://x/', backoff: { factor: 0.5 } }, 'Expected `backoff.factor` to be at least 1'],
      [{ url: 'http://x/', maxRetries: 1.5 }, 'Expected `maxRetries` to be a non-negative integer or Infinity'],
      [{ url: 'http://x/', mode: 'once' as 'live' }, 'Expected `mode` to be \'live\' or \'replay\', got "once"'],
      [{ url: 'http://x/', credentials: 'always' as RequestCredentials }, "Expected `credentials` to be 'omit', 'same-origin' or 'include', got \"always\""],
      [{ url: 'http://x/', from: { sequence: -1, cursor: '' } }, "Expected `from` to be 'start' or a checkpoint: Expected `sequence` to be a non-negative safe integer, got -1"],
      [{ url: 'http://x/', store: {} as CheckpointStore }, 'Expected `store` to implement get, put and delete (see CheckpointStore)'],
      [{ url: 'http://x/', body: { event_type: 'x' }, dialect: aviso({ eventType: 'mars', identifier: {} }) }, 'The aviso dialect writes the request body itself: remove `body` and pass what it needs to the dialect'],
    ]
    for (const [options, message] of cases) {
      expect(() => subscribe(options as SubscribeOptions)).toThrow(new ConfigError(message))
    }
  })
})

describe('handler form', () => {
  it('commits each event when its handler resolves and resolves at the end of a replay', async () => {
    const { url } = feed({ total: 4 })
    const store = new MemoryStore()
    const sub = subscribe({ url, store, mode: 'replay', heartbeatTimeout: false })
    const committedWhileHandling: Array<number | undefined> = []
    await sub.forEach(async (event) => {
      await sub.flush()
      committedWhileHandling.push((await store.get(sub.key))?.sequence)
      expect(event.sequence).toBeGreaterThan(0)
    })
    await sub.flush()
    expect(committedWhileHandling).toEqual([undefined, 1, 2, 3])
    expect((await store.get(sub.key))?.sequence).toBe(4)
  })
  it('a rejecting handler stops the subscription with its error and its event is not committed', async () => {
    const { url } = feed({ total: 10, plan: [{ then: 'hold' }] })
    const store = new MemoryStore()
    const sub = subscribe({ url, store, heartbeatTimeout: false })
    const failure = new Error('cannot handle 3')
    await expect(
      sub.forEach((event) => {
        if (event.sequence === 3) throw failure
      }),
    ).rejects.toBe(failure)
    expect(sub.status).toBe('closed')
    expect((await store.get(sub.key))?.sequence).toBe(2)
  })
  it('a subscription has one consumer', () => {
    const sub = subscribe({ url: 'http://127.0.0.1:9/', signal: AbortSignal.abort() })
    sub[Symbol.asyncIterator]()
    expect(() => sub[Symbol.asyncIterator]()).toThrow(ConfigError)
  })
  it('status listeners see every change', async () => {
    const { url } = feed({ total: 1 })
    const sub = subscribe({ url, mode: 'replay', heartbeatTimeout: false })
    const seen: string[] = []
    sub.addEventListener('status', (event) => seen.push(event.detail.status))
    await sub.forEach(() => {})
    expect(seen).toEqual(['open', 'closed'])
  })
})

describe('at-least-once under a flaky network (many drops)', () => {
  it('every event is delivered exactly once to the consumer and the checkpoint ends at the last', async () => {
    const plan = Array.from({ length: 12 }, (_, i) => ({ events: 7, then: (i % 2 ? 'drop' : 'drop-mid-frame') as 'drop' }))
    const { url } = feed({ total: 100, plan })
    const store = new MemoryStore()
    const r = await collect({ url, store, mode: 'replay', runtime: fastTimers().runtime })
    expect(r.sequences).toEqual(range(1, 100))
    await r.sub.flush()
    const saved = (await store.get(r.sub.key)) as Checkpoint
    expect(saved.sequence).toBe(100)
  })
})
