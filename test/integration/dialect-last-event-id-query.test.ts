// `lastEventId({ queryParam })`: the cursor travels in the query string instead of the header, and
// the resume key does not move with it.
import { describe, expect, it } from 'vitest'
import { ConfigError, MemoryStore, lastEventId, resumeKey, type SubscribeOptions } from '../../src/index.js'
import { consume, fastTimers } from '../support/consume.js'
import { useFeedServer } from '../support/feed-server.js'

const { feed, log } = useFeedServer('q')

const collect = (options: SubscribeOptions, limit = Number.POSITIVE_INFINITY) => consume({ commitInterval: 0, ...options }, (_, all) => all.length >= limit)

describe('lastEventId({ queryParam })', () => {
  it('resumes across connection cuts with the cursor in the query and never in the header', async () => {
    // The test server reads `lastEventId=` as the cursor when there is no header.
    const { url, sid } = feed({ total: 6, plan: [{ events: 2, then: 'drop' }, { events: 2, then: 'drop-mid-frame' }] })
    const r = await collect({ url, mode: 'replay', dialect: lastEventId({ queryParam: 'lastEventId' }), runtime: fastTimers().runtime })
    expect(r.error).toBeUndefined()
    expect(r.sequences).toEqual([1, 2, 3, 4, 5, 6])
    const requests = log(sid)
    expect(requests.map((request) => request.query.lastEventId)).toEqual([undefined, '2', '4'])
    expect(requests.map((request) => request.headers['last-event-id'])).toEqual([undefined, undefined, undefined])
    // Everything else in the user's URL is kept as it was.
    expect(requests.every((request) => request.query.sid === sid && request.query.plan !== undefined)).toBe(true)
  })

  it('keeps the resume key of the header form, so a checkpoint written either way resumes the other', async () => {
    const { url, sid } = feed({ total: 5, plan: [{ events: 2, then: 'end' }] })
    const store = new MemoryStore()
    const first = await collect({ url, store, commitOnClose: true, dialect: lastEventId(), runtime: fastTimers().runtime }, 2)
    expect(first.sequences).toEqual([1, 2])
    const second = await collect({ url, store, mode: 'replay', dialect: lastEventId({ queryParam: 'lastEventId' }), runtime: fastTimers().runtime })
    expect(second.sub.key).toBe(first.sub.key)
    expect(second.sub.key).toBe(resumeKey({ url, method: 'GET', dialect: 'last-event-id' }))
    expect(second.sequences).toEqual([3, 4, 5])
    expect(log(sid).at(-1)?.query.lastEventId).toBe('2')
  })

  it('replaces a bootstrap cursor in the URL once the stream moved past it', async () => {
    const { url, sid } = feed({ total: 4, lastEventId: 1, plan: [{ events: 1, then: 'drop' }] })
    const r = await collect({ url, mode: 'replay', dialect: lastEventId({ queryParam: 'lastEventId' }), runtime: fastTimers().runtime })
    expect(r.sequences).toEqual([2, 3, 4])
    expect(log(sid).map((request) => request.query.lastEventId)).toEqual(['1', '2'])
  })

  it('refuses an empty or non-string parameter name', () => {
    expect(() => lastEventId({ queryParam: '' })).toThrow(ConfigError)
    expect(() => lastEventId({ queryParam: 3 as unknown as string })).toThrow(ConfigError)
  })
})
