/**
 * The resume position is never lost, poisoned or shared by mistake (issue 9): positions that arrive
 * without an event, cursors the server chooses, whose checkpoint it is, stores that misbehave.
 * Real sockets: the project's test server for SSE, a raw node:http server where header bytes matter.
 */
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { describe, expect, it, onTestFinished } from 'vitest'
import {
  type Checkpoint,
  type CheckpointStore,
  ConfigError,
  MemoryStore,
  StoreError,
  type SSEEvent,
  subscribe,
} from '../../src/index.js'
import { consume, fastTimers } from '../support/consume.js'
import { useFeedServer } from '../support/feed-server.js'

const { feed, log } = useFeedServer('pos')

/** A raw node:http SSE server: `answer(n, rawLastEventIdBytes)` writes connection n's body, then ends it. */
async function rawServer(answer: (n: number, lastEventId: Buffer | undefined) => string) {
  const seen: Array<Buffer | undefined> = []
  const server = http.createServer((req, res) => {
    // rawHeaders are decoded as latin1 by Node's parser: back to the exact bytes on the wire.
    const at = req.rawHeaders.findIndex((name, i) => i % 2 === 0 && name.toLowerCase() === 'last-event-id')
    const bytes = at === -1 ? undefined : Buffer.from(req.rawHeaders[at + 1] as string, 'latin1')
    seen.push(bytes)
    res.writeHead(200, { 'content-type': 'text/event-stream' })
    res.end(answer(seen.length, bytes))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  onTestFinished(() => new Promise<void>((resolve) => server.close(() => resolve())))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, seen }
}

describe('positions without events (standard SSE)', () => {
  it('an id-only block moves the resume position: the reconnect sends it, the checkpoint reaches it once the event before is finished', async () => {
    // Connection 1: `id: 1 / data: a`, then `id: 2` alone, then an id-less `b`, then the socket drops.
    const { sid, url } = feed({ total: 5, plan: [{ garbage: 'id: 1\ndata: a\n\nid: 2\n\ndata: b\n\n', events: 0, then: 'drop' }] })
    const store = new MemoryStore()
    const r = await consume({ url, store, key: 'k', commitInterval: 0, runtime: fastTimers().runtime }, (_event, all) => all.length === 5)
    expect(r.error).toBeUndefined()
    expect(r.data.slice(0, 2)).toEqual(['a', 'b'])
    expect(r.events.slice(2).map((e) => e.id)).toEqual(['3', '4', '5'])
    expect(log(sid).map((record) => record.headers['last-event-id'])).toEqual([undefined, '2'])
    // b (no id) carries the last event ID buffer: 2, not 1.
    expect([r.events[1]?.cursor, r.events[1]?.sequence]).toEqual(['2', 2])
    await r.sub.close()
    expect(await store.get('k')).toMatchObject({ sequence: 4, cursor: '4' })
  })

  it('the checkpoint moves to an id-only position only after the event before it is finished', async () => {
    const { url } = feed({ total: 3, plan: [{ garbage: 'id: 1\ndata: a\n\nid: 2\n\n', events: 0, then: 'hold' }] })
    const sub = subscribe({ url, commitInterval: 0, heartbeatTimeout: false })
    onTestFinished(() => sub.close())
    const iterator = sub[Symbol.asyncIterator]()
    const a = await iterator.next()
    expect(a.value?.data).toBe('a')
    expect(sub.checkpoint).toBeUndefined() // a is held, not finished
    // Finishing a (asking for the next event) commits a, then the id-only position behind it.
    const next = iterator.next()
    await until(() => sub.checkpoint?.sequence === 2)
    expect(sub.checkpoint).toMatchObject({ sequence: 2, cursor: '2' })
    await sub.close()
    expect(await next).toEqual({ value: undefined, done: true })
  })

  it('close() with commitOnClose commits the held event and the positions right behind it', async () => {
    const { url } = feed({ total: 3, plan: [{ garbage: 'id: 1\ndata: a\n\nid: 2\n\nid: 3\ndata: c\n\n', events: 0, then: 'hold' }] })
    const store = new MemoryStore()
    const r = await consume({ url, store, key: 'k', commitOnClose: true }, () => true) // leaves the loop holding a
    await r.sub.close()
    expect(await store.get('k')).toMatchObject({ sequence: 2, cursor: '2' })
  })

  it('an empty id resets the position: no Last-Event-ID on the reconnect, and the checkpoint says so', async () => {
    const { sid, url } = feed({ total: 2, plan: [{ garbage: 'id: 7\ndata: a\n\nid:\ndata: b\n\ndata: c\n\n', events: 0, then: 'drop' }] })
    const store = new MemoryStore()
    const r = await consume({ url, store, key: 'k', commitInterval: 0, runtime: fastTimers().runtime }, (_event, all) => all.length === 5)
    expect(r.error).toBeUndefined()
    // After the reset the server starts from its beginning: 1 and 2 are new events, not replays of 7.
    expect(r.events.map((e) => [e.data.startsWith('{') ? JSON.parse(e.data).n : e.data, e.id, e.cursor])).toEqual([
      ['a', '7', '7'],
      ['b', '', ''],
      ['c', undefined, ''],
      [1, '1', '1'],
      [2, '2', '2'],
    ])
    expect(log(sid).map((record) => record.headers['last-event-id'])).toEqual([undefined, undefined])
    expect(r.sequences).toEqual([7, 8, 8, 9, 10])
  })

  it('a restart from a reset checkpoint sends no header and numbers what comes next above it', async () => {
    const { sid, url } = feed({ total: 2 })
    const store = new MemoryStore()
    await store.put('k', { sequence: 8, cursor: '' })
    const r = await consume({ url, store, key: 'k', mode: 'replay' })
    expect(log(sid)[0]?.headers['last-event-id']).toBeUndefined()
    expect(r.events.map((e) => [e.id, e.sequence])).toEqual([['1', 9], ['2', 10]])
  })
})

describe('line ends around positions', () => {
  /** A body that hands out one chunk per read, then stays open: nothing is delivered because the body ended. */
  const held = (chunks: string[]) => {
    let i = 0
    return new ReadableStream<Uint8Array>(
      {
        pull(controller) {
          const chunk = chunks[i++]
          if (chunk !== undefined) controller.enqueue(new TextEncoder().encode(chunk))
          else return new Promise<void>(() => {})
          return undefined
        },
      },
      { highWaterMark: 0 },
    )
  }
  const sse = (chunks: string[]) => async () => new Response(held(chunks), { headers: { 'content-type': 'text/event-stream' } })

  it('a CRLF split between chunks is one line end; an id-only block across the split is still a position', async () => {
    const chunks = ['id: 1\r', '\ndata: a\r\n\r', '\nid: 2\r', '\n\r', '\ndata: b\r\n\r\n']
    const r = await consume({ url: 'http://127.0.0.1:9/x', fetch: sse(chunks) }, (_event, all) => all.length === 2)
    expect(r.events.map((e) => [e.data, e.id, e.cursor, e.sequence])).toEqual([
      ['a', '1', '1', 1],
      ['b', undefined, '2', 2],
    ])
  })

  it('an event ended by bare CRs is delivered at once, without waiting for more bytes', async () => {
    const r = await consume({ url: 'http://127.0.0.1:9/x', fetch: sse(['id: 1\rdata: a\r\r']) }, () => true)
    expect(r.data).toEqual(['a'])
  })
})

describe('cursors the server chooses', () => {
  it('a replayed numeric id followed by an opaque one: the opaque id is numbered above everything seen, not dropped', async () => {
    const body = 'id: 5\ndata: a\n\nid: 3\ndata: replayed\n\nid: abc\ndata: b\n\n'
    const r = await consume({ url: 'http://127.0.0.1:9/x', mode: 'replay', fetch: async () => new Response(body, { headers: { 'content-type': 'text/event-stream' } }) })
    expect(r.events.map((e) => [e.data, e.sequence])).toEqual([
      ['a', 5],
      ['b', 6],
    ])
    expect(r.notices).toEqual([{ kind: 'duplicate', sequence: 3 }])
  })

  it('Last-Event-ID goes as the UTF-8 bytes of the id, as browsers send it', async () => {
    for (const id of ['ü€-1', 'é-1']) {
      const server = await rawServer((n) => (n === 1 ? `id: ${id}\ndata: a\n\n` : 'data: b\n\n'))
      const r = await consume({ url: server.url, runtime: fastTimers().runtime }, (_event, all) => all.length === 2)
      expect(r.error).toBeUndefined()
      expect(server.seen[1]?.toString('hex')).toBe(Buffer.from(id, 'utf8').toString('hex'))
    }
    expect(Buffer.from('é-1', 'utf8').toString('hex')).toBe('c3a92d31')
  })

  it('an id longer than 4096 UTF-8 bytes is delivered but never becomes a position', async () => {
    const long = 'x'.repeat(4097)
    const fits = '€'.repeat(1365) // 4095 bytes
    const server = await rawServer((n) => (n === 1 ? `id: ${fits}\ndata: a\n\nid: ${long}\ndata: b\n\nid: ${long}\n\n` : 'data: c\n\n'))
    const store = new MemoryStore()
    const r = await consume({ url: server.url, store, key: 'k', commitInterval: 0, runtime: fastTimers().runtime }, (_event, all) => all.length === 3)
    expect(r.error).toBeUndefined()
    expect(r.data).toEqual(['a', 'b', 'c'])
    expect(r.events[1]).toMatchObject({ id: long, cursor: fits })
    expect(server.seen[1]?.toString('utf8')).toBe(fits)
    await r.sub.close()
    expect(await store.get('k')).toMatchObject({ cursor: fits })
  })

  it('a stored checkpoint whose cursor cannot be sent is a corrupt StoreError naming the fix; no request is sent', async () => {
    let requests = 0
    const store = new MemoryStore()
    await store.put('k', { sequence: 1, cursor: 'y'.repeat(5000) })
    const r = await consume({ url: 'http://127.0.0.1:9/x', store, key: 'k', fetch: async () => (requests++, new Response()) })
    expect(r.error).toBeInstanceOf(StoreError)
    expect(r.error).toMatchObject({ reason: 'corrupt' })
    expect((r.error as Error).message).toMatch(/delete/)
    expect((r.error as Error).message).toMatch(/clear\(\)/)
    expect(requests).toBe(0)
  })

  it('`from` with a cursor that cannot be sent is a ConfigError', () => {
    expect(() => subscribe({ url: 'http://127.0.0.1:9/x', from: { sequence: 1, cursor: 'z'.repeat(4097) } })).toThrow(ConfigError)
  })
})

describe('stores that misbehave', () => {
  const returning = (value: unknown): CheckpointStore => ({
    get: async () => value as Checkpoint,
    put: async () => {},
    delete: async () => {},
  })
  for (const [name, value] of [
    ['wrong types', { sequence: 'abc', cursor: 42 }],
    ['a JSON string', JSON.stringify({ sequence: 1, cursor: '1' })],
    ['a negative sequence', { sequence: -1, cursor: '' }],
    ['meta that is not strings', { sequence: 1, cursor: '1', meta: { a: 1 } }],
  ] as const) {
    it(`get() returning ${name} is a corrupt StoreError and no request is sent`, async () => {
      let requests = 0
      const r = await consume({ url: 'http://127.0.0.1:9/x', store: returning(value), key: 'k', fetch: async () => (requests++, new Response()) })
      expect(r.error).toBeInstanceOf(StoreError)
      expect(r.error).toMatchObject({ reason: 'corrupt' })
      expect(requests).toBe(0)
    })
  }
  it('get() returning null is "no checkpoint"', async () => {
    const { url } = feed({ total: 1 })
    const r = await consume({ url, store: returning(null), key: 'k', mode: 'replay' })
    expect(r.error).toBeUndefined()
    expect(r.sequences).toEqual([1])
  })
})

describe('whose checkpoint is it: the identity rule', () => {
  const persistent = (): CheckpointStore & { persistent: true } => Object.assign(new MemoryStore(), { persistent: true as const })
  const url = 'http://127.0.0.1:9/feed'
  it('a persistent store with an authenticated request needs `key` or `fingerprint`', () => {
    const cases = [
      { headers: { Authorization: 'Bearer t' } },
      { headers: [['cookie', 'session=1']] as [string, string][] },
      { headers: () => ({}) },
      { refreshAuth: () => {} },
    ]
    for (const options of cases) {
      const attempt = () => subscribe({ url, store: persistent(), ...options })
      expect(attempt).toThrow(ConfigError)
      expect(attempt).toThrow(/fingerprint/)
      expect(attempt).toThrow(/'public'/)
      const ok = [subscribe({ url, store: persistent(), fingerprint: 'user-1', ...options }), subscribe({ url, store: persistent(), key: 'mine', ...options })]
      for (const sub of ok) void sub.close()
    }
  })
  it('an anonymous request, or a store that does not persist, needs neither (outside a browser)', async () => {
    const subs = [
      subscribe({ url, store: persistent(), headers: { accept: 'text/event-stream' } }),
      subscribe({ url, store: persistent() }),
      subscribe({ url, store: new MemoryStore(), headers: { Authorization: 'Bearer t' } }),
    ]
    for (const sub of subs) await sub.close()
  })
  it('two users on one persistent store never share a checkpoint once each gives a fingerprint', async () => {
    const store = persistent()
    const keyOf = (user: string) => subscribe({ url, store, fingerprint: user, headers: { Authorization: `Bearer ${user}` }, signal: AbortSignal.abort() }).key
    expect(keyOf('a')).not.toBe(keyOf('b'))
  })
})

/** Waits (bounded) for a condition the subscription reaches by itself. */
async function until(condition: () => boolean, ms = 2000): Promise<void> {
  const deadline = Date.now() + ms
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not reached')
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

export type { SSEEvent }
