// A real server: nginx + nchan (Debian packages). The standard dialect resumes from nchan's opaque
// `time:tag` ids with the Last-Event-ID header or the `last_event_id` query parameter, across the
// connection ends nchan makes (memory storage), nginx restarts (Redis storage, so messages survive)
// and client restarts, with messages published while the client is away each time.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Dialect, MemoryStore, type SSEEvent, lastEventId, subscribe } from '../../src/index.js'
import { type Nchan, startNchan } from '../support/nchan.js'

let nchan: Nchan
beforeAll(async () => {
  nchan = await startNchan()
}, 30_000)
afterAll(async () => {
  await nchan?.stop()
})

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
let channels = 0

/** A fetch whose calls wait while the gate is closed: what the server does meanwhile, the client misses. */
function gate() {
  let barrier: Promise<void> = Promise.resolve()
  let release = () => {}
  return {
    gated: (async (input, init) => {
      await barrier
      return fetch(input, init)
    }) as typeof fetch,
    close() {
      barrier = new Promise((resolve) => (release = resolve))
    },
    open: () => release(),
  }
}

/** Opens a subscription and collects its events until `count` arrived. */
function collect(url: string, dialect: Dialect, store: MemoryStore, count: number, options: { fetch?: typeof fetch; commitOnClose?: boolean } = {}) {
  const events: SSEEvent[] = []
  const sub = subscribe({ url, dialect, store, heartbeatTimeout: false, commitInterval: 0, backoff: { baseDelay: 20, maxDelay: 200 }, ...options })
  const done = (async () => {
    for await (const event of sub) {
      events.push(event)
      if (events.length === count) break
    }
  })()
  return { sub, events, done }
}

describe.each([
  ['the Last-Event-ID header', lastEventId(), 'header'],
  ['the last_event_id query parameter', lastEventId({ queryParam: 'last_event_id' }), 'query'],
] as const)('nchan, resuming with %s', (_how, dialect, where) => {
  it('keeps every message, in order and once, when nchan ends idle connections and messages arrive meanwhile', async () => {
    const channel = `cut${++channels}${where}`
    const sent = [await nchan.publish(channel, 'm1', 'memory'), await nchan.publish(channel, 'm2', 'memory')]
    const { gated, close, open } = gate()
    const { sub, events, done } = collect(`${nchan.url}/mem/sub-cut/${channel}`, dialect, new MemoryStore(), 8, { fetch: gated })
    for (let round = 1; round <= 3; round += 1) {
      while (events.length < 2 * round || sub.status !== 'open') await sleep(20)
      close()
      // nchan ends a subscriber after a second without a message (`:408` comment, end of body).
      while (sub.status === 'open') await sleep(20)
      sent.push(await nchan.publish(channel, `m${2 * round + 1}`, 'memory'), await nchan.publish(channel, `m${2 * round + 2}`, 'memory'))
      open()
    }
    await done
    expect(events.map((event) => event.data)).toEqual(Array.from({ length: 8 }, (_, i) => `m${i + 1}`))
    expect(events.map((event) => event.id)).toEqual(sent)
    expect(sub.reconnects).toBe(3)
    // Every resume carried the cursor the chosen way, and only that way.
    const resumes = (await nchan.subscribeLog()).filter((line) => line.includes(`/mem/sub-cut/${channel} `)).slice(1)
    expect(resumes).toHaveLength(3)
    for (const line of resumes) {
      if (where === 'header') expect(line).toMatch(/header=\[\d+:\d+\] query=\[-\]/)
      else expect(line).toMatch(/header=\[-\] query=\[\d+(%3A|:)\d+\]/)
    }
  })

  it('loses nothing across nginx restarts, with messages published while the client was away, and across a client restart', async () => {
    const channel = `restart${++channels}${where}`
    const url = `${nchan.url}/sub/${channel}`
    const store = new MemoryStore()
    for (let n = 1; n <= 3; n += 1) await nchan.publish(channel, `m${n}`)

    // Reconnects wait at a gate, so the restart and the publications happen while the client is away.
    const { gated, close, open } = gate()
    const first = collect(url, dialect, store, 6, { fetch: gated, commitOnClose: true })
    while (first.events.length < 3) await sleep(20)
    close()
    await nchan.restart()
    await nchan.publish(channel, 'm4')
    await nchan.publish(channel, 'm5')
    open()
    while (first.events.length < 5) await sleep(20)
    close()
    await nchan.restart()
    await nchan.publish(channel, 'm6')
    open()
    await first.done
    expect(first.events.map((event) => event.data)).toEqual(['m1', 'm2', 'm3', 'm4', 'm5', 'm6'])
    await first.sub.close()

    // The client restarts too: a new subscription resumes from the checkpoint the first one left.
    await nchan.restart()
    await nchan.publish(channel, 'm7')
    const second = collect(url, dialect, store, 1)
    await second.done
    expect(second.sub.key).toBe(first.sub.key)
    expect(second.events.map((event) => event.data)).toEqual(['m7'])
    await second.sub.close()
  })
})
