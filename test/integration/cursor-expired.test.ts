// Expired cursors over the project's SSE test server (the pure parts: test/unit/cursor-expired.test.ts).
import { describe, expect, it } from 'vitest'
import { ConfigError, HttpError, ResumableSSEError } from '../../src/errors.js'
import {
  type Checkpoint,
  isResumableSSEError,
  lastEventId,
  MemoryStore,
  type Notice,
  type SSEEvent,
  type SubscribeOptions,
  subscribe,
} from '../../src/index.js'
import { consume, fastTimers } from '../support/consume.js'
import { useFeedServer } from '../support/feed-server.js'

// ---------------------------------------------------------------------------------------------------
// lastEventId({ expiredStatuses }) against the project's SSE test server.

const { feed, log } = useFeedServer('x')

/** Events and notices in the order the consumer saw them. */
function recorder() {
  const order: string[] = []
  const notices: Notice[] = []
  return {
    order,
    notices,
    onNotice: (notice: Notice) => {
      if (notice.kind === 'cursor-expired') {
        order.push('expired')
        notices.push(notice)
      }
    },
    see: (event: SSEEvent) => order.push(`${event.id}${event.restarted ? '*' : ''}`),
  }
}

describe('lastEventId: expired cursors', () => {
  const expiring = { dialect: lastEventId({ expiredStatuses: [409, 410] }), commitInterval: 0 } satisfies Partial<SubscribeOptions>

  it("'restart' (iterator): the notice after the last old event, then the new history from the start, first event marked", async () => {
    // Connection 1: ids 1-3 then a cut; 2: Last-Event-ID 3 is answered 410; 3: the feed again from 1.
    const { url, sid } = feed({ total: 4, plan: [{ events: 3, then: 'drop' }, { status: 410, body: 'history compacted' }] })
    const store = new MemoryStore()
    const rec = recorder()
    const timers = fastTimers()
    const r = await consume({ url, store, mode: 'replay', onCursorExpired: 'restart', runtime: timers.runtime, onNotice: rec.onNotice, ...expiring }, (event, all) => {
      rec.see(event)
      // Stop on the new history's second event: its first is then the last one finished.
      return all.length === 5
    })
    expect(r.error).toBeUndefined()
    expect(rec.order).toEqual(['1', '2', '3', 'expired', '1*', '2'])
    expect(r.events.filter((event) => event.restarted !== undefined)).toHaveLength(1)
    const notice = rec.notices[0] as Extract<Notice, { kind: 'cursor-expired' }>
    expect(isResumableSSEError(notice.error, 'cursor-expired')).toBe(true)
    expect((notice.error.cause as HttpError).status).toBe(410)
    expect(notice.checkpoint).toMatchObject({ sequence: 3, cursor: '3' })
    expect(log(sid).map((request) => request.headers['last-event-id'])).toEqual([undefined, '3', undefined])

    // The checkpoint moved to the new history although its sequence is lower than the old one's.
    expect(await store.get(r.sub.key)).toMatchObject({ sequence: 1, cursor: '1' })
    // A fresh run resumes from it.
    const again = await consume({ url, store, mode: 'replay', onCursorExpired: 'restart', ...expiring })
    expect(again.error).toBeUndefined()
    expect(again.events.map((event) => event.id)).toEqual(['2', '3', '4'])
    expect(log(sid).at(-1)?.headers['last-event-id']).toBe('1')
    expect(await store.get(r.sub.key)).toMatchObject({ sequence: 4 })
  })

  it("'restart' (forEach): same order; a second expiry after progress restarts again", async () => {
    const { url, sid } = feed({ total: 3, plan: [{ events: 2, then: 'drop' }, { status: 409 }, { events: 1, then: 'drop' }, { status: 410 }] })
    const store = new MemoryStore()
    const rec = recorder()
    const timers = fastTimers()
    const sub = subscribe({ url, store, mode: 'replay', onCursorExpired: 'restart', runtime: timers.runtime, onNotice: rec.onNotice, ...expiring })
    await sub.forEach((event) => {
      rec.see(event)
    })
    expect(rec.order).toEqual(['1', '2', 'expired', '1*', 'expired', '1*', '2', '3'])
    expect(log(sid).map((request) => request.headers['last-event-id'])).toEqual([undefined, '2', undefined, '1', undefined])
    expect(await store.get(sub.key)).toMatchObject({ sequence: 3, cursor: '3' })
  })

  it('a crash after the notice, before any new event was finished, loses nothing: the next run expires and restarts again', async () => {
    // Connections 1-3 are the first run; the fresh run meets the 410 again (4) and restarts (5).
    const { url, sid } = feed({ total: 4, plan: [{ events: 3, then: 'drop' }, { status: 410 }, {}, { status: 410 }] })
    const store = new MemoryStore()
    const timers = fastTimers()
    const options = { url, store, mode: 'replay' as const, onCursorExpired: 'restart' as const, runtime: timers.runtime, ...expiring }
    // Every old event is finished (committed when the next was asked for); the process "dies" holding
    // the new history's first event.
    const first = await consume(options, (event) => event.restarted === true)
    expect(first.events.map((event) => event.id)).toEqual(['1', '2', '3', '1'])
    expect(await store.get(first.sub.key)).toMatchObject({ sequence: 3, cursor: '3' }) // not deleted yet

    const rec = recorder()
    const second = await consume({ ...options, onNotice: rec.onNotice }, (event) => {
      rec.see(event)
      return false
    })
    expect(second.error).toBeUndefined()
    expect(rec.order).toEqual(['expired', '1*', '2', '3', '4'])
    expect(log(sid).map((request) => request.headers['last-event-id'])).toEqual([undefined, '3', undefined, '3', undefined])
    expect(await store.get(first.sub.key)).toMatchObject({ sequence: 4, cursor: '4' })
  })

  it('a restart that expires again before delivering anything ends with an error instead of looping', async () => {
    // The restart sends no id; the server still answers 410: that is the plain HTTP error it always was.
    const { url, sid } = feed({ total: 3, plan: [{ events: 2, then: 'drop' }, { status: 410 }, { status: 410 }] })
    const rec = recorder()
    const timers = fastTimers()
    const r = await consume({ url, onCursorExpired: 'restart', runtime: timers.runtime, onNotice: rec.onNotice, ...expiring }, (event) => {
      rec.see(event)
      return false
    })
    expect(r.error).toBeInstanceOf(HttpError)
    expect((r.error as HttpError).status).toBe(410)
    expect(rec.order).toEqual(['1', '2', 'expired'])
    expect(log(sid)).toHaveLength(3)
  })

  it("'fail' (the default) is unchanged: a cursor-expired error, the old checkpoint kept", async () => {
    const { url } = feed({ total: 3, plan: [{ events: 2, then: 'drop' }, { status: 410 }] })
    const store = new MemoryStore()
    const rec = recorder()
    const timers = fastTimers()
    const r = await consume({ url, store, runtime: timers.runtime, onNotice: rec.onNotice, ...expiring })
    expect(isResumableSSEError(r.error, 'cursor-expired')).toBe(true)
    expect(r.events.map((event) => event.id)).toEqual(['1', '2'])
    expect(rec.order).toEqual([])
    expect(await store.get(r.sub.key)).toMatchObject({ sequence: 2 })
    // Without `expiredStatuses` a 410 stays the HTTP error it was.
    const plain = await consume({ url: feed({ total: 3, plan: [{ events: 2, then: 'drop' }, { status: 410 }] }).url, runtime: timers.runtime, onCursorExpired: 'restart' })
    expect(plain.error).toBeInstanceOf(HttpError)
  })

  it('refuses `expiredStatuses` that are not a list of HTTP statuses, where the dialect is made', async () => {
    for (const bad of [410, '410', ['410'], [410.5], [99], [600], null]) {
      expect(() => lastEventId({ expiredStatuses: bad as unknown as number[] })).toThrow(ConfigError)
    }
    expect(() => lastEventId({ expiredStatuses: [] })).not.toThrow()
    const { url } = feed({ total: 3, plan: [{ events: 2, then: 'drop' }, { status: 410 }] })
    const r = await consume({ url, runtime: fastTimers().runtime, dialect: lastEventId({ expiredStatuses: [410] }) })
    expect(isResumableSSEError(r.error, 'cursor-expired')).toBe(true)
  })

  it('rejects an unknown policy', () => {
    expect(() => subscribe({ url: 'http://127.0.0.1:9/', onCursorExpired: 'retry' as 'fail' })).toThrow(/onCursorExpired/)
  })
})

describe('a dialect that learns from the response headers that the history is gone', () => {
  it('accepted() returning a cursor-expired error drops the connection and restarts from restart()', async () => {
    // Like Mercure: the hub confirms the id it resumed from in a response header; an answer that does
    // not confirm ours means the history after it is lost. (This server never confirms one.)
    const base = lastEventId()
    const dialect = {
      ...base,
      name: 'confirming',
      restart: (last: Checkpoint | undefined) => ({ sequence: last?.sequence ?? 0, cursor: '' }),
      open(position: Checkpoint | undefined, mode: 'live' | 'replay') {
        const session = base.open(position, mode)
        session.accepted = (headers: Headers) => {
          if (position?.cursor && headers.get('x-resumed-from') !== position.cursor) return new ResumableSSEError('cursor-expired', 'the server did not resume from our id')
        }
        return session
      },
    }
    const { url, sid } = feed({ total: 3, plan: [{ events: 2, then: 'drop' }] })
    const rec = recorder()
    const timers = fastTimers()
    const r = await consume({ url, dialect, mode: 'replay', onCursorExpired: 'restart', runtime: timers.runtime, onNotice: rec.onNotice }, (event) => {
      rec.see(event)
      return false
    })
    expect(r.error).toBeUndefined()
    expect(rec.order).toEqual(['1', '2', 'expired', '1*', '2', '3'])
    expect(log(sid).map((request) => request.headers['last-event-id'])).toEqual([undefined, '2', undefined])
    expect(r.sequences).toEqual([1, 2, 3, 4, 5]) // numbered on from the restart position
  })
})
