import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { aviso, ReplayLimitError } from '../../src/dialects/aviso.js'
import type { AttemptRequest, DialectSink, Frame } from '../../src/dialects/dialect.js'
import { ConfigError, isResumableSSEError, MemoryStore, ProtocolError, type SubscribeOptions, subscribe } from '../../src/index.js'
import { type AvisoServer, startAvisoServer } from '../server/aviso-server.js'
import { consume as consumeWith, fastTimers, stepping } from '../support/consume.js'

let server: AvisoServer
beforeEach(async () => {
  server = await startAvisoServer()
})
afterEach(async () => {
  await server.close()
})

const MARS = { class: 'od', stream: 'oper' }

/** Backoff delays only: the committer's write spacing would show among the recorded timers. */
const consume = (options: SubscribeOptions, stop?: Parameters<typeof consumeWith>[1]) => consumeWith({ commitInterval: 0, ...options }, stop)

const bodies = () => server.requests.map((request) => request.body)

describe('aviso watch', () => {
  it('replays history from a date, then delivers live notifications, as CloudEvents', async () => {
    for (let i = 1; i <= 3; i += 1) server.publish('mars', { ...MARS, step: i }, { n: i })
    server.publish('mars', { class: 'rd', stream: 'oper' }, { other: true }) // filtered out: sequence 4

    const { events, sequences, error } = await consume({ url: server.url, dialect: aviso({ eventType: 'mars', identifier: MARS, fromDate: '2000-01-01T00:00:00Z' }) }, async (_event, all) => {
      if (all.length === 3) {
        await server.waitForStreams(1)
        server.publish('mars', { ...MARS, step: 9 }, { n: 9 })
      }
      return all.length === 4
    })

    expect(error).toBeUndefined()
    expect(sequences).toEqual([1, 2, 3, 5])
    expect(events.map((event) => event.type)).toEqual(['replay', 'replay', 'replay', 'live-notification'])
    expect(events.map((event) => event.cursor)).toEqual(['1', '2', '3', '5'])
    const last = events[3]?.json<{ id: string; data: { identifier: Record<string, unknown>; payload: unknown } }>()
    expect(last?.id).toBe('mars@5')
    expect(last?.data).toEqual({ identifier: { ...MARS, step: 9 }, payload: { n: 9 } })
    expect(server.requests).toHaveLength(1)
    expect(server.requests[0]?.path).toBe('/api/v1/watch')
    expect(server.requests[0]?.body).toEqual({ event_type: 'mars', identifier: MARS, from_date: '2000-01-01T00:00:00Z' })
  })

  it('a live-only watch skips the connection_established greeting and heartbeats', async () => {
    await server.close()
    server = await startAvisoServer({ heartbeatMs: 2 })
    const running = consume({ url: server.url, dialect: aviso({ eventType: 'mars', identifier: {} }) }, (_event, all) => all.length === 2)
    await server.waitForStreams(1)
    await new Promise((resolve) => setTimeout(resolve, 20)) // a few heartbeats go by first
    server.publish('mars', MARS, 'a')
    server.publish('mars', MARS, 'b')
    const { events, error } = await running

    expect(error).toBeUndefined()
    expect(events.map((event) => [event.type, event.sequence])).toEqual([
      ['live-notification', 1],
      ['live-notification', 2],
    ])
    expect(server.requests[0]?.body).toEqual({ event_type: 'mars', identifier: {} })
  })

  it('reconnects at once on max_duration_reached, asking for the next sequence (from_id = last + 1)', async () => {
    const timers = fastTimers()
    for (let i = 1; i <= 2; i += 1) server.publish('mars', MARS, i)
    const { sequences, error, sub } = await consume(
      // A clock that moves 2 s per reading: the connection lasted, as a real max_duration one does
      // (a close right after opening is a failure that backs off: issue 10).
      { url: server.url, dialect: aviso({ eventType: 'mars', identifier: MARS, fromDate: 0 }), runtime: { ...timers.runtime, now: stepping() } },
      async (event, all) => {
        if (event.sequence === 2) {
          await server.waitForStreams(1)
          server.publish('mars', MARS, 3) // live on the first connection
        }
        if (event.sequence === 3) {
          server.closeStreams('max_duration_reached')
          server.publish('mars', MARS, 4) // while we are away: must come back by replay
        }
        return all.length === 4
      },
    )

    expect(error).toBeUndefined()
    expect(sequences).toEqual([1, 2, 3, 4])
    expect(sub.reconnects).toBe(1)
    expect(bodies()).toEqual([
      { event_type: 'mars', identifier: MARS, from_date: '0' },
      // from_date is bootstrap only: never sent once a notification was seen.
      { event_type: 'mars', identifier: MARS, from_id: '4' },
    ])
    // The server chose "now": no backoff was waited.
    expect(timers.delays.filter((ms) => ms !== 10_000)).toEqual([]) // 10 000: the flushTimeout bound at the end
  })

  it('waits the 5 s the reference client waits after server_shutdown, then resumes without duplicates', async () => {
    const timers = fastTimers()
    server.publish('mars', MARS, 1)
    const { sequences, error } = await consume(
      // A clock that moves 2 s per reading: the connection lasted, as a real max_duration one does
      // (a close right after opening is a failure that backs off: issue 10).
      { url: server.url, dialect: aviso({ eventType: 'mars', identifier: MARS, fromDate: 0 }), runtime: { ...timers.runtime, now: stepping() } },
      async (event, all) => {
        if (event.sequence === 1) {
          await server.waitForStreams(1)
          server.closeStreams('server_shutdown')
          server.publish('mars', MARS, 2)
        }
        return all.length === 2
      },
    )

    expect(error).toBeUndefined()
    expect(sequences).toEqual([1, 2])
    expect(timers.delays.filter((ms) => ms !== 10_000)).toEqual([5000]) // 10 000: the flushTimeout bound at the end
    expect(bodies().map((body) => body?.from_id)).toEqual([undefined, '2'])
  })

  it('resumes a fresh subscription from the stored checkpoint by sequence, never by date', async () => {
    const store = new MemoryStore()
    for (let i = 1; i <= 4; i += 1) server.publish('mars', MARS, i)
    const options = { url: server.url, store, dialect: aviso({ eventType: 'mars', identifier: MARS, fromDate: '2000-01-01T00:00:00Z' }) }

    // Finish events 1 and 2 (2 is committed when 3 is asked for), then stop.
    const first = await consume(options, (_event, all) => all.length === 3)
    await first.sub.close()
    expect(first.sub.checkpoint).toMatchObject({ sequence: 2, cursor: '2' })

    server.requests.length = 0
    const second = await consume(options, (_event, all) => all.length === 2)
    expect(second.sequences).toEqual([3, 4])
    expect(bodies()).toEqual([{ event_type: 'mars', identifier: MARS, from_id: '3' }])
  })

  it('sends `fromDate` as the string the server requires (`from_date` is a string field): numbers and Dates too', async () => {
    server.publish('mars', MARS, 1, new Date('2020-01-01T00:00:00Z'))
    for (const fromDate of [0, 1_500_000_000, 1_500_000_000_000, new Date('2010-01-01T00:00:00Z'), '2000-01-01T00:00:00Z']) {
      const { sequences, error } = await consume({ url: server.url, dialect: aviso({ eventType: 'mars', identifier: MARS, fromDate }) }, () => true)
      expect(error).toBeUndefined()
      expect(sequences).toEqual([1])
    }
    expect(bodies().map((body) => body?.from_date)).toEqual(['0', '1500000000', '1500000000000', '2010-01-01T00:00:00.000Z', '2000-01-01T00:00:00Z'])
  })

  it('sends the body as text/plain without Authorization (no CORS preflight), as JSON with it', async () => {
    server.publish('mars', MARS, 1)
    const dialect = aviso({ eventType: 'mars', identifier: MARS, fromDate: 0 })
    await consume({ url: server.url, dialect }, () => true)
    await consume({ url: server.url, dialect, headers: { authorization: 'Bearer t' } }, () => true)

    expect(server.requests.map((request) => [request.contentType, request.authorization])).toEqual([
      ['text/plain;charset=UTF-8', undefined],
      ['application/json', 'Bearer t'],
    ])
    // Same bytes either way: the server parses the body whatever it is labelled.
    expect(server.requests[0]?.raw).toBe(server.requests[1]?.raw)
  })

  it('keeps a base URL path prefix and its query', async () => {
    const request: AttemptRequest = { url: new URL('https://aviso.example/prefix/?tenant=x'), method: 'POST', headers: new Headers(), body: undefined }
    aviso({ eventType: 'mars', identifier: {} }).prepare(request, undefined, 'live')
    expect(request.url.href).toBe('https://aviso.example/prefix/api/v1/watch?tenant=x')
  })
})

describe('aviso replay', () => {
  it('replay-only reads history through /api/v1/replay and finishes cleanly after end_of_stream', async () => {
    for (let i = 1; i <= 3; i += 1) server.publish('mars', MARS, i)
    const { sequences, error, statuses } = await consume({ url: server.url, mode: 'replay', dialect: aviso({ eventType: 'mars', identifier: MARS, fromDate: 0 }) })

    expect(error).toBeUndefined()
    expect(sequences).toEqual([1, 2, 3])
    expect(statuses.at(-1)).toMatchObject({ status: 'closed', reason: 'up-to-date' })
    expect(server.requests.map((request) => request.path)).toEqual(['/api/v1/replay'])
  })

  it('`replayOnly` selects replay whatever the mode says', async () => {
    server.publish('mars', MARS, 1)
    const { sequences, statuses } = await consume({ url: server.url, dialect: aviso({ eventType: 'mars', identifier: MARS, fromDate: 0, replayOnly: true }) })
    expect(sequences).toEqual([1])
    expect(statuses.at(-1)).toMatchObject({ status: 'closed', reason: 'up-to-date' })
  })

  it('end_of_stream before replay_completed is not the end: it resumes from the cursor', async () => {
    const timers = fastTimers()
    for (let i = 1; i <= 4; i += 1) server.publish('mars', MARS, i)
    server.plan.push({ closeAfterReplayed: { count: 2, reason: 'end_of_stream' } })
    const { sequences, error, statuses } = await consume({ url: server.url, mode: 'replay', runtime: timers.runtime, dialect: aviso({ eventType: 'mars', identifier: MARS, fromDate: 0 }) })

    expect(error).toBeUndefined()
    expect(sequences).toEqual([1, 2, 3, 4])
    expect(statuses.at(-1)).toMatchObject({ status: 'closed', reason: 'up-to-date' })
    expect(bodies().map((body) => body?.from_id ?? body?.from_date)).toEqual(['0', '3'])
  })

  // The real server sends `error` when fetching a replay batch fails, then skips the rest of the
  // history and goes on (replay_completed, live) on the same connection: reading on would lose the
  // skipped notifications, ending the subscription would turn a transient fault into a fatal one.
  it('an error frame mid-replay is transient: it reconnects from the cursor and loses nothing', async () => {
    const timers = fastTimers()
    for (let i = 1; i <= 4; i += 1) server.publish('mars', MARS, i)
    server.plan.push({ errorAfterReplayed: 2 })
    const { sequences, error, sub, statuses } = await consume(
      { url: server.url, runtime: timers.runtime, dialect: aviso({ eventType: 'mars', identifier: MARS, fromDate: 0 }) },
      async (_event, all) => {
        if (all.length === 4) {
          await server.waitForStreams(1)
          server.publish('mars', MARS, 5)
        }
        return all.length === 5
      },
    )
    expect(error).toBeUndefined()
    expect(sequences).toEqual([1, 2, 3, 4, 5])
    expect(sub.reconnects).toBe(1)
    expect(bodies().map((body) => body?.from_id ?? body?.from_date)).toEqual(['0', '3'])
    expect(statuses.filter((status) => status.status === 'backoff')).toMatchObject([{ reason: 'server-closing' }])
  })

  it('a body that ends without a closing frame is a fault: it reconnects, even in replay mode', async () => {
    const timers = fastTimers()
    for (let i = 1; i <= 3; i += 1) server.publish('mars', MARS, i)
    server.plan.push({ dropAfterReplayed: 1 })
    const { sequences, error, sub } = await consume({ url: server.url, mode: 'replay', runtime: timers.runtime, dialect: aviso({ eventType: 'mars', identifier: MARS, fromDate: 0 }) })

    expect(error).toBeUndefined()
    expect(sequences).toEqual([1, 2, 3])
    expect(sub.reconnects).toBe(1)
    expect(bodies().map((body) => body?.from_id)).toEqual([undefined, '2'])
  })

  it('replay without any start is a ConfigError before anything is sent', async () => {
    const { error } = await consume({ url: server.url, mode: 'replay', dialect: aviso({ eventType: 'mars', identifier: MARS }) })
    expect(error).toBeInstanceOf(ConfigError)
    expect(server.requests).toEqual([])
  })
})

describe('aviso errors', () => {
  /** The dialect's own error, whether the core passed it through or wrapped it (kept as `cause`). */
  const own = (error: unknown) => (error instanceof ProtocolError && error.cause instanceof Error ? error.cause : error)

  it('notification_replay_limit_reached ends the subscription with a cursor-expired error carrying max_allowed', async () => {
    await server.close()
    server = await startAvisoServer({ maxReplay: 2 })
    for (let i = 1; i <= 3; i += 1) server.publish('mars', MARS, i)
    const { error, events } = await consume({ url: server.url, dialect: aviso({ eventType: 'mars', identifier: MARS, fromDate: 0 }) })

    expect(events).toEqual([])
    const limit = own(error)
    expect(limit).toBeInstanceOf(ReplayLimitError)
    expect(isResumableSSEError(limit, 'cursor-expired')).toBe(true)
    expect((limit as ReplayLimitError).maxAllowed).toBe(2)
    expect(server.requests).toHaveLength(1) // fatal: not retried
  })

  const malformed = [
    ['no @', 'mars-1'],
    ['empty sequence', 'mars@'],
    ['non-integer sequence', 'mars@1.5'],
    ['negative sequence', 'mars@-1'],
    ['beyond a safe integer', 'mars@18446744073709551615'],
    ['no event type', '@7'],
  ]
  for (const [what, id] of malformed) {
    it(`a notification id with ${what} (${id}) is a ProtocolError`, async () => {
      server.plan.push({ inject: [{ event: 'live-notification', data: JSON.stringify({ specversion: '1.0', id, type: 't', data: {} }) }] })
      const { error, events } = await consume({ url: server.url, dialect: aviso({ eventType: 'mars', identifier: MARS }) })
      expect(events).toEqual([])
      expect(error).toBeInstanceOf(ProtocolError)
      expect((error as Error).message).toContain(id)
    })
  }

  it('splits the id on the last @ (event types may contain @)', async () => {
    server.plan.push({ inject: [{ event: 'replay', data: JSON.stringify({ specversion: '1.0', id: 'a@b@42', type: 't', data: {} }) }] })
    const { sequences } = await consume({ url: server.url, dialect: aviso({ eventType: 'mars', identifier: MARS }) }, () => true)
    expect(sequences).toEqual([42])
  })

  it('an error frame right after opening is not fatal: it is retried after a backoff, like any failed attempt', async () => {
    const timers = fastTimers()
    server.publish('mars', MARS, 1)
    server.plan.push({ inject: [{ event: 'error', data: JSON.stringify({ error: 'internal', message: 'backend unavailable', request_id: 'r-9' }) }] })
    const { sequences, error, statuses } = await consume(
      { url: server.url, runtime: timers.runtime, dialect: aviso({ eventType: 'mars', identifier: MARS, fromDate: 0 }) },
      (_event, all) => all.length === 1,
    )
    expect(error).toBeUndefined()
    expect(sequences).toEqual([1])
    expect(statuses.filter((status) => status.status === 'backoff')).toMatchObject([{ reason: 'server-closing', attempt: 1 }])
    expect(server.requests).toHaveLength(2)
  })

  it('an unknown connection-closing reason is a ProtocolError', async () => {
    server.plan.push({ inject: [{ event: 'connection-closing', data: JSON.stringify({ reason: 'tired', message: '' }) }] })
    const { error } = await consume({ url: server.url, dialect: aviso({ eventType: 'mars', identifier: MARS }) })
    expect(error).toBeInstanceOf(ProtocolError)
    expect((error as Error).message).toContain('tired')
  })

  it('a non-JSON control frame is a ProtocolError', async () => {
    server.plan.push({ inject: [{ event: 'replay-control', data: 'not json' }] })
    const { error } = await consume({ url: server.url, dialect: aviso({ eventType: 'mars', identifier: MARS }) })
    expect(error).toBeInstanceOf(ProtocolError)
  })
})

describe('aviso dialect properties', () => {
  it('is contiguous only without a filter (filtered streams skip sequences legitimately)', () => {
    expect(aviso({ eventType: 'mars', identifier: {} }).contiguous).toBe(true)
    expect(aviso({ eventType: 'mars', identifier: MARS }).contiguous).toBe(false)
  })

  it('a jump is a gap notice on an unfiltered stream, and expected on a filtered one', async () => {
    server.publish('mars', { class: 'rd' }, 1)
    server.publish('mars', MARS, 2)
    server.publish('mars', { class: 'rd' }, 3)
    server.publish('mars', MARS, 4)
    const notices: unknown[] = []
    const filtered = await consume({ url: server.url, onNotice: (notice) => notices.push(notice), dialect: aviso({ eventType: 'mars', identifier: MARS, fromDate: 0 }) }, (_event, all) => all.length === 2)
    expect(filtered.sequences).toEqual([2, 4])
    expect(notices).toEqual([])

    // An unfiltered stream must not skip: the server "losing" sequence 2 is reported.
    const ids = ['mars@1', 'mars@3']
    server.plan.push({ inject: ids.map((id) => ({ event: 'replay', data: JSON.stringify({ specversion: '1.0', id, type: 't', data: {} }) })) })
    const unfiltered = await consume({ url: server.url, onNotice: (notice) => notices.push(notice), dialect: aviso({ eventType: 'mars', identifier: {} }) }, (_event, all) => all.length === 2)
    expect(unfiltered.sequences).toEqual([1, 3])
    expect(notices).toEqual([{ kind: 'gap', expected: 2, received: 3 }])
  })

  it('two aviso feeds on one server never share a checkpoint: the resume key includes event type and filter', () => {
    const key = (eventType: string, identifier: Record<string, unknown>) =>
      subscribe({ url: server.url, signal: AbortSignal.abort(), dialect: aviso({ eventType, identifier }) }).key
    expect(key('mars', { class: 'od', stream: 'oper' })).toBe(key('mars', { stream: 'oper', class: 'od' }))
    const keys = [key('mars', MARS), key('mars', { class: 'rd', stream: 'oper' }), key('dissemination', MARS), key('mars', {})]
    expect(new Set(keys).size).toBe(4)
  })

  it('has an identity made of event type and canonical filter, for the resume key', () => {
    const a = aviso({ eventType: 'mars', identifier: { class: 'od', stream: 'oper' } })
    const b = aviso({ eventType: 'mars', identifier: { stream: 'oper', class: 'od' } })
    const c = aviso({ eventType: 'mars', identifier: { class: 'rd', stream: 'oper' } })
    const d = aviso({ eventType: 'dissemination', identifier: { class: 'od', stream: 'oper' } })
    expect(a.identity).toBe(b.identity)
    expect(new Set([a.identity, c.identity, d.identity]).size).toBe(3)
  })

  it('rejects options that can never work', () => {
    expect(() => aviso({ eventType: '', identifier: {} })).toThrow(ConfigError)
    expect(() => aviso({ eventType: 'mars', identifier: [] as unknown as Record<string, unknown> })).toThrow(ConfigError)
    expect(() => aviso({ eventType: 'mars', identifier: { n: Number.NaN } })).toThrow(ConfigError)
    expect(() => aviso({ eventType: 'mars', identifier: {}, fromDate: new Date(Number.NaN) })).toThrow(ConfigError)
  })

  it('delivers nothing for heartbeats, replay_started/completed or unknown frames', () => {
    const session = aviso({ eventType: 'mars', identifier: {} }).open(undefined, 'live')
    const calls: string[] = []
    const sink: DialectSink = {
      deliver: (type, _data, _id, sequence) => calls.push(`${type}:${sequence}`),
      deliverUnpositioned: () => calls.push('unpositioned'),
      position: () => calls.push('position'),
      closing: (reconnect) => calls.push(`closing:${reconnect}`),
      fail: (error) => calls.push(`fail:${error.message}`),
    }
    const frames: Frame[] = [
      { event: 'heartbeat', data: '{"timestamp":"x","topic":"mars"}' },
      { event: 'replay-control', data: '{"type":"replay_started","from_sequence":1}' },
      { event: 'replay-control', data: '{"type":"replay_completed"}' },
      { event: 'something-new', data: 'whatever' },
      { event: 'live-notification', data: '{"type":"connection_established","topic":"mars"}' },
      { event: 'live-notification', data: '{"specversion":"1.0","id":"mars@7","type":"t"}' },
      { event: 'connection-closing', data: '{"reason":"end_of_stream"}' },
    ]
    for (const frame of frames) session.frame(frame, sink)
    // In live mode end_of_stream means "come back at once".
    expect(calls).toEqual(['live-notification:7', 'closing:0'])
  })
})

describe("aviso: onCursorExpired 'restart' after the replay limit", () => {
  const ALL = {} // an empty filter: sequences are contiguous, so a jump would be a gap

  it('a watch restarts live: the notice first, the first live notification marked, no gap, the checkpoint moved', async () => {
    await server.close()
    server = await startAvisoServer({ maxReplay: 3 })
    const store = new MemoryStore()
    const dialect = aviso({ eventType: 'mars', identifier: ALL, fromDate: 0 })
    server.publish('mars', MARS, 1)
    server.publish('mars', MARS, 2)
    const first = await consume({ url: server.url, dialect, store, commitOnClose: true }, (_event, all) => all.length === 2)
    await first.sub.close()
    expect(await store.get(first.sub.key)).toMatchObject({ sequence: 2 })
    while (server.openStreams > 0) await new Promise((resolve) => setTimeout(resolve, 5)) // the first watch is gone

    // While the consumer is away, more history piles up than the server replays in one request.
    for (let i = 3; i <= 7; i += 1) server.publish('mars', MARS, i)
    const order: string[] = []
    const notices: string[] = []
    const running = consume(
      { url: server.url, dialect, store, onCursorExpired: 'restart', onNotice: (notice) => {
        notices.push(notice.kind)
        if (notice.kind === 'cursor-expired') order.push('expired')
      } },
      async (event, all) => {
        order.push(`${event.sequence}${event.restarted ? '*' : ''}`)
        return all.length === 2
      },
    )
    // The live notifications are published once the restarted watch is open.
    await server.waitForStreams(1)
    server.publish('mars', MARS, 8)
    server.publish('mars', MARS, 9)
    const second = await running
    expect(second.error).toBeUndefined()
    expect(order).toEqual(['expired', '8*', '9'])
    expect(notices).not.toContain('gap')
    expect(bodies().slice(-2)).toEqual([
      { event_type: 'mars', identifier: ALL, from_id: '3' },
      { event_type: 'mars', identifier: ALL }, // live: aviso cannot be asked for the oldest it has
    ])
    // 8 was finished: a fresh run asks for 9 on.
    expect(await store.get(second.sub.key)).toMatchObject({ sequence: 8, cursor: '8' })
    const third = await consume({ url: server.url, dialect, store }, (_event, all) => all.length === 1)
    expect(third.sequences).toEqual([9])
    expect(bodies().at(-1)).toEqual({ event_type: 'mars', identifier: ALL, from_id: '9' })
  })

  it('a restarted watch that meets the limit again before any notification ends with the error', async () => {
    await server.close()
    server = await startAvisoServer({ maxReplay: 1 })
    for (let i = 1; i <= 3; i += 1) server.publish('mars', MARS, i)
    const limit = JSON.stringify({ type: 'notification_replay_limit_reached', max_allowed: 1, message: 'scripted' })
    server.plan.push({}, { inject: [{ event: 'replay-control', data: limit }] })
    const notices: string[] = []
    const { error, events } = await consume({ url: server.url, dialect: aviso({ eventType: 'mars', identifier: ALL, fromDate: 0 }), onCursorExpired: 'restart', onNotice: (notice) => notices.push(notice.kind) })
    expect(error).toBeInstanceOf(ReplayLimitError)
    expect(events).toEqual([])
    expect(notices).toEqual(['cursor-expired'])
    expect(server.requests).toHaveLength(2)
  })

  it('a replay has no live part to restart into: it ends with a cursor-expired error after the notice', async () => {
    await server.close()
    server = await startAvisoServer({ maxReplay: 1 })
    for (let i = 1; i <= 3; i += 1) server.publish('mars', MARS, i)
    const notices: string[] = []
    const { error } = await consume({ url: server.url, dialect: aviso({ eventType: 'mars', identifier: ALL, fromDate: 0, replayOnly: true }), onCursorExpired: 'restart', onNotice: (notice) => notices.push(notice.kind) })
    expect(isResumableSSEError(error, 'cursor-expired')).toBe(true)
    expect(notices).toEqual(['cursor-expired'])
    expect(server.requests).toHaveLength(1)
  })
})
