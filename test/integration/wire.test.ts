/**
 * The wire layer under a scripted network: where chunks split, odd bytes, bodies that end or stall,
 * and backpressure from a slow consumer to the reader.
 * Split from adversarial.test.ts. A `// Regression` comment marks a case that reproduced a real bug
 * when it was written; the comment keeps the root cause it had.
 */
import { describe, expect, it } from 'vitest'
import { EventTooLargeError, type StatusChange, subscribe } from '../../src/index.js'
import { consume, fastTimers } from '../support/consume.js'
import { useFeedServer } from '../support/feed-server.js'
import { body, enc, scripted, sleep, sse } from '../support/scripted.js'

const { feed } = useFeedServer('wire')
const URL_ = 'http://127.0.0.1:9/wire'

describe('wire: what the network does to bytes', () => {
  it('a multi-byte character split across chunks (one byte per chunk) arrives intact', async () => {
    const bytes = enc.encode('id: 1\ndata: grüße 🌍 日本\n\n')
    const chunks = Array.from(bytes, (b) => Uint8Array.of(b))
    const r = await consume({ url: URL_, fetch: async () => sse(body(chunks)), mode: 'replay' })
    expect(r.error).toBeUndefined()
    expect(r.data).toEqual(['grüße 🌍 日本'])
  })

  it('a \\r\\n split between \\r and \\n is one line end, not two (no premature dispatch)', async () => {
    const chunks = ['id: 1\r', '\ndata: a\r', '\ndata: b\r\n\r', '\nid: 2\r\ndata: c\r\n\r\n']
    const r = await consume({ url: URL_, fetch: async () => sse(body(chunks)), mode: 'replay' })
    expect(r.events.map((e) => [e.id, e.data])).toEqual([['1', 'a\nb'], ['2', 'c']])
  })

  // Regression (was a bug, now fixed): src/wire/attempt.ts:129-131 — at the end of the body the parser is fed only `decoder.decode()`;
  // eventsource-parser holds a trailing '\r' back (it may be the first half of '\r\n'), so a stream using
  // bare-CR line endings (legal SSE) whose last chunk ends in the event's blank line never dispatches
  // that event. In replay mode the subscription then ended cleanly without it: the event was lost.
  // Fix then: remember whether the last decoded text ended in '\r' and, at EOF, `parser.feed('\n')`.
  // Now: eventsource-parser 4.x parses a line ended by a trailing '\r' at once (and swallows a '\n'
  // starting the next chunk), so the workaround is gone; this test keeps the behaviour.
  it('the last event of a stream with bare-CR line endings is delivered when the body ends', async () => {
    const r = await consume({ url: URL_, fetch: async () => sse(body(['id: 1\rdata: a\r\rid: 2\rdata: b\r\r'])), mode: 'replay' })
    expect(r.sequences).toEqual([1, 2])
  })

  it('a byte-order mark split across chunks does not corrupt the first field', async () => {
    const r = await consume({ url: URL_, fetch: async () => sse(body([Uint8Array.of(0xef), Uint8Array.of(0xbb, 0xbf), 'id: 1\nevent: first\ndata: a\n\n'])), mode: 'replay' })
    expect(r.events.map((e) => [e.id, e.type, e.data])).toEqual([['1', 'first', 'a']])
  })

  it('retry: garbage (words, negatives, exponents) never changes the backoff', async () => {
    const timers = fastTimers()
    const f = scripted([() => sse(body(['retry: soon\nretry: -5\nretry: 1e3\nretry:\nid: 1\ndata: a\n\n'])), () => sse(body(['id: 2\ndata: b\n\n'], { hold: true }))])
    const r = await consume({ url: URL_, fetch: f.fetch, runtime: { ...timers.runtime, random: () => 0.5 } }, (_, all) => all.length === 2)
    expect(r.sequences).toEqual([1, 2])
    expect(r.statuses.filter((s) => s.status === 'backoff').map((s) => s.delay)).toEqual([125])
  })

  it('a comments-only stream ends a replay cleanly, and in live mode counts as a failed attempt', async () => {
    const replay = await consume({ url: URL_, fetch: async () => sse(body([': hello\n\n', ': still here\n\n'])), mode: 'replay' })
    expect(replay.error).toBeUndefined()
    expect(replay.events).toEqual([])
    const live = await consume({ url: URL_, fetch: async () => sse(body([': hb\n\n'])), maxRetries: 2, runtime: fastTimers().runtime })
    expect(live.error).toMatchObject({ code: 'retries-exhausted' })
  })

  it('an event whose data and id are exactly maxEventSize is accepted when it arrives in one chunk', async () => {
    const r = await consume({ url: URL_, fetch: async () => sse(body([`id: 1\ndata: ${'x'.repeat(100)}\n\n`])), maxEventSize: 101, mode: 'replay' })
    expect(r.error).toBeUndefined()
    expect(r.events[0]?.data).toHaveLength(100)
  })

  // Regression (was a bug, now fixed): src/wire/attempt.ts:116 — `maxBufferSize: maxEventSize` bounds the parser's *buffer*, which
  // holds the incomplete line including its `data: ` prefix, while attempt.ts:102 bounds the event's
  // data. An event of exactly maxEventSize characters is accepted whole but rejected when the network
  // splits it a few characters before its line end (buffer = 6 + data > limit). Whether an event is
  // accepted must not depend on TCP segmentation. Fix: give the parser slack for one field prefix and a
  // held CR — `maxBufferSize: maxEventSize + 8` — and keep the exact check on `frame.data.length`.
  it('whether an event at the size limit is accepted does not depend on where the network splits it', async () => {
    const chunks = [`id: 1\ndata: ${'x'.repeat(98)}`, 'xx\n\n']
    const r = await consume({ url: URL_, fetch: async () => sse(body(chunks)), maxEventSize: 101, mode: 'replay' })
    expect(r.error).toBeUndefined()
    expect(r.events[0]?.data).toHaveLength(100)
  })

  // Regression (was a bug, now fixed; code or docs): src/types.ts:124 and the README promise "Largest event accepted, bytes of its
  // wire form", but src/wire/attempt.ts:102 and the parser's maxBufferSize count UTF-16 code units of
  // the data, so 60 'é' (120 bytes) pass a 100-byte limit and CJK text passes at a third of the size.
  // Fix: either say "characters of its data" in types.ts/README, or count bytes (the chunk's byteLength
  // for the buffered part; `TextEncoder().encode(frame.data).length` only when data.length > limit / 3).
  // Resolved by documenting the count: maxEventSize is characters (UTF-16 code units) of the data.
  it('maxEventSize counts characters of the data (and id and type), as documented', async () => {
    const fits = await consume({ url: URL_, fetch: async () => sse(body([`id: 1\ndata: ${'é'.repeat(100)}\n\n`])), maxEventSize: 101, mode: 'replay' })
    expect(fits.error).toBeUndefined()
    const over = await consume({ url: URL_, fetch: async () => sse(body([`id: 1\ndata: ${'é'.repeat(101)}\n\n`])), maxEventSize: 101, mode: 'replay' })
    expect(over.error).toBeInstanceOf(EventTooLargeError)
  })

  it('a huge error body is read only up to its first 4 KiB, then the retry proceeds', async () => {
    let pulled = 0
    let cancelled = false
    const endless = new ReadableStream<Uint8Array>(
      {
        pull(controller) {
          pulled++
          controller.enqueue(enc.encode('e'.repeat(1000)))
        },
        cancel() {
          cancelled = true
        },
      },
      { highWaterMark: 0 },
    )
    const f = scripted([() => new Response(endless, { status: 503, headers: { 'retry-after': '0' } }), () => sse(body(['id: 1\ndata: a\n\n']))])
    const r = await consume({ url: URL_, fetch: f.fetch, mode: 'replay', runtime: fastTimers().runtime })
    expect(r.error).toBeUndefined()
    expect(r.sequences).toEqual([1])
    expect(cancelled).toBe(true)
    expect(pulled).toBeLessThanOrEqual(6)
    expect(r.statuses.find((s) => s.status === 'backoff')).toMatchObject({ reason: 'http', delay: 0 })
  })

  // Regression (was a bug, now fixed): src/wire/attempt.ts:74 — a 200 event stream whose Response has no body (`body === null`, e.g.
  // `new Response(null)` from a service binding or a HEAD-like handler) is reported as `ended: eof`
  // *before* `onOpen`, so in replay mode it is a failure that backs off and retries (here until
  // retries-exhausted), while the same response with an empty body ends the replay cleanly. Fix: treat it
  // like an empty body — move the null check after `onOpen()` and return
  // `{ type: options.mode === 'replay' ? 'finished' : 'ended', ... }` via the same `session.ended?.()` logic.
  it('a 200 event stream with no body at all ends a replay like an empty body does', async () => {
    const empty = await consume({ url: URL_, fetch: async () => sse(body([])), mode: 'replay', maxRetries: 1, runtime: fastTimers().runtime })
    expect(empty.error).toBeUndefined()
    const none = await consume({ url: URL_, fetch: async () => sse(null), mode: 'replay', maxRetries: 1, runtime: fastTimers().runtime })
    expect(none.error).toBeUndefined()
  })
})

describe('backpressure', () => {
  it('a consumer that stops pulling stops the reading: buffered events stay within highWaterMark + one chunk', async () => {
    let pulls = 0
    let n = 0
    const perChunk = 3
    const endless = new ReadableStream<Uint8Array>(
      {
        pull(controller) {
          pulls++
          let text = ''
          for (let i = 0; i < perChunk; i++) text += `id: ${++n}\ndata: ${n}\n\n`
          controller.enqueue(enc.encode(text))
        },
      },
      { highWaterMark: 0 },
    )
    const sub = subscribe({ url: URL_, fetch: async () => sse(endless), highWaterMark: 10, heartbeatTimeout: false })
    const iterator = sub[Symbol.asyncIterator]()
    expect((await iterator.next()).value?.sequence).toBe(1)
    await sleep(50)
    // 1 delivered + at most 10 buffered + one chunk's worth: 5 chunks. Unbounded reading would be thousands.
    expect(n).toBeLessThanOrEqual(1 + 10 + perChunk + perChunk)
    expect(pulls).toBeLessThanOrEqual(6)
    // and it resumes in order once the consumer pulls again
    const next: number[] = []
    for (let i = 0; i < 20; i++) next.push((await iterator.next()).value!.sequence)
    expect(next).toEqual(Array.from({ length: 20 }, (_, i) => i + 2))
    await sub.close()
  })

  // Regression (was a bug, now fixed): src/wire/attempt.ts:139 with Liveness (attempt.ts:157-191) — while the reader waits for room
  // (`await options.waitForRoom()`) nothing touches the liveness clock, so a consumer slower than
  // heartbeatTimeout makes a healthy, talking server look starved: the connection is aborted and
  // re-established (status backoff/'starved', a new request) on every slow stretch. Backpressure is our
  // choice, not the server's silence. Fix: pause liveness while waiting —
  //   if (options.isFull()) { liveness.stop(); await options.waitForRoom(); liveness.restart() }
  // (restart = touch() and re-arm the timer).
  it('a slow consumer (slower than heartbeatTimeout) is not mistaken for a silent server', async () => {
    let n = 0
    const talking = () =>
      new ReadableStream<Uint8Array>(
        {
          pull(controller) {
            n++
            controller.enqueue(enc.encode(`id: ${n}\ndata: ${n}\n\n`))
          },
        },
        { highWaterMark: 0 },
      )
    const f = scripted([() => sse(talking())])
    const statuses: StatusChange[] = []
    const sub = subscribe({ url: URL_, fetch: f.fetch, highWaterMark: 2, heartbeatTimeout: 40, backoff: { baseDelay: 0 }, onStatus: (c) => statuses.push(c) })
    let seen = 0
    for await (const _ of sub) {
      if (++seen === 1) await sleep(150) // one slow event
      if (seen === 6) break
    }
    expect(statuses.filter((s) => s.reason === 'starved')).toEqual([])
    expect(f.seen).toHaveLength(1)
  })
})

describe('the test server agrees (real sockets)', () => {
  it('a slow consumer behind a real socket still receives every event once, in order', async () => {
    const { url } = feed({ total: 40, interval: 1 })
    const r = await consume({ url, mode: 'replay', highWaterMark: 2 }, async (event) => {
      if (event.sequence % 10 === 0) await sleep(20)
      return false
    })
    expect(r.error).toBeUndefined()
    expect(r.sequences).toEqual(Array.from({ length: 40 }, (_, i) => i + 1))
  })
})
