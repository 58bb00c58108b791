/**
 * The consumer side (delivery/consumer.ts): what the consumer finished is durable, nothing new is
 * dropped, and close()/next()/flush() settle at awkward moments.
 * Split from adversarial.test.ts. A `// Regression` comment marks a case that reproduced a real bug
 * when it was written; the comment keeps the root cause it had.
 */
import { describe, expect, it, vi } from 'vitest'
import { type Checkpoint, type CheckpointStore, EventTooLargeError, MemoryStore, type SSEEvent, type StatusChange, subscribe } from '../../src/index.js'
import { consume, fastTimers } from '../support/consume.js'
import { body, enc, scripted, sleep, sse, STUCK, within } from '../support/scripted.js'

const URL_ = 'http://127.0.0.1:9/consumer'

describe('at-least-once: nothing finished is lost, nothing new is dropped', () => {
  // Regression (was a bug, now fixed): src/dialects/last-event-id.ts:379 — an id is "numeric" if it is all digits, even in a stream
  // of opaque ids. Hex or base-36 ids (hashes, short UUIDs) are all digits now and then (a 7-char hex id
  // is all digits ~4% of the time): '7302' jumps the local sequence to 7302, and a later all-digit id
  // below it ('0815') is judged a replay by the Sequencer (src/delivery/sequencer.ts:421) and silently
  // dropped — and since the session has already moved its counter down to 815, every later opaque id
  // ('ffee' = 816, ...) is dropped too until the counter passes 7302 again: thousands of new events lost
  // with only 'duplicate' notices. Fix: latch the mode per subscription —
  // once an opaque id was seen (or the resume cursor is not numeric), number every id locally
  // (`this.#opaque ||= !isNumericId(id)` in the session, seeded from `position.cursor`).
  it('a stream of opaque hex ids delivers every event, even ids that happen to be all digits', async () => {
    const ids = ['a1f3', '7302', 'c9e1', '0815', 'ffee']
    const frames = ids.map((id) => `id: ${id}\ndata: ${id}\n\n`).join('')
    const r = await consume({ url: URL_, fetch: async () => sse(body([frames])), mode: 'replay' })
    expect(r.events.map((e) => e.id)).toEqual(ids)
  })

  it('opaque ids resume after a restart: the stored cursor is sent and sequences continue above it', async () => {
    const store = new MemoryStore()
    await store.put('k', { sequence: 2, cursor: 'b' })
    const f = scripted([(last) => sse(body([last === 'b' ? 'id: c\ndata: 3\n\nid: d\ndata: 4\n\n' : 'id: a\ndata: 1\n\n']))])
    const r = await consume({ url: URL_, fetch: f.fetch, store, key: 'k', mode: 'replay' })
    expect(f.seen).toEqual(['b'])
    expect(r.events.map((e) => [e.id, e.sequence])).toEqual([['c', 3], ['d', 4]])
    expect(await store.get('k')).toMatchObject({ sequence: 4, cursor: 'd' })
  })

  it('id-less events never move the resume position: a reconnect asks after the last id', async () => {
    const f = scripted([() => sse(body(['id: 5\ndata: a\n\ndata: no-id\n\n'])), () => sse(body(['id: 6\ndata: b\n\n']))])
    const r = await consume({ url: URL_, fetch: f.fetch, runtime: fastTimers().runtime }, (_, all) => all.length === 3)
    expect(r.data).toEqual(['a', 'no-id', 'b'])
    expect(f.seen).toEqual([null, '5'])
  })

  // Regression (was a bug, now fixed): src/subscribe.ts:186-190 (now `Consumer#next`, src/delivery/consumer.ts) — when the channel ends with an error, `#next` rethrows without
  // `#settleCheckpoint()`, so the commit of the event the consumer finished last (committed by this very
  // next() call) still sits behind the commitInterval timer when the error reaches the consumer: a
  // consumer that resubscribes at once on the same store (the usual "restart on fatal" loop) is
  // redelivered events it finished, and a timer outlives the failed subscription. The end-of-stream path
  // (line 188) and close() flush; the error path should too. Same in forEach (line 208). Fix:
  //   return this.#channel.pull().then(async (r) => { ... }, async (error) => {
  //     await this.#settleCheckpoint().catch(() => {}); throw error })
  it('when a fatal error reaches the consumer, the events it finished are already durable', async () => {
    const store = new MemoryStore()
    // One chunk: the three events are still buffered when the error ends the channel.
    const frames = [`id: 1\ndata: a\n\nid: 2\ndata: b\n\nid: 3\ndata: c\n\ndata: ${'x'.repeat(200)}\n\n`]
    const r = await consume({ url: URL_, fetch: async () => sse(body(frames)), store, key: 'k', maxEventSize: 100, commitInterval: 10_000 })
    try {
      expect(r.error).toBeInstanceOf(EventTooLargeError)
      expect(r.sequences).toEqual([1, 2, 3])
      expect((await store.get('k'))?.sequence).toBe(3)
    } finally {
      await r.sub.close() // clears the 10 s spacing timer either way
    }
  })

  it("'report' mode: puts that fail and later succeed end with the last event stored", async () => {
    let failures = 2
    const inner = new MemoryStore()
    const flaky: CheckpointStore = {
      get: (key) => inner.get(key),
      delete: (key) => inner.delete(key),
      put: async (key, checkpoint) => {
        if (failures-- > 0) throw new Error('transient')
        await inner.put(key, checkpoint)
      },
    }
    const frames = Array.from({ length: 5 }, (_, i) => `id: ${i + 1}\ndata: ${i + 1}\n\n`)
    const r = await consume({ url: URL_, fetch: async () => sse(body(frames)), store: flaky, key: 'k', onStoreError: 'report', commitInterval: 0, mode: 'replay' })
    expect(r.error).toBeUndefined()
    expect(r.notices.filter((n) => n.kind === 'store-error')).toHaveLength(2)
    expect((await inner.get('k'))?.sequence).toBe(5)
  })

  it('close() with commitOnClose waits for a slow write already in flight, then writes the held event', async () => {
    let release!: () => void
    const gate = new Promise<void>((resolve) => (release = resolve))
    const inner = new MemoryStore()
    const slow: CheckpointStore = {
      get: (key) => inner.get(key),
      delete: (key) => inner.delete(key),
      put: async (key, checkpoint) => {
        await gate
        await inner.put(key, checkpoint)
      },
    }
    const sub = subscribe({ url: URL_, fetch: async () => sse(body(['id: 1\ndata: a\n\nid: 2\ndata: b\n\n'], { hold: true })), store: slow, key: 'k', commitOnClose: true, heartbeatTimeout: false })
    const iterator = sub[Symbol.asyncIterator]()
    await iterator.next()
    await iterator.next() // commits 1: its put now waits on the gate
    let closed = false
    const closing = sub.close().then(() => (closed = true))
    await sleep(20)
    expect(closed).toBe(false)
    release()
    await closing
    expect((await inner.get('k'))?.sequence).toBe(2)
  })

  it('flush() racing close() and the end of a replay: all settle and the last event is stored once', async () => {
    const inner = new MemoryStore()
    const puts: number[] = []
    const store: CheckpointStore = {
      get: (key) => inner.get(key),
      delete: (key) => inner.delete(key),
      put: async (key, checkpoint) => {
        puts.push(checkpoint.sequence)
        await sleep(5)
        await inner.put(key, checkpoint)
      },
    }
    const frames = ['id: 1\ndata: a\n\nid: 2\ndata: b\n\nid: 3\ndata: c\n\n']
    const sub = subscribe({ url: URL_, fetch: async () => sse(body(frames)), store, key: 'k', mode: 'replay', heartbeatTimeout: false, commitInterval: 1000 })
    const iterator = sub[Symbol.asyncIterator]()
    for (let i = 0; i < 3; i++) await iterator.next()
    const ending = iterator.next()
    await Promise.all([sub.flush(), sub.close(), ending, sub.flush()])
    expect((await inner.get('k'))?.sequence).toBe(3)
    expect(puts.filter((s) => s === 3)).toHaveLength(1)
  })
})

describe('cancellation at awkward moments', () => {
  it('close() while the store is still being read: resolves, never connects, one closed status', async () => {
    let resolveGet!: (checkpoint: Checkpoint | undefined) => void
    const store: CheckpointStore = { get: () => new Promise((resolve) => (resolveGet = resolve)), put: async () => {}, delete: async () => {} }
    const f = scripted([() => sse(body(['id: 1\ndata: a\n\n']))])
    const statuses: StatusChange[] = []
    const sub = subscribe({ url: URL_, fetch: f.fetch, store, onStatus: (c) => statuses.push(c) })
    await sub.close()
    resolveGet({ sequence: 1, cursor: '1' })
    await sleep(10)
    expect(f.seen).toEqual([])
    expect(statuses.map((s) => s.status)).toEqual(['closed'])
  })

  // Regression (was a bug, now fixed): src/subscribe.ts:98-100 — `#start` checks `#closing` only after a successful store.get; when
  // the read fails after close()/abort, `#failBeforeStart` still runs and announces a second 'closed'
  // (previous 'closed', reason 'error'), so a listener that reacts to closed (reconnect UI, metrics,
  // "subscription failed" alerts) fires twice and reports an error for a subscription the user closed.
  // Fix: `} catch (error) { if (!this.#closing) this.#failBeforeStart(...); return }`.
  it('close() while the store read later fails: still exactly one closed status, reason aborted', async () => {
    let rejectGet!: (error: unknown) => void
    const store: CheckpointStore = { get: () => new Promise((_, reject) => (rejectGet = reject)), put: async () => {}, delete: async () => {} }
    const statuses: StatusChange[] = []
    const sub = subscribe({ url: URL_, fetch: async () => sse(body([])), store, onStatus: (c) => statuses.push(c) })
    await sub.close()
    rejectGet(new Error('disk gone'))
    await sleep(10)
    expect(statuses.map((s) => [s.status, s.reason])).toEqual([['closed', 'aborted']])
  })

  it('close() while the producer waits for room (slow consumer) ends promptly and cancels the body', async () => {
    let cancelled = false
    let n = 0
    const endless = new ReadableStream<Uint8Array>(
      {
        pull(controller) {
          n++
          controller.enqueue(enc.encode(`id: ${n}\ndata: ${n}\n\n`))
        },
        cancel() {
          cancelled = true
        },
      },
      { highWaterMark: 0 },
    )
    const sub = subscribe({ url: URL_, fetch: async () => sse(endless), highWaterMark: 2, heartbeatTimeout: false })
    const iterator = sub[Symbol.asyncIterator]()
    await iterator.next()
    await sleep(20) // the buffer fills and the reader waits for room
    expect(await within(sub.close())).toBeUndefined()
    await vi.waitFor(() => expect(cancelled).toBe(true), { timeout: 500 })
    expect(await iterator.next()).toEqual({ value: undefined, done: true })
  })

  // Regression (was a bug, now fixed): src/wire/attempt.ts:53-78 and 119-128 — the attempt never checks the signal between fetch
  // resolving and reading the body, and a pending `reader.read()` is only ended by the fetch implementation
  // propagating the abort into the body. With a `fetch` whose body does not observe the request's signal
  // (a user-supplied fetch, a polyfill, a service binding returning its own stream) a response that
  // arrives after close() is read forever and its body (socket) is never cancelled. Fix: in readBody,
  // `if (controller.signal.aborted) return interrupted(...)` before the loop and
  // `controller.signal.addEventListener('abort', () => void reader.cancel().catch(() => {}), { once: true })`.
  it('a response that arrives after close() is cancelled, not read', async () => {
    let answer!: (response: Response) => void
    let cancelled = false
    const sub = subscribe({ url: URL_, fetch: () => new Promise<Response>((resolve) => (answer = resolve)), heartbeatTimeout: false })
    await vi.waitFor(() => expect(answer).toBeDefined())
    await sub.close()
    answer(sse(body([], { hold: true, onCancel: () => (cancelled = true) })))
    await vi.waitFor(() => expect(cancelled).toBe(true), { timeout: 300 })
  })

  // Regression (was a bug, now fixed): same root cause as above (src/wire/attempt.ts:125). Liveness (attempt.ts:186) aborts the
  // controller on starvation, but the read only ends if the fetch implementation turns that abort into a
  // body error. With a body that does not, the subscription stays 'open' forever with no timer and no
  // new connection: heartbeat detection — the promise for a silent server — silently does nothing.
  it('heartbeat starvation recovers even when the body does not observe the abort signal', async () => {
    const f = scripted([() => sse(body(['id: 1\ndata: a\n\n'], { hold: true })), () => sse(body(['id: 2\ndata: b\n\n']))])
    const sub = subscribe({ url: URL_, fetch: f.fetch, heartbeatTimeout: 50, backoff: { baseDelay: 0 }, mode: 'replay' })
    const seen: number[] = []
    const run = (async () => {
      for await (const event of sub) seen.push(event.sequence)
    })()
    const outcome = await within(run, 800)
    await sub.close()
    expect(outcome).not.toBe(STUCK)
    expect(seen).toEqual([1, 2])
  })

  // Regression (was a bug before the size refactor too, now fixed): src/wire/attempt.ts `readBounded` —
  // the same root cause on the error path. The first KiB of a non-200 body is read for the HttpError's
  // message, and that read only ended when the body observed the abort. With a body that does not, a
  // server that answers 503 and then stalls the body held the attempt forever: starvation aborted the
  // controller, but no outcome ever reached the machine (no reconnect, no timer, status 'connecting').
  it('heartbeat starvation while an error body is read recovers even when the body does not observe the abort signal', async () => {
    const f = scripted([() => new Response(body(['Service Unavailable'], { hold: true }), { status: 503 }), () => sse(body(['id: 1\ndata: a\n\n']))])
    const sub = subscribe({ url: URL_, fetch: f.fetch, heartbeatTimeout: 50, backoff: { baseDelay: 0 }, mode: 'replay' })
    const seen: number[] = []
    const run = (async () => {
      for await (const event of sub) seen.push(event.sequence)
    })()
    const outcome = await within(run, 800)
    await sub.close()
    expect(outcome).not.toBe(STUCK)
    expect(seen).toEqual([1])
  })

  it('an error body still being read when close() comes is cancelled', async () => {
    let cancelled = false
    let fetched = false
    const fetchFn = async () => ((fetched = true), new Response(body(['Service Unavailable'], { hold: true, onCancel: () => (cancelled = true) }), { status: 503 }))
    const sub = subscribe({ url: URL_, fetch: fetchFn, heartbeatTimeout: false })
    await vi.waitFor(() => expect(fetched).toBe(true))
    await sub.close()
    await vi.waitFor(() => expect(cancelled).toBe(true), { timeout: 300 })
  })

  // Regression (was a bug, now fixed): src/delivery/channel.ts:351-354 — the channel has one `#waiter` slot, and `#next`
  // (then src/subscribe.ts:186, now `Consumer#next`) calls `pull()` for every next() made while the buffer is empty. A second
  // next() before the first settled overwrites the first waiter: that promise never settles (not even on
  // close()), and the first event goes to the *second* call. The async-iterator protocol allows queued
  // next() calls (async generators queue them; helpers that prefetch do this). Fix: queue waiters in the
  // channel (an array; `push`/`end` settle them in order), or chain each next() on the previous pending one
  // in ResumableSubscription.
  it('next() called twice without waiting: both settle, in order', async () => {
    const sub = subscribe({ url: URL_, fetch: async () => sse(body(['id: 1\ndata: a\n\n', 'id: 2\ndata: b\n\n'], { hold: true })), heartbeatTimeout: false })
    const iterator = sub[Symbol.asyncIterator]()
    const first = iterator.next()
    const second = iterator.next()
    const both = await within(Promise.all([first, second]), 500)
    await sub.close()
    expect(both).not.toBe(STUCK)
    expect((both as IteratorResult<SSEEvent>[]).map((r) => r.value?.sequence)).toEqual([1, 2])
  })

  it('after a fatal error, or after close(), next() is a plain end', async () => {
    const sub = subscribe({ url: URL_, fetch: async () => new Response('nope', { status: 404 }), heartbeatTimeout: false })
    const it2 = sub[Symbol.asyncIterator]()
    await expect(it2.next()).rejects.toMatchObject({ status: 404 })
    expect(await it2.next()).toEqual({ value: undefined, done: true })
    await sub.close()
    expect(await it2.next()).toEqual({ value: undefined, done: true })
  })
})
