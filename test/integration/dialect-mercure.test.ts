// The Mercure dialect against the test hub written from the specification (test/server/mercure-hub.ts).
import { afterEach, describe, expect, it } from 'vitest'
import { ConfigError, GapError, HttpError, MemoryStore, type SubscribeOptions, isResumableSSEError, lastEventId, mercure, subscribe } from '../../src/index.js'
import { type MercureHub, type MercureHubOptions, signJwt, startMercureHub } from '../server/mercure-hub.js'
import { consume as consumeWith, fastTimers } from '../support/consume.js'

const BOOKS = 'https://example.com/books/1'
const AUTHORS = 'https://example.com/authors/7'
const OTHER = 'https://example.com/other'

let hub: MercureHub
const hubs: MercureHub[] = []
async function start(options: MercureHubOptions = {}): Promise<MercureHub> {
  hub = await startMercureHub(options)
  hubs.push(hub)
  return hub
}
afterEach(async () => {
  await Promise.all(hubs.splice(0).map((h) => h.close()))
})

const consume = (options: SubscribeOptions, stop?: Parameters<typeof consumeWith>[1]) =>
  consumeWith({ commitInterval: 0, runtime: fastTimers().runtime, ...options }, stop)

const query = (index: number, name: string) => hub.subscribes[index]?.query.filter(([n]) => n === name).map(([, v]) => v)

/** A draft-08 subscriber token for the hub: `subscribe` on `topics` (exact). */
function token08(topics: string[], claims: Record<string, unknown> = {}, key = 'test-key'): string {
  const now = Math.floor(Date.now() / 1000)
  return signJwt(
    {
      iss: 'https://issuer.test',
      aud: hub.audience,
      sub: 'user-1',
      client_id: 'tests',
      iat: now,
      exp: now + 600,
      jti: 'j1',
      authorization_details: [{ type: 'https://mercure.rocks/authorization-detail', actions: ['subscribe', 'publish'], topics: topics.map((match) => ({ match })) }],
      ...claims,
    },
    key,
  )
}

describe('mercure(): subscribing and resuming (draft-08)', () => {
  it('sends repeatable `match` parameters and resumes across cuts with `last_event_id`: every update, in order, none twice', async () => {
    await start()
    const running = consume({ url: hub.url, dialect: mercure({ topics: [BOOKS, AUTHORS] }) }, async (_event, all) => {
      if (all.length === 2) {
        hub.cut()
        hub.publish({ topics: BOOKS, data: '3' }) // while nobody is connected: history only
        hub.publish({ topics: OTHER, data: 'not ours' })
        hub.publish({ topics: AUTHORS, data: '4' })
      }
      if (all.length === 4) {
        await hub.waitForConnection(2)
        // Published over HTTP with a publisher token, as an application would.
        const response = await fetch(hub.url, {
          method: 'POST',
          headers: { authorization: `Bearer ${token08([AUTHORS])}`, 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ topic: AUTHORS, data: '5', type: 'author' }),
        })
        expect(response.status).toBe(200)
      }
      return all.length === 5
    })
    await hub.waitForConnection(1)
    hub.publish({ topics: BOOKS, data: '1' })
    hub.publish({ topics: [AUTHORS, BOOKS], data: '2' }) // two topics, both matched: still one update
    const { events, sequences, notices, error } = await running

    expect(error).toBeUndefined()
    expect(events.map((event) => event.data)).toEqual(['1', '2', '3', '4', '5'])
    expect(events.map((event) => event.type)).toEqual(['message', 'message', 'message', 'message', 'author'])
    expect(sequences).toEqual([1, 2, 3, 4, 5])
    expect(events.every((event) => /^urn:uuid:[0-9a-f-]{36}$/.test(event.id!) && event.cursor === event.id)).toBe(true)
    expect(notices.filter((notice) => notice.kind === 'gap')).toEqual([])

    expect(query(0, 'match')).toEqual([BOOKS, AUTHORS])
    expect(query(0, 'last_event_id')).toEqual([])
    expect(query(1, 'last_event_id')).toEqual([events[1]!.id])
    expect(hub.subscribes.map((record) => record.lastEventIdHeader)).toEqual([undefined, undefined])
    expect(hub.subscribes[1]?.answered).toBe(events[1]!.id)
  })

  it('resumes a later run from the stored checkpoint; the resume key is the topics, not the cursor', async () => {
    await start()
    const store = new MemoryStore()
    const dialect = mercure({ topics: [BOOKS, AUTHORS] })
    hub.publish({ topics: BOOKS, data: 'a' })
    const first = await consume({ url: hub.url, store, commitOnClose: true, dialect: mercure({ topics: [BOOKS, AUTHORS], earliest: true }) }, (_e, all) => all.length === 1)
    expect(first.data).toEqual(['a'])
    hub.publish({ topics: AUTHORS, data: 'b' })
    hub.publish({ topics: BOOKS, data: 'c' })
    const second = await consume({ url: hub.url, store, dialect }, (_e, all) => all.length === 2)
    expect(second.data).toEqual(['b', 'c'])
    expect(second.sequences).toEqual([2, 3])
    expect(second.sub.key).toBe(first.sub.key)
    expect(second.notices.map((notice) => notice.kind)).toEqual(['resumed'])
    expect(query(1, 'last_event_id')).toEqual([first.events[0]!.id])
    expect(hub.subscribes[1]?.answered).toBe(first.events[0]!.id)

    const key = (options: Partial<SubscribeOptions>) => {
      const sub = subscribe({ url: hub.url, signal: AbortSignal.abort(), ...options })
      return sub.key
    }
    // Order and repeats of topics do not matter; the topics themselves do; so does the dialect.
    expect(key({ dialect: mercure({ topics: [AUTHORS, BOOKS, BOOKS] }) })).toBe(first.sub.key)
    expect(key({ dialect: mercure({ topics: [BOOKS, AUTHORS], protocol: 'draft-07', cursor: 'header' }) })).toBe(first.sub.key)
    expect(key({ dialect: mercure({ topics: [BOOKS] }) })).not.toBe(first.sub.key)
    expect(key({ dialect: mercure({ topics: [BOOKS], urlPatterns: ['https://example.com/authors/:id'] }) })).not.toBe(key({ dialect: mercure({ topics: [BOOKS] }) }))
    expect(key({ dialect: lastEventId() })).not.toBe(first.sub.key)
  })

  it('`earliest: true` asks for the whole history on a fresh start; without it only what comes next', async () => {
    await start()
    hub.publish({ topics: BOOKS, data: 'old-1' })
    hub.publish({ topics: OTHER, data: 'not ours' })
    hub.publish({ topics: BOOKS, data: 'old-2' })
    const all = await consume({ url: hub.url, dialect: mercure({ topics: BOOKS, earliest: true }) }, (_e, events) => events.length === 2)
    expect(all.data).toEqual(['old-1', 'old-2'])
    expect(query(0, 'last_event_id')).toEqual(['earliest'])
    expect(hub.subscribes[0]?.answered).toBe('earliest')
    expect(all.notices.filter((notice) => notice.kind === 'gap')).toEqual([])

    const live = consume({ url: hub.url, dialect: mercure({ topics: BOOKS }) }, (_e, events) => events.length === 1)
    await hub.waitForConnection(2)
    hub.publish({ topics: BOOKS, data: 'new' })
    expect((await live).data).toEqual(['new'])
    expect(query(1, 'last_event_id')).toEqual([])
    expect(hub.subscribes[1]?.answered).toBeUndefined()
  })

  it('URL pattern matchers go as `match_urlpattern`', async () => {
    await start()
    const running = consume({ url: hub.url, dialect: mercure({ topics: [], urlPatterns: ['https://example.com/books/:id'] }) }, (_e, all) => all.length === 2)
    await hub.waitForConnection(1)
    hub.publish({ topics: AUTHORS, data: 'no' })
    hub.publish({ topics: BOOKS, data: 'book 1' })
    hub.publish({ topics: 'https://example.com/books/2', data: 'book 2' })
    expect((await running).data).toEqual(['book 1', 'book 2'])
    expect(query(0, 'match_urlpattern')).toEqual(['https://example.com/books/:id'])
    expect(query(0, 'match')).toEqual([])
  })

  it("`cursor: 'header'` resumes with the Last-Event-ID header instead", async () => {
    await start()
    const running = consume({ url: hub.url, dialect: mercure({ topics: BOOKS, cursor: 'header' }) }, async (_e, all) => {
      if (all.length === 1) {
        hub.cut()
        hub.publish({ topics: BOOKS, data: '2' })
      }
      return all.length === 2
    })
    await hub.waitForConnection(1)
    hub.publish({ topics: BOOKS, data: '1' })
    const { events, error } = await running
    expect(error).toBeUndefined()
    expect(events.map((event) => event.data)).toEqual(['1', '2'])
    expect(hub.subscribes[1]?.lastEventIdHeader).toBe(events[0]!.id)
    expect(query(1, 'last_event_id')).toEqual([])
    expect(hub.subscribes[1]?.answered).toBe(events[0]!.id)
  })
})

// Regression (review): an id longer than the cursor limit was committed, and the next run read the
// store back as corrupt.
it('an id too long to send back is delivered without a position, and the next run still resumes', async () => {
  await start()
  const store = new MemoryStore()
  hub.publish({ topics: BOOKS, data: 'short', id: 'urn:a' })
  hub.publish({ topics: BOOKS, data: 'long', id: `urn:${'x'.repeat(5000)}` })
  const first = await consume({ url: hub.url, store, commitOnClose: true, dialect: mercure({ topics: BOOKS, earliest: true }) }, (_e, all) => all.length === 2)
  expect(first.data).toEqual(['short', 'long'])
  expect((await store.get(first.sub.key))?.cursor).toBe('urn:a')
  hub.publish({ topics: BOOKS, data: 'next' })
  const second = await consume({ url: hub.url, store, dialect: mercure({ topics: BOOKS }) }, (event) => event.data === 'next')
  expect(second.error).toBeUndefined()
  expect(second.data.at(-1)).toBe('next')
})

describe('mercure(): lost history', () => {
  /** Runs once to hold the first update, loses the hub's history, then resumes and takes `after`. */
  async function afterLoss(options: Partial<SubscribeOptions>) {
    const store = new MemoryStore()
    hub.publish({ topics: BOOKS, data: 'seen' })
    const first = await consume({ url: hub.url, store, commitOnClose: true, dialect: mercure({ topics: BOOKS, earliest: true }) }, (_e, all) => all.length === 1)
    expect(first.data).toEqual(['seen'])
    hub.forget() // a hub restart with in-memory history
    hub.publish({ topics: BOOKS, data: 'lost' })
    const timeline: string[] = []
    const running = consume(
      { url: hub.url, store, dialect: mercure({ topics: BOOKS }), onNotice: (notice) => timeline.push(`notice:${notice.kind}`), ...options },
      (event, all) => {
        timeline.push(`event:${event.data}`)
        return all.length === 2
      },
    )
    await hub.waitForConnection(2)
    hub.publish({ topics: BOOKS, data: 'next-1' })
    hub.publish({ topics: BOOKS, data: 'next-2' })
    return { first, second: await running, timeline, store }
  }

  it('the hub answers `earliest` for an id it no longer has: a gap notice, in order, before the first event after it', async () => {
    await start()
    const { first, second, timeline } = await afterLoss({})
    expect(second.error).toBeUndefined()
    expect(hub.subscribes[1]?.answered).toBe('earliest')
    expect(query(1, 'last_event_id')).toEqual([first.events[0]!.id])
    expect(second.data).toEqual(['next-1', 'next-2'])
    expect(timeline).toEqual(['notice:resumed', 'notice:gap', 'event:next-1', 'event:next-2'])
    expect(second.notices.find((notice) => notice.kind === 'gap')).toEqual({ kind: 'gap', expected: 2, received: 3 })
  })

  it('under strictGaps it is a GapError, and the checkpoint stays where the history was lost', async () => {
    await start()
    const { first, second, store } = await afterLoss({ strictGaps: true })
    expect(second.error).toBeInstanceOf(GapError)
    expect(isResumableSSEError(second.error, 'gap')).toBe(true)
    expect(second.data).toEqual([])
    expect((await store.get(second.sub.key))?.cursor).toBe(first.events[0]!.id)
  })

  it("under onCursorExpired: 'restart' it restarts from `earliest`: the notice, then the hub's whole history, the first event marked `restarted`", async () => {
    await start()
    const { second, timeline, store } = await afterLoss({ onCursorExpired: 'restart' })
    expect(second.error).toBeUndefined()
    // The resume asked for the old id and the hub answered `earliest`; the restart asked for `earliest`.
    expect(query(1, 'last_event_id')).not.toEqual(['earliest'])
    expect(hub.subscribes[1]?.answered).toBe('earliest')
    expect(query(2, 'last_event_id')).toEqual(['earliest'])
    expect(second.data).toEqual(['lost', 'next-1'])
    expect(timeline).toEqual(['notice:resumed', 'notice:cursor-expired', 'event:lost', 'event:next-1'])
    expect(second.events.map((event) => event.restarted ?? false)).toEqual([true, false])
    expect(second.notices.some((notice) => notice.kind === 'gap')).toBe(false)
    // The checkpoint moved to the new history.
    expect((await store.get(second.sub.key))?.cursor).toBe(second.events[0]!.id)
  })

  it('a history trimmed past our id is lost history too; an id it still holds is not', async () => {
    await start({ historySize: 2 })
    const store = new MemoryStore()
    const running = consume({ url: hub.url, store, commitOnClose: true, dialect: mercure({ topics: BOOKS }) }, (_e, all) => all.length === 1)
    await hub.waitForConnection(1)
    hub.publish({ topics: BOOKS, data: '1' })
    expect((await running).data).toEqual(['1'])
    hub.publish({ topics: BOOKS, data: '2' })
    hub.publish({ topics: BOOKS, data: '3' }) // '1' falls out of the history here
    const second = consume({ url: hub.url, store, dialect: mercure({ topics: BOOKS }) }, async (_e, all) => {
      if (all.length === 1) {
        hub.cut()
        await hub.waitForConnection(3)
        hub.publish({ topics: BOOKS, data: '5' })
      }
      return all.length === 2
    })
    await hub.waitForConnection(2)
    hub.publish({ topics: BOOKS, data: '4' })
    const { data, notices, error } = await second
    expect(error).toBeUndefined()
    expect(data).toEqual(['4', '5'])
    expect(hub.subscribes.map((record) => record.answered)).toEqual([undefined, 'earliest', expect.stringMatching(/^urn:uuid:/)])
    expect(notices.filter((notice) => notice.kind === 'gap')).toHaveLength(1)
  })
})

describe('mercure(): draft-07 hubs (Mercure 0.x)', () => {
  it("sends `topic` selectors and the cursor as `lastEventID` (and `last_event_id`), and reads loss from the `Last-Event-ID` answer", async () => {
    await start({ protocol: 'draft-07', historySize: 2 })
    const template = 'https://example.com/books/{id}'
    const book = (n: number) => hub.publish({ topics: `https://example.com/books/${n}`, data: `b${n}` })
    const running = consume({ url: hub.url, dialect: mercure({ topics: template, protocol: 'draft-07' }) }, async (_e, all) => {
      if (all.length === 1) {
        hub.cut()
        book(2) // replayed on the next connection
      }
      if (all.length === 2) {
        hub.cut()
        book(3)
        book(4)
        book(5) // b2, our position, falls out of the two-update history; b3 with it
        await hub.waitForConnection(3)
        book(6)
      }
      return all.length === 3
    })
    await hub.waitForConnection(1)
    hub.publish({ topics: AUTHORS, data: 'not ours' })
    book(1)
    const { data, events, notices, error } = await running
    expect(error).toBeUndefined()
    // The hub sends no history for an id it does not know: b3 to b5 are lost, and reported as a gap.
    expect(data).toEqual(['b1', 'b2', 'b6'])
    expect(query(0, 'topic')).toEqual([template])
    expect(query(0, 'match')).toEqual([])
    expect(query(1, 'lastEventID')).toEqual([events[0]!.id])
    expect(query(1, 'last_event_id')).toEqual([events[0]!.id])
    expect(hub.subscribes.map((record) => record.answered)).toEqual([undefined, events[0]!.id, 'earliest'])
    expect(notices.filter((notice) => notice.kind === 'gap')).toHaveLength(1)
  })
})

describe('mercure(): ids beyond ASCII (IRIs may carry any Unicode)', () => {
  for (const cursor of ['query', 'header'] as const) {
    it(`resume with \`cursor: '${cursor}'\` sends the id's UTF-8 bytes and reads the hub's answer as UTF-8: nothing lost, no false loss`, async () => {
      await start()
      const notices: string[] = []
      const running = consume({ url: hub.url, dialect: mercure({ topics: BOOKS, cursor }), onCursorExpired: 'restart', onNotice: (notice) => notices.push(notice.kind) }, (_e, all) => {
        if (all.length === 1) {
          hub.cut()
          hub.publish({ topics: BOOKS, data: 'b2', id: 'https://example.com/livres/2-\u00e9\u20ac' }) // while we are away
        }
        return all.length === 2
      })
      await hub.waitForConnection(1)
      hub.publish({ topics: BOOKS, data: 'b1', id: 'https://example.com/livres/1-\u00e9\u20ac' })
      const { data, events, error } = await running
      expect(error).toBeUndefined()
      expect(data).toEqual(['b1', 'b2'])
      expect(events.map((event) => event.restarted)).toEqual([undefined, undefined])
      expect(notices.filter((kind) => kind === 'cursor-expired' || kind === 'gap')).toEqual([])
      expect(hub.subscribes[1]?.answered).toBe(events[0]!.id)
    })
  }
})

describe('mercure(): draft-07 hubs before 0.14', () => {
  it('resume through the `Last-Event-ID` query parameter, the only one the draft-07 text and the 0.10–0.13 hubs read', async () => {
    await start({ protocol: 'draft-07', cursorParams: ['Last-Event-ID'] })
    const running = consume({ url: hub.url, dialect: mercure({ topics: BOOKS, protocol: 'draft-07' }) }, (_e, all) => {
      if (all.length === 1) {
        hub.cut()
        hub.publish({ topics: BOOKS, data: 'b2' }) // while we are away: must come back by replay
      }
      return all.length === 2
    })
    await hub.waitForConnection(1)
    hub.publish({ topics: BOOKS, data: 'b1' })
    const { data, events, error } = await running
    expect(error).toBeUndefined()
    expect(data).toEqual(['b1', 'b2'])
    expect(query(1, 'Last-Event-ID')).toEqual([events[0]!.id])
    expect(hub.subscribes[1]?.answered).toBe(events[0]!.id)
  })
})

describe('mercure(): authorization', () => {
  it('a Bearer token (draft-08 authorization_details) unlocks the private updates it grants, and only those', async () => {
    await start()
    const withToken = consume({ url: hub.url, headers: { authorization: `Bearer ${token08([BOOKS])}` }, dialect: mercure({ topics: [BOOKS, AUTHORS] }) }, (_e, all) => all.length === 2)
    const anonymous = consume({ url: hub.url, dialect: mercure({ topics: [BOOKS, AUTHORS] }) }, (_e, all) => all.length === 1)
    await hub.waitForConnection(2)
    hub.publish({ topics: BOOKS, data: 'private book', private: true })
    hub.publish({ topics: AUTHORS, data: 'private author', private: true }) // routed to both, granted to none
    hub.publish({ topics: AUTHORS, data: 'public author' })
    expect((await withToken).data).toEqual(['private book', 'public author'])
    expect((await anonymous).data).toEqual(['public author'])
  })

  it('draft-07: the `mercureAuthorization` cookie with a `mercure.subscribe` claim', async () => {
    await start({ protocol: 'draft-07' })
    const cookie = `theme=dark; mercureAuthorization=${signJwt({ mercure: { subscribe: ['https://example.com/books/{id}'] } }, 'test-key', { typ: 'JWT' })}`
    const running = consume({ url: hub.url, headers: { cookie }, fingerprint: 'user-1', dialect: mercure({ topics: '*', protocol: 'draft-07' }) }, (_e, all) => all.length === 2)
    await hub.waitForConnection(1)
    hub.publish({ topics: AUTHORS, data: 'private author', private: true })
    hub.publish({ topics: BOOKS, data: 'private book', private: true })
    hub.publish({ topics: AUTHORS, data: 'public author' })
    expect((await running).data).toEqual(['private book', 'public author'])
    expect(hub.subscribes[0]?.cookie).toBe(cookie)
  })

  it('a token with a bad signature is refused with 401 invalid_token', async () => {
    await start({ requireSubscriberToken: true })
    const forged = token08([BOOKS], {}, 'not-the-key')
    const { error } = await consume({ url: hub.url, headers: { authorization: `Bearer ${forged}` }, dialect: mercure({ topics: BOOKS }) })
    expect(error).toBeInstanceOf(HttpError)
    expect((error as HttpError).status).toBe(401)
    expect(hub.subscribes[0]?.status).toBe(401)
  })
})

describe('mercure(): the wrong protocol revision', () => {
  it('a draft-07 subscription on a draft-08 hub is refused with a 400, not silently unrouted', async () => {
    await start()
    const { error } = await consume({ url: hub.url, dialect: mercure({ topics: BOOKS, protocol: 'draft-07' }) })
    expect(error).toBeInstanceOf(HttpError)
    expect((error as HttpError).status).toBe(400)
    expect((error as HttpError).body).toMatch(/"topic"/)
  })

  it('the hub refuses a publication the token does not grant on every topic (403), and dispatches nothing', async () => {
    await start()
    const response = await fetch(hub.url, {
      method: 'POST',
      headers: { authorization: `Bearer ${token08([BOOKS])}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams([['topic', BOOKS], ['topic', AUTHORS], ['data', 'x']]),
    })
    expect(response.status).toBe(403)
    expect(response.headers.get('www-authenticate')).toBe('Bearer error="insufficient_scope"')
    hub.publish({ topics: BOOKS, data: 'granted' })
    // The whole history, read back: the refused update is not in it.
    const { data } = await consume({ url: hub.url, dialect: mercure({ topics: BOOKS, earliest: true }) }, (_e, all) => all.length === 1)
    expect(data).toEqual(['granted'])
  })
})

describe('mercure(): options', () => {
  it('refuses options that cannot work, before any request', () => {
    expect(() => mercure(undefined as never)).toThrow(ConfigError)
    expect(() => mercure({ topics: [] })).toThrow(/at least one topic/)
    expect(() => mercure({ topics: [''] })).toThrow(ConfigError)
    expect(() => mercure({ topics: 'a', protocol: 'draft-06' as never })).toThrow(ConfigError)
    expect(() => mercure({ topics: 'a', cursor: 'body' as never })).toThrow(ConfigError)
    expect(() => mercure({ topics: 'a', urlPatterns: ['/books/:id'], protocol: 'draft-07' })).toThrow(/draft-08/)
  })
})
