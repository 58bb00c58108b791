import net from 'node:net'
import { DurableStreamTestServer } from '@durable-streams/server'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Checkpoint } from '../../src/checkpoint/contract.js'
import type { DialectSink } from '../../src/dialects/dialect.js'
import { durableStreams, StreamGoneError } from '../../src/dialects/durable-streams.js'
import { HttpError, isResumableSSEError, MemoryStore, type Notice, type StatusChange, type SubscribeOptions, subscribe } from '../../src/index.js'
import { consume as consumeWith, fastTimers, stepping } from '../support/consume.js'

// ---------------------------------------------------------------------------------------------------
// The real peer: @durable-streams/server, in memory, behind a TCP proxy that can cut connections
// mid-stream (the server's own `dropConnection` fault only drops a request before it is answered).

let server: DurableStreamTestServer
let origin: string
let proxy: Proxy
let streams = 0

beforeAll(async () => {
  server = new DurableStreamTestServer({ host: '127.0.0.1', port: 0 })
  origin = await server.start()
  proxy = await startProxy(Number(new URL(origin).port))
})
afterAll(async () => {
  await proxy.close()
  await server.stop()
})

interface Proxy {
  url: string
  /** `METHOD path?query` of every request that went through, in order. */
  requests: string[]
  /** Destroys every connection now open, as a network failure would. */
  cut(): void
  close(): Promise<void>
}

async function startProxy(upstreamPort: number): Promise<Proxy> {
  const sockets = new Set<net.Socket>()
  const requests: string[] = []
  const track = (socket: net.Socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => {})
  }
  const listener = net.createServer((client) => {
    const upstream = net.connect(upstreamPort, '127.0.0.1')
    track(client)
    track(upstream)
    client.on('data', (chunk: Buffer) => {
      for (const match of chunk.toString('latin1').matchAll(/^(GET|POST|PUT|DELETE|HEAD) (\S+) HTTP\/1\.1\r$/gm)) requests.push(`${match[1]} ${match[2]}`)
    })
    client.pipe(upstream)
    upstream.pipe(client)
    client.on('close', () => upstream.destroy())
    upstream.on('close', () => client.destroy())
  })
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve))
  const { port } = listener.address() as net.AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    cut() {
      for (const socket of sockets) socket.destroy()
    },
    close() {
      for (const socket of sockets) socket.destroy()
      return new Promise((resolve) => listener.close(() => resolve()))
    },
  }
}

/** A new stream on the real server; `append` goes straight to it (not through the proxy). */
async function createStream(contentType = 'text/plain') {
  const path = `/streams/s${++streams}`
  const created = await fetch(origin + path, { method: 'PUT', headers: { 'content-type': contentType } })
  expect(created.status).toBe(201)
  const append = async (body: string | Uint8Array<ArrayBuffer>, close = false) => {
    const response = await fetch(origin + path, { method: 'POST', headers: { 'content-type': contentType, ...(close && { 'Stream-Closed': 'true' }) }, body })
    expect(response.status).toBe(204)
    return response.headers.get('stream-next-offset') as string
  }
  const inject = async (fault: Record<string, unknown>) => {
    const response = await fetch(`${origin}/_test/inject-error`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ path, ...fault }) })
    expect(response.ok).toBe(true)
  }
  return { path, url: proxy.url + path, append, inject, reads: () => proxy.requests.filter((line) => line.startsWith(`GET ${path}?`)).map((line) => new URL(line.slice(4), origin).searchParams) }
}

// ---------------------------------------------------------------------------------------------------

/** Durable Streams by default; backoff delays only among the recorded timers (no committer spacing). */
const consume = (options: SubscribeOptions, stop?: Parameters<typeof consumeWith>[1]) => consumeWith({ commitInterval: 0, dialect: durableStreams(), ...options }, stop)

describe('durable streams against @durable-streams/server', () => {
  it('reads the history, then live appends, each payload once as a `data` event', async () => {
    const stream = await createStream()
    await stream.append('a')
    await stream.append('b\nc') // a multi-line payload comes back whole
    const { data, sequences, events, error } = await consume({ url: stream.url }, async (_event, all) => {
      if (all.length === 2) await stream.append('d')
      return all.length === 3
    })

    expect(error).toBeUndefined()
    expect(data).toEqual(['a', 'b\nc', 'd'])
    expect(sequences).toEqual([1, 2, 3])
    expect(events.every((event) => event.type === 'data' && event.id === undefined)).toBe(true)
    const first = stream.reads()[0]
    expect([first?.get('offset'), first?.get('live')]).toEqual(['-1', 'sse'])
  })

  it('a connection cut mid-stream, then a dropped reconnect, resumes from the last offset: no loss, no duplicates', async () => {
    const stream = await createStream()
    const timers = fastTimers()
    for (const payload of ['1', '2', '3', '4']) await stream.append(payload)
    const afterFive = await stream.append('5')
    const { data, sequences, error, sub } = await consume({ url: stream.url, runtime: timers.runtime }, async (event, all) => {
      if (all.length === 3) {
        // Events 4 and 5 are already received (buffered): the reconnect must not ask for them again.
        await stream.inject({ method: 'GET', dropConnection: true, count: 1 })
        proxy.cut()
        await stream.append('6')
        await stream.append('7')
      }
      return event.data === '7'
    })

    expect(error).toBeUndefined()
    expect(data).toEqual(['1', '2', '3', '4', '5', '6', '7'])
    expect(sequences).toEqual([1, 2, 3, 4, 5, 6, 7])
    expect(sub.reconnects).toBeGreaterThanOrEqual(1)
    const reads = stream.reads()
    expect(reads).toHaveLength(3) // the first, the dropped one, the one that worked
    expect(reads.map((read) => read.get('offset'))).toEqual(['-1', afterFive, afterFive])
    expect(reads[1]?.get('cursor')).toBeTruthy()
  })

  it('a new subscription from the same store, after stopping mid-batch, gets exactly the rest of the batch', async () => {
    const stream = await createStream()
    const store = new MemoryStore()
    const options = { url: stream.url, store }
    for (const payload of ['a', 'b', 'c', 'd', 'e']) await stream.append(payload) // one batch: a..e

    // Finish a, b, c (c is committed when d is pulled), stop holding d.
    const first = await consume(options, (_event, all) => all.length === 4)
    await first.sub.close()
    expect(first.sub.checkpoint).toMatchObject({ sequence: 3, cursor: '', meta: { skip: '3' } })

    const second = await consume({ ...options, commitOnClose: true }, (_event, all) => all.length === 2)
    await second.sub.close()
    expect(second.data).toEqual(['d', 'e'])
    expect(second.sequences).toEqual([4, 5])
    // e closed the batch: its checkpoint is a real offset, no skip.
    expect(second.sub.checkpoint?.meta?.skip).toBeUndefined()
    const afterE = second.sub.checkpoint?.cursor as string
    expect(afterE).toMatch(/^\d+_\d+$/)

    // A second batch, begun at a concrete offset with a stream cursor.
    for (const payload of ['f', 'g', 'h']) await stream.append(payload)
    const third = await consume(options, (_event, all) => all.length === 2) // finish f, stop holding g
    await third.sub.close()
    expect(third.data).toEqual(['f', 'g'])
    const mid = third.sub.checkpoint as Checkpoint
    expect(mid).toMatchObject({ sequence: 6, cursor: afterE, meta: { skip: '1' } })
    expect(mid.meta?.streamCursor).toBeTruthy()

    const fourth = await consume(options, (_event, all) => all.length === 2)
    await fourth.sub.close()
    expect(fourth.data).toEqual(['g', 'h'])
    expect(fourth.sequences).toEqual([7, 8])
    const resumed = stream.reads().at(-1)
    expect([resumed?.get('offset'), resumed?.get('cursor')]).toEqual([afterE, mid.meta?.streamCursor])
  })

  it('streamClosed ends the subscription cleanly after delivering the last batch; resuming a closed stream ends at once', async () => {
    const stream = await createStream()
    const store = new MemoryStore()
    await stream.append('x')
    const { data, error, statuses, sub } = await consume({ url: stream.url, store }, async (event) => {
      if (event.data === 'x') await stream.append('last', true)
      return false
    })
    await sub.close()

    expect(error).toBeUndefined()
    expect(data).toEqual(['x', 'last'])
    expect(statuses.at(-1)).toMatchObject({ status: 'closed', reason: 'stream-closed' })

    const again = await consume({ url: stream.url, store })
    expect(again.data).toEqual([])
    expect(again.error).toBeUndefined()
    expect(again.statuses.at(-1)).toMatchObject({ status: 'closed', reason: 'stream-closed' })
  })

  it('503 with Retry-After is retried after the delay the server asked for', async () => {
    const stream = await createStream()
    const timers = fastTimers()
    await stream.append('ok')
    await stream.inject({ method: 'GET', status: 503, retryAfter: 2, count: 1 })
    const { data, error } = await consume({ url: stream.url, runtime: timers.runtime }, () => true)

    expect(error).toBeUndefined()
    expect(data).toEqual(['ok'])
    expect(timers.delays.filter((ms) => ms !== 10_000)).toEqual([2000]) // 10 000: the flushTimeout bound at the end
    expect(stream.reads()).toHaveLength(2)
  })

  it('`offset=now` in the URL starts at the tail', async () => {
    const stream = await createStream()
    await stream.append('old')
    let opened!: () => void
    const isOpen = new Promise<void>((resolve) => {
      opened = resolve
    })
    const running = consume({ url: `${stream.url}?offset=now`, onStatus: (change) => change.status === 'open' && opened() }, () => true)
    await isOpen
    await stream.append('new')
    const { data, error } = await running
    expect(error).toBeUndefined()
    expect(data).toEqual(['new'])
    expect(stream.reads()[0]?.get('offset')).toBe('now')
  })

  it('`offset=now`: a first connection that gets only a control frame is a position; data appended while disconnected is not lost', async () => {
    const stream = await createStream()
    await stream.append('old')
    // Connection 1 is cut right after its first control frame; connection 2 waits until "A" is appended.
    let sawControl!: () => void
    const controlSeen = new Promise<void>((resolve) => {
      sawControl = resolve
    })
    let releaseReconnect!: () => void
    const reconnectGate = new Promise<void>((resolve) => {
      releaseReconnect = resolve
    })
    let connections = 0
    const gatedFetch: typeof fetch = async (input, init) => {
      if (++connections === 2) await reconnectGate
      const response = await fetch(input, init)
      if (connections !== 1 || response.body === null) return response
      const watch = new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          controller.enqueue(chunk)
          if (new TextDecoder().decode(chunk).includes('event: control')) sawControl()
        },
      })
      return new Response(response.body.pipeThrough(watch), response)
    }
    let reopened!: () => void
    const secondOpen = new Promise<void>((resolve) => {
      reopened = resolve
    })
    let opens = 0
    const store = new MemoryStore()
    const running = consume(
      { url: `${stream.url}?offset=now`, store, key: 'k', fetch: gatedFetch, runtime: fastTimers().runtime, onStatus: (change) => change.status === 'open' && ++opens === 2 && reopened() },
      (event) => event.data === 'B',
    )
    await controlSeen
    proxy.cut()
    await stream.append('A')
    releaseReconnect()
    await secondOpen
    await stream.append('B')
    const { data, error, sub } = await running

    expect(error).toBeUndefined()
    expect(data).toEqual(['A', 'B'])
    const reads = stream.reads()
    expect(reads[0]?.get('offset')).toBe('now')
    expect(reads[1]?.get('offset')).toMatch(/^\d+_\d+$/) // the control frame's offset, not `now` again
    await sub.close()
    expect((await store.get('k'))?.cursor).toMatch(/^\d+_\d+$/)
  })

  it('`offset=now`, nothing appended: the checkpoint still moves to the first control frame\'s offset', async () => {
    const stream = await createStream()
    const tail = await stream.append('old')
    const store = new MemoryStore()
    const { data, error, statuses } = await consume({ url: `${stream.url}?offset=now`, store, key: 'k', mode: 'replay' })
    expect(error).toBeUndefined()
    expect(data).toEqual([])
    expect(statuses.at(-1)).toMatchObject({ status: 'closed', reason: 'up-to-date' })
    expect(await store.get('k')).toMatchObject({ cursor: tail })
  })

  it('mode replay reads up to the tail and finishes', async () => {
    const stream = await createStream()
    for (const payload of ['1', '2']) await stream.append(payload)
    const { data, statuses, error } = await consume({ url: stream.url, mode: 'replay' })
    expect(error).toBeUndefined()
    expect(data).toEqual(['1', '2'])
    expect(statuses.at(-1)).toMatchObject({ status: 'closed', reason: 'up-to-date' })
  })

  it('a binary stream arrives as base64 text that decodes to the bytes appended', async () => {
    const stream = await createStream('application/octet-stream')
    const bytes = new Uint8Array([0, 1, 2, 250, 255, 10, 13])
    await stream.append(bytes)
    const { data } = await consume({ url: stream.url }, () => true)
    expect(Uint8Array.from(atob(data[0] as string), (c) => c.charCodeAt(0))).toEqual(bytes)
  })

  it('a JSON stream: each event is the JSON array the server frames one append in', async () => {
    const stream = await createStream('application/json')
    await stream.append('{"a":1}')
    await stream.append('[{"b":2},{"c":3}]') // one append of two messages: one frame, one event
    const { events } = await consume({ url: stream.url, mode: 'replay' })
    expect(events.map((event) => event.json())).toEqual([[{ a: 1 }], [{ b: 2 }, { c: 3 }]])
  })

  it('404 (no such stream) is fatal at once', async () => {
    const { error } = await consume({ url: `${proxy.url}/streams/missing` })
    expect(error).toBeInstanceOf(HttpError)
    expect((error as HttpError).status).toBe(404)
  })

  it('410 (stream gone) is fatal at once, as a cursor-expired StreamGoneError', async () => {
    const stream = await createStream()
    await stream.append('x')
    // The reference server answers 410 for a deleted stream that a fork still references.
    expect((await fetch(`${origin}${stream.path}-fork`, { method: 'PUT', headers: { 'content-type': 'text/plain', 'Stream-Forked-From': stream.path } })).status).toBe(201)
    expect((await fetch(origin + stream.path, { method: 'DELETE' })).status).toBe(204)
    const { error, sub } = await consume({ url: stream.url })

    expect(error).toBeInstanceOf(StreamGoneError)
    expect(isResumableSSEError(error, 'cursor-expired')).toBe(true)
    expect(((error as StreamGoneError).cause as HttpError).status).toBe(410)
    expect(sub.reconnects).toBe(0)
    expect(stream.reads()).toHaveLength(1)
  })
})

// ---------------------------------------------------------------------------------------------------

describe('durable streams session', () => {
  function recorder() {
    const calls: Array<{ data: string; sequence: number; cursor: string; meta?: Readonly<Record<string, string>> } | string> = []
    const sink: DialectSink = {
      deliver: (_type, data, _id, sequence, cursor, meta) => calls.push(meta ? { data, sequence, cursor, meta } : { data, sequence, cursor }),
      deliverUnpositioned: (_type, data) => calls.push(`unpositioned:${data}`),
      position: (sequence, cursor, meta) => calls.push(meta ? { data: '(position)', sequence, cursor, meta } : { data: '(position)', sequence, cursor }),
      closing: (reconnect) => calls.push(`closing:${reconnect}`),
      fail: (error) => calls.push(`fail:${error.name}`),
    }
    return { calls, sink }
  }
  const data = (text: string) => ({ event: 'data', data: text })
  const control = (body: Record<string, unknown>) => ({ event: 'control', data: JSON.stringify(body) })

  it('holds data frames until their control frame, then numbers every event so each is resumable', () => {
    const { calls, sink } = recorder()
    const session = durableStreams().open({ sequence: 10, cursor: 'O1', meta: { streamCursor: 'c1' } }, 'live')
    session.frame(data('a'), sink)
    session.frame(data('b'), sink)
    expect(calls).toEqual([])
    session.frame(data('c'), sink)
    session.frame(control({ streamNextOffset: 'O2', streamCursor: 'c2' }), sink)
    expect(calls).toEqual([
      { data: 'a', sequence: 11, cursor: 'O1', meta: { skip: '1', streamCursor: 'c1' } },
      { data: 'b', sequence: 12, cursor: 'O1', meta: { skip: '2', streamCursor: 'c1' } },
      { data: 'c', sequence: 13, cursor: 'O2', meta: { streamCursor: 'c2' } },
    ])
  })

  it('resuming mid-batch drops what was delivered, counting dropped frames across a control frame', () => {
    const { calls, sink } = recorder()
    // Stopped after the 3rd frame past O1. The server now happens to split: 2 frames, control, more.
    const session = durableStreams().open({ sequence: 12, cursor: 'O1', meta: { skip: '3' } }, 'live')
    session.frame(data('a'), sink)
    session.frame(data('b'), sink)
    session.frame(control({ streamNextOffset: 'O2', streamCursor: 'c2' }), sink)
    session.frame(data('c'), sink) // dropped: the 3rd, though after O2 it is the 1st
    session.frame(data('d'), sink)
    session.frame(data('e'), sink)
    session.frame(control({ streamNextOffset: 'O3' }), sink)
    expect(calls).toEqual([
      // d is resumable as "from O2, drop 2" (c and d), not "drop 1".
      { data: 'd', sequence: 13, cursor: 'O2', meta: { skip: '2', streamCursor: 'c2' } },
      { data: 'e', sequence: 14, cursor: 'O3' },
    ])
  })

  it('a control frame that moves the offset without new data is a position; one that repeats it, or sits behind frames still to drop, is not', () => {
    const { calls, sink } = recorder()
    // Resumed after the 2nd frame past O1: the server re-sends a, b, then the control frame ending that batch.
    const session = durableStreams().open({ sequence: 12, cursor: 'O1', meta: { skip: '2' } }, 'live')
    session.frame(data('a'), sink)
    session.frame(control({ streamNextOffset: 'O1b' }), sink) // b still to drop: behind what was delivered
    session.frame(data('b'), sink)
    session.frame(control({ streamNextOffset: 'O2', streamCursor: 'c2' }), sink) // the batch's end: where we are
    session.frame(control({ streamNextOffset: 'O2', streamCursor: 'c3', upToDate: true }), sink) // a keep-alive
    session.frame(data('c'), sink)
    session.frame(control({ streamNextOffset: 'O3' }), sink)
    expect(calls).toEqual([
      { data: '(position)', sequence: 13, cursor: 'O2', meta: { streamCursor: 'c2' } },
      { data: 'c', sequence: 14, cursor: 'O3' },
    ])
  })

  it('a fresh start names the first batch by the subscription start, which prepare resolves', () => {
    const { calls, sink } = recorder()
    const dialect = durableStreams()
    const session = dialect.open(undefined, 'live')
    session.frame(data('a'), sink)
    session.frame(data('b'), sink)
    session.frame(control({ streamNextOffset: 'O1', streamCursor: 'c1' }), sink)
    expect(calls[0]).toEqual({ data: 'a', sequence: 1, cursor: '', meta: { skip: '1' } })

    const request = (href: string) => ({ url: new URL(href), method: 'GET', headers: new Headers(), body: undefined })
    const fresh = request('https://ds.example/s')
    dialect.prepare(fresh, { sequence: 1, cursor: '', meta: { skip: '1' } }, 'live')
    expect(fresh.url.search).toBe('?live=sse&offset=-1')
    const own = request('https://ds.example/s?offset=0_5')
    dialect.prepare(own, { sequence: 1, cursor: '', meta: { skip: '1' } }, 'live')
    expect(own.url.searchParams.get('offset')).toBe('0_5')
    const resumed = request('https://ds.example/s?offset=now&cursor=old')
    dialect.prepare(resumed, { sequence: 2, cursor: 'O1', meta: { streamCursor: 'c1' } }, 'live')
    expect([resumed.url.searchParams.get('offset'), resumed.url.searchParams.get('cursor')]).toEqual(['O1', 'c1'])
  })

  it('streamClosed releases the batch, then ends; upToDate ends only replay mode', () => {
    const closed = recorder()
    const live = durableStreams().open(undefined, 'live')
    live.frame(data('a'), closed.sink)
    live.frame(control({ streamNextOffset: 'O1', upToDate: true }), closed.sink)
    live.frame(control({ streamNextOffset: 'O1', streamClosed: true }), closed.sink)
    expect(closed.calls).toEqual([{ data: 'a', sequence: 1, cursor: 'O1' }, 'closing:stream-closed'])

    const replay = recorder()
    const session = durableStreams().open(undefined, 'replay')
    session.frame(control({ streamNextOffset: 'O1', streamCursor: 'c' }), replay.sink)
    session.frame(control({ streamNextOffset: 'O1', streamCursor: 'c', upToDate: true }), replay.sink)
    // The first control frame of a fresh start is a position without an event; the second is the same.
    expect(replay.calls).toEqual([{ data: '(position)', sequence: 1, cursor: 'O1', meta: { streamCursor: 'c' } }, 'closing:up-to-date'])
  })

  it('data frames that never get a control frame are a ProtocolError, not unbounded memory', () => {
    const { calls, sink } = recorder()
    const session = durableStreams().open(undefined, 'live')
    const chunk = 'x'.repeat(1024 * 1024)
    for (let i = 0; i < 70 && calls.length === 0; i++) session.frame(data(chunk), sink)
    expect(calls).toEqual(['fail:ProtocolError'])
  })
  it('a malformed control frame is a ProtocolError; unknown event kinds are ignored', () => {
    for (const bad of ['nope', '[]', '{}', '{"streamNextOffset":5}', '{"streamNextOffset":"O","streamCursor":1}']) {
      const { calls, sink } = recorder()
      durableStreams().open(undefined, 'live').frame({ event: 'control', data: bad }, sink)
      expect(calls).toEqual(['fail:ProtocolError'])
    }
    const { calls, sink } = recorder()
    durableStreams().open(undefined, 'live').frame({ event: 'surprise', data: '{}' }, sink)
    expect(calls).toEqual([])
  })

  it('unfolds base64 payloads when told the encoding; maps 410 to cursor-expired', () => {
    const { calls, sink } = recorder()
    const session = durableStreams().open(undefined, 'live')
    session.accepted?.(new Headers({ 'Stream-SSE-Data-Encoding': 'base64' }))
    session.frame(data('AAEC\n+v8='), sink)
    session.frame(control({ streamNextOffset: 'O1' }), sink)
    expect(calls).toEqual([{ data: 'AAEC+v8=', sequence: 1, cursor: 'O1' }])

    const gone = session.rejected?.(new HttpError(410, 'Stream is gone', undefined))
    expect(gone).toBeInstanceOf(StreamGoneError)
    expect(isResumableSSEError(gone, 'cursor-expired')).toBe(true)
    expect(session.rejected?.(new HttpError(404, '', undefined))).toBeUndefined()
  })
})

describe('durable streams: the server closing a quiet connection', () => {
  it('is a routine reconnect that never spends retries, however often it happens', async () => {
    // Servers close SSE connections about every 60 s. A quiet stream sends only control frames, so no
    // event ever resets the attempt counter: the close itself must not count as a failure.
    let connections = 0
    const quietThenData: typeof fetch = async (input) => {
      connections++
      const offset = new URL(new Request(input).url).searchParams.get('offset')
      const body =
        connections < 6
          ? `event: control\ndata: {"streamNextOffset":"${offset === '-1' ? '0_0' : offset}","streamCursor":"c","upToDate":true}\n\n`
          : 'event: data\ndata: "hello"\n\nevent: control\ndata: {"streamNextOffset":"0_5","streamClosed":true}\n\n'
      return new Response(body, { headers: { 'content-type': 'text/event-stream' } })
    }
    const statuses: StatusChange[] = []
    // The clock moves 2 s per reading: each connection lasted, as the real minute-long ones do (a
    // close right after opening is a failure that backs off: issue 10).
    const runtime = { now: stepping() }
    const sub = subscribe({ url: 'http://127.0.0.1:9/stream', dialect: durableStreams(), fetch: quietThenData, maxRetries: 1, heartbeatTimeout: false, runtime, onStatus: (c) => statuses.push(c) })
    const data: string[] = []
    for await (const event of sub) data.push(event.data)
    expect(data).toEqual(['"hello"'])
    expect(connections).toBe(6)
    expect(statuses.at(-1)).toMatchObject({ status: 'closed', reason: 'stream-closed' })
    expect(statuses.filter((s) => s.status === 'backoff')).toEqual([])
  })
})

describe('durable streams: the stream cursor (CDN collapsing)', () => {
  it('a reconnect echoes the newest streamCursor, a keep-alive\'s too, not the one of the last offset change', async () => {
    // Keep-alives every 30 ms; cursor intervals of 10 ms, so each control frame brings a new cursor.
    const quick = new DurableStreamTestServer({ host: '127.0.0.1', port: 0, longPollTimeout: 30, cursorIntervalSeconds: 0.01 })
    const base = await quick.start()
    try {
      expect((await fetch(`${base}/quiet`, { method: 'PUT', headers: { 'content-type': 'text/plain' } })).status).toBe(201)
      await fetch(`${base}/quiet`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'a' })
      const cursors: string[] = []
      let second!: (url: string) => void
      const reconnected = new Promise<string>((resolve) => {
        second = resolve
      })
      let connections = 0
      // Connection 1 is cut after its fourth control frame (the first ends the batch, three keep-alives).
      const cutAfterKeepAlives: typeof fetch = async (input, init) => {
        if (++connections === 2) second(new Request(input).url)
        const response = await fetch(input, init)
        if (connections !== 1 || response.body === null) return response
        let text = ''
        const cut = new TransformStream<Uint8Array, Uint8Array>({
          transform(chunk, controller) {
            controller.enqueue(chunk)
            text += new TextDecoder().decode(chunk)
            const frames = text.split('\n\n').filter((block) => block.startsWith('event: control'))
            if (frames.length >= 4) {
              cursors.push(...frames.map((block) => JSON.parse(block.slice(block.indexOf('data:') + 5)).streamCursor as string))
              controller.error(new Error('cut'))
            }
          },
        })
        return new Response(response.body.pipeThrough(cut), response)
      }
      const sub = subscribe({ url: `${base}/quiet`, dialect: durableStreams(), fetch: cutAfterKeepAlives, runtime: fastTimers().runtime })
      const reading = (async () => {
        for await (const _event of sub);
      })()
      const url = new URL(await reconnected)
      await sub.close()
      await reading
      expect(new Set(cursors).size).toBeGreaterThan(1) // the keep-alives did renew it
      expect(url.searchParams.get('cursor')).toBe(cursors.at(-1))
    } finally {
      await quick.stop()
    }
  })
})

// ---------------------------------------------------------------------------------------------------

describe("durable streams: onCursorExpired 'restart' against @durable-streams/server", () => {
  /** Deletes the stream while a fork references it: the server answers 410 for it from then on. */
  async function softDelete(path: string) {
    expect((await fetch(`${origin}${path}-fork`, { method: 'PUT', headers: { 'content-type': 'text/plain', 'Stream-Forked-From': path } })).status).toBe(201)
    expect((await fetch(origin + path, { method: 'DELETE' })).status).toBe(204)
  }

  it('a 410 restarts from offset -1 of the recreated stream: notice in order, first new event marked, checkpoint moved', async () => {
    const stream = await createStream()
    for (const payload of ['a', 'b', 'c']) await stream.append(payload)
    const store = new MemoryStore()
    const timers = fastTimers()
    const order: string[] = []
    const notices: Notice[] = []
    let recreated = false
    // When the library sees the 410, the stream is recreated (the fork removed, which removes the
    // deleted stream for good; the path created again) before the library can restart.
    const fetchAndRecreate: typeof fetch = async (input, init) => {
      const response = await fetch(input, init)
      if (response.status === 410 && !recreated) {
        recreated = true
        expect((await fetch(`${origin}${stream.path}-fork`, { method: 'DELETE' })).status).toBe(204)
        expect((await fetch(origin + stream.path, { method: 'PUT', headers: { 'content-type': 'text/plain' } })).status).toBe(201)
        await stream.append('x')
        await stream.append('y')
      }
      return response
    }
    const options = { url: stream.url, store, onCursorExpired: 'restart' as const, fetch: fetchAndRecreate, runtime: timers.runtime }
    const first = await consume(
      {
        ...options,
        onNotice: (notice) => {
          if (notice.kind === 'cursor-expired') {
            order.push('expired')
            notices.push(notice)
          }
        },
      },
      async (event, all) => {
        order.push(event.restarted ? `${event.data}*` : event.data)
        if (event.data === 'c' && !event.restarted) {
          await softDelete(stream.path)
          proxy.cut() // the reconnect meets the 410
        }
        return all.length === 5 // stop holding y: x is the last event finished
      },
    )
    expect(first.error).toBeUndefined()
    expect(order).toEqual(['a', 'b', 'c', 'expired', 'x*', 'y'])
    expect(first.sequences).toEqual([1, 2, 3, 4, 5]) // local numbering goes on across the restart
    expect(notices[0]).toMatchObject({ kind: 'cursor-expired', checkpoint: { sequence: 3 } })
    expect((notices[0] as { error: unknown }).error).toBeInstanceOf(StreamGoneError)
    const reads = stream.reads()
    expect(reads.at(-1)?.get('offset')).toBe('-1')
    expect(reads.at(-1)?.get('cursor')).toBeNull() // the old stream's cursor means nothing to the new one

    // The checkpoint is in the new history: x finished, y still to do. A fresh run resumes from it.
    const checkpoint = await store.get(first.sub.key)
    expect(checkpoint).toMatchObject({ sequence: 4, cursor: '-1', meta: { skip: '1' } })
    await stream.append('z')
    const again = await consume({ url: stream.url, store }, (_event, all) => all.length === 2)
    expect(again.data).toEqual(['y', 'z'])
    expect(again.sequences).toEqual([5, 6])
    expect(again.events.some((event) => event.restarted)).toBe(false)
  })

  it('a stream still gone at offset -1 ends with the StreamGoneError after one restart (no loop)', async () => {
    const stream = await createStream()
    await stream.append('a')
    await softDelete(stream.path)
    const notices: Notice[] = []
    const { error, data } = await consume({ url: stream.url, onCursorExpired: 'restart', from: { sequence: 1, cursor: '0000000000000000_0000000000000001' }, onNotice: (notice) => notices.push(notice) })
    expect(error).toBeInstanceOf(StreamGoneError)
    expect(data).toEqual([])
    expect(notices.map((notice) => notice.kind)).toEqual(['cursor-expired'])
    expect(stream.reads().map((read) => read.get('offset'))).toEqual(['0000000000000000_0000000000000001', '-1'])
  })
})
