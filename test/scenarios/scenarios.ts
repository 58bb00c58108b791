// The behaviour scenarios, written once and run unchanged in Node (vitest), Deno (deno test), workerd
// (inside a Worker request) and Chromium (inside a page, ESM and IIFE builds). Each receives the
// *built* library as `ctx.lib` and the test server's base URL; it imports nothing, so every runtime can
// load it as is (Deno and vitest as TypeScript, workerd and the browser after esbuild strips the types).
//
// The server's URL language is in test/server/README.md: `/events?sid=&total=&plan=[...]` chooses what
// each connection of a `sid` does; `/_log?sid=` tells what each connection was sent by the client.

// ---------------------------------------------------------------------------------------------------
// The slice of the public API the scenarios use, typed structurally (importing src/ types would tie
// this file to one resolver; the runtime check is that the built package behaves like this).

export interface Checkpoint {
  readonly sequence: number
  readonly cursor: string
}

export interface CheckpointStore {
  get(key: string): Promise<Checkpoint | undefined>
  put(key: string, checkpoint: Checkpoint): Promise<void>
  delete(key: string): Promise<void>
}

export interface SSEEvent {
  readonly type: string
  readonly data: string
  readonly id: string | undefined
  readonly sequence: number
  readonly cursor: string
  readonly restarted?: boolean
  json<T = unknown>(): T
}

export type Status = 'connecting' | 'open' | 'backoff' | 'refreshing-auth' | 'closed'

export interface StatusChange {
  readonly status: Status
  readonly previous: Status
  readonly attempt: number
  readonly reconnects: number
  readonly delay?: number
  readonly reason?: string
  readonly error?: { code: string; message: string }
}

export interface Subscription extends AsyncIterable<SSEEvent> {
  readonly status: Status
  readonly key: string
  readonly checkpoint: Checkpoint | undefined
  readonly reconnects: number
  close(): Promise<void>
  flush(): Promise<void>
  forEach(handler: (event: SSEEvent) => void | Promise<void>): Promise<void>
}

export interface Lib {
  subscribe(options: Record<string, unknown>): Subscription
  MemoryStore: new () => CheckpointStore
  lastEventId(options?: Record<string, unknown>): unknown
}

/** What one connection to `/events` sent, as the test server recorded it. */
export interface RequestRecord {
  n: number
  method: string
  body: string
  headers: { 'last-event-id'?: string; authorization?: string }
}

export interface ScenarioContext {
  /** The built package (`dist/index.js`, or the `ResumableSSE` global of the IIFE build). */
  lib: Lib
  /** The test server, e.g. `http://127.0.0.1:40123`. */
  server: string
  /** Tells scenario runs apart on the shared server (runtime name, page name...). */
  tag: string
}

export interface Scenario {
  name: string
  run(ctx: ScenarioContext): Promise<void>
}

// ---------------------------------------------------------------------------------------------------
// Helpers: assertions that read well in any runtime, and the test server's URL language.

export class ScenarioFailure extends Error {
  override name = 'ScenarioFailure'
}

export function fail(message: string): never {
  throw new ScenarioFailure(message)
}

export function show(value: unknown): string {
  try {
    return JSON.stringify(value)
  } catch {
    return String(value)
  }
}

export function equal<T>(actual: T, expected: T, what: string): void {
  if (show(actual) !== show(expected)) fail(`${what}: expected ${show(expected)}, got ${show(actual)}`)
}

export function ok(condition: unknown, what: string): asserts condition {
  if (!condition) fail(what)
}

/**
 * A hang guard, not a speed check: a scenario that waits for something that never comes fails with
 * a message instead of hanging a Worker request or a page. The limits are many times the expected
 * time. The timer is always cleared, so Deno's sanitizer sees nothing left behind.
 */
export async function within<T>(ms: number, what: string, work: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const guard = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ScenarioFailure(`${what}: did not happen within ${ms} ms`)), ms)
  })
  try {
    return await Promise.race([work, guard])
  } finally {
    clearTimeout(timer)
  }
}

export interface PlanEntry {
  status?: number
  interval?: number
  retryAfter?: string
  events?: number
  then?: 'end' | 'drop' | 'drop-mid-frame' | 'stall' | 'hold'
  heartbeat?: number
  /** Raw text written first. */
  garbage?: string
}

export interface Feed {
  total?: number
  plan?: PlanEntry[]
  /** After the plan's last entry (and by default on it), keep the connection open. */
  hold?: boolean
  token?: string
  heartbeat?: number
}

let counter = 0

/** A fresh stream id per run, so scenarios never see each other's connections. */
export function sid(ctx: ScenarioContext, name: string): string {
  counter += 1
  return `${ctx.tag}-${name}-${counter}-${Math.random().toString(36).slice(2, 8)}`
}

export function feedUrl(ctx: ScenarioContext, id: string, feed: Feed): string {
  const url = new URL('/events', ctx.server)
  url.searchParams.set('sid', id)
  if (feed.total !== undefined) url.searchParams.set('total', String(feed.total))
  if (feed.plan !== undefined) url.searchParams.set('plan', JSON.stringify(feed.plan))
  if (feed.hold ?? true) url.searchParams.set('hold', '1')
  if (feed.token !== undefined) url.searchParams.set('token', feed.token)
  if (feed.heartbeat !== undefined) url.searchParams.set('heartbeat', String(feed.heartbeat))
  return url.href
}

export async function serverLog(ctx: ScenarioContext, id: string): Promise<RequestRecord[]> {
  const response = await fetch(new URL(`/_log?sid=${encodeURIComponent(id)}`, ctx.server))
  return (await response.json()) as RequestRecord[]
}

/** Short retry windows: the scenarios prove *what* happens, and should not wait 250 ms per retry. */
export const FAST = { baseDelay: 20, maxDelay: 200 }

// A subscription has one consumer: its iterator is taken once and reused by every `take`.
const iterators = new WeakMap<Subscription, AsyncIterator<SSEEvent>>()

/** Pulls exactly `count` events, leaving the subscription open. */
export async function take(sub: Subscription, count: number): Promise<SSEEvent[]> {
  const events: SSEEvent[] = []
  if (count === 0) return events
  let iterator = iterators.get(sub)
  if (iterator === undefined) iterators.set(sub, (iterator = sub[Symbol.asyncIterator]()))
  while (events.length < count) {
    const result = await iterator.next()
    if (result.done) fail(`the subscription ended after ${events.length} of ${count} events (status ${sub.status})`)
    events.push(result.value)
  }
  return events
}

/** The `n` of each event of the test server's feed, which numbers its events 1, 2, 3... */
export function numbers(events: SSEEvent[]): number[] {
  return events.map((event) => event.json<{ n: number }>().n)
}

export function range(from: number, to: number): number[] {
  const out: number[] = []
  for (let n = from; n <= to; n += 1) out.push(n)
  return out
}

/** Every status change, for asserting on the path a subscription took. */
export function recorder(): { changes: StatusChange[]; onStatus(change: StatusChange): void; saw(status: Status, reason?: string): boolean } {
  const changes: StatusChange[] = []
  return {
    changes,
    onStatus: (change) => changes.push(change),
    saw: (status, reason) => changes.some((c) => c.status === status && (reason === undefined || c.reason === reason)),
  }
}

export function path(changes: StatusChange[]): string {
  return changes.map((c) => (c.reason ? `${c.status}(${c.reason})` : c.status)).join(' → ')
}

/** Resolves at the first status change that matches. */
export function statusReached(rec: ReturnType<typeof recorder>, status: Status): { promise: Promise<StatusChange>; onStatus(c: StatusChange): void } {
  let resolve!: (change: StatusChange) => void
  const promise = new Promise<StatusChange>((r) => (resolve = r))
  return {
    promise,
    onStatus(change) {
      rec.onStatus(change)
      if (change.status === status) resolve(change)
    },
  }
}

/** Runs the iterator to its end, returning what it still delivered. */
export async function drain(sub: Subscription): Promise<SSEEvent[]> {
  const rest: SSEEvent[] = []
  for await (const event of sub) rest.push(event)
  return rest
}

// ---------------------------------------------------------------------------------------------------
// The scenarios.

export const scenarios: Scenario[] = [
  {
    name: 'receives every event in order with its id, type, sequence and JSON data',
    async run(ctx) {
      const id = sid(ctx, 'receive')
      const sub = ctx.lib.subscribe({ url: feedUrl(ctx, id, { total: 5 }), backoff: FAST })
      try {
        const events = await within(10_000, 'five events', take(sub, 5))
        equal(numbers(events), [1, 2, 3, 4, 5], 'event payloads')
        equal(events.map((e) => e.id), ['1', '2', '3', '4', '5'], 'event ids')
        equal(events.map((e) => e.type), ['message', 'message', 'message', 'message', 'message'], 'event types')
        for (let i = 1; i < events.length; i += 1) {
          ok((events[i] as SSEEvent).sequence > (events[i - 1] as SSEEvent).sequence, `sequence must increase: ${show(events.map((e) => e.sequence))}`)
        }
        equal(events[4]?.cursor, '5', 'cursor of the last event (the Last-Event-ID to resume from)')
        equal(sub.status, 'open', 'status while streaming')
      } finally {
        await sub.close()
      }
      equal(sub.status, 'closed', 'status after close()')
      equal((await serverLog(ctx, id)).length, 1, 'connections made')
    },
  },

  {
    name: 'resumes after the server drops the connection, with no event lost or repeated',
    async run(ctx) {
      const id = sid(ctx, 'drop')
      // Connection 1 is cut cleanly after 3 events, connection 2 in the middle of a frame after 3
      // more, connection 3 sends the rest and holds. Events on the cut connections are 100 ms apart:
      // Chromium throws away bytes it had not yet handed to the page when a connection is reset, so
      // only events sent well before the cut are sure to arrive (Node, Deno and workerd get all).
      const url = feedUrl(ctx, id, {
        total: 10,
        plan: [
          { events: 3, then: 'drop', interval: 100 },
          { events: 3, then: 'drop-mid-frame', interval: 100 },
          { then: 'hold' },
        ],
      })
      const rec = recorder()
      const sub = ctx.lib.subscribe({ url, backoff: FAST, onStatus: rec.onStatus })
      try {
        const events = await within(15_000, 'ten events across three connections', take(sub, 10))
        equal(numbers(events), range(1, 10), 'events delivered (each exactly once, in order)')
        equal(sub.reconnects, 2, 'reconnects')
      } finally {
        await sub.close()
      }
      // Each reconnect resumes from an event the previous connection delivered (the last one, or the
      // one before it where the runtime lost the bytes just before the cut), never from scratch.
      const resumed = (await serverLog(ctx, id)).map((r) => r.headers['last-event-id'] ?? null)
      equal(resumed.length, 3, 'connections made')
      equal(resumed[0], null, 'Last-Event-ID on the first connection')
      const second = Number(resumed[1])
      ok(second >= 2 && second <= 3, `Last-Event-ID on the second connection should be 3 (or 2): ${show(resumed)}`)
      const third = Number(resumed[2])
      ok(third >= second + 2 && third <= second + 3, `Last-Event-ID on the third connection should follow the second's events: ${show(resumed)}`)
      ok(rec.saw('backoff'), `expected a backoff between connections: ${path(rec.changes)}`)
    },
  },

  {
    name: "an expired Last-Event-ID (410) with onCursorExpired 'restart': the notice in order, the new history from the start",
    async run(ctx) {
      const id = sid(ctx, 'expired')
      // Connection 1: events 1-3, then the body ends; 2: Last-Event-ID 3 is answered 410; 3: the feed
      // again from 1 (the server's new history), held open.
      const url = feedUrl(ctx, id, { total: 4, plan: [{ events: 3, then: 'end' }, { status: 410 }, { then: 'hold' }] })
      const store = new ctx.lib.MemoryStore()
      const order: string[] = []
      const sub = ctx.lib.subscribe({
        url,
        store,
        backoff: FAST,
        dialect: ctx.lib.lastEventId({ expiredStatuses: [410] }),
        onCursorExpired: 'restart',
        onNotice: (notice: { kind: string; error?: { code: string } }) => {
          if (notice.kind === 'cursor-expired') order.push(`expired(${notice.error?.code})`)
        },
      })
      try {
        const see = (events: SSEEvent[]) => {
          for (const event of events) order.push(`${event.json<{ n: number }>().n}${event.restarted === true ? '*' : ''}`)
        }
        see(await within(15_000, 'the old history', take(sub, 3)))
        see(await within(15_000, 'the new history', take(sub, 2)))
        // Told after finishing the old history's last event, before the new one's first, which is marked.
        equal(order, ['1', '2', '3', 'expired(cursor-expired)', '1*', '2'], 'events and the notice, in order')
      } finally {
        await sub.close()
      }
      // The new history's first event was finished: the checkpoint moved to it though its sequence is lower.
      const checkpoint = await store.get(sub.key)
      equal(checkpoint && [checkpoint.sequence, checkpoint.cursor], [1, '1'], 'checkpoint')
      const resumed = (await serverLog(ctx, id)).map((r) => r.headers['last-event-id'] ?? null)
      equal(resumed, [null, '3', null], 'Last-Event-ID per connection')
    },
  },

  {
    name: 'resumes from an id-only block, and from a non-ASCII id sent as its UTF-8 bytes',
    async run(ctx) {
      const id = sid(ctx, 'ids')
      const nonAscii = 'ü€-1'
      // Bodies that end cleanly (not resets: Chromium drops bytes in flight when a connection resets).
      const url = feedUrl(ctx, id, {
        total: 2,
        plan: [
          { garbage: 'id: 1\ndata: a\n\nid: 2\n\n', events: 0, then: 'end' },
          { garbage: `id: ${nonAscii}\ndata: b\n\n`, events: 0, then: 'end' },
          { then: 'hold' },
        ],
      })
      const sub = ctx.lib.subscribe({ url, backoff: FAST })
      try {
        const events = await within(15_000, 'a, b, then the feed from its start', take(sub, 4))
        const seen = events.map((event) => [event.data.startsWith('{') ? String(event.json<{ n: number }>().n) : event.data, event.cursor])
        equal(seen, [['a', '1'], ['b', nonAscii], ['1', '1'], ['2', '2']], 'events and their cursors')
      } finally {
        await sub.close()
      }
      const sent = (await serverLog(ctx, id)).map((r) => r.headers['last-event-id'] ?? null)
      equal(sent.slice(0, 2), [null, '2'], 'Last-Event-ID on the first connection, then after the id-only block')
      // The server decodes header bytes as latin1: the id's UTF-8 bytes read back one char per byte.
      const utf8 = String.fromCharCode(...new TextEncoder().encode(nonAscii))
      ok(sent[2] === utf8, `Last-Event-ID after a non-ASCII id should be its UTF-8 bytes: ${show(sent)}`)
    },
  },

  {
    name: 'a new subscription with the same store resumes after the last finished event',
    async run(ctx) {
      const id = sid(ctx, 'store')
      const url = feedUrl(ctx, id, { total: 8, plan: [{ events: 8, then: 'hold' }, { then: 'hold' }] })
      const store = new ctx.lib.MemoryStore()

      // The consumer finishes events 1..4. Pulling the fifth commits the fourth, and the fifth is
      // never finished: close() without commitOnClose leaves it uncommitted (at-least-once).
      const first = ctx.lib.subscribe({ url, store, backoff: FAST })
      let key: string
      try {
        const seen = await within(10_000, 'first subscription', take(first, 5))
        equal(numbers(seen), [1, 2, 3, 4, 5], 'first subscription events')
        key = first.key
      } finally {
        await first.close()
      }
      const saved = await store.get(key)
      equal(saved?.cursor, '4', 'checkpoint cursor after the first subscription (event 5 was not finished)')

      const second = ctx.lib.subscribe({ url, store, backoff: FAST })
      try {
        equal(second.key, key, 'the derived key is the same for the same url')
        const rest = await within(10_000, 'second subscription', take(second, 4))
        equal(numbers(rest), [5, 6, 7, 8], 'second subscription resumes at the unfinished event')
      } finally {
        await second.close()
      }
      const log = await serverLog(ctx, id)
      equal(log.map((r) => r.headers['last-event-id'] ?? null), [null, '4'], 'Last-Event-ID on each connection')
    },
  },

  {
    // Issue 10: redirects within the origin keep working (Node, Deno and Workers follow them
    // ourselves with `redirect: 'manual'`; browsers through their opaque redirect), and a POST body
    // survives a 307.
    name: 'follows a same-origin redirect, keeping a POST body',
    async run(ctx) {
      const id = sid(ctx, 'redirect')
      const target = new URL(feedUrl(ctx, id, { total: 2, hold: false }))
      const url = `${ctx.server}/redirect?status=307&to=${encodeURIComponent(target.pathname + target.search)}`
      const sub = ctx.lib.subscribe({ url, method: 'POST', body: { hello: 'there' }, mode: 'replay', backoff: FAST, maxRetries: 1 })
      const data: number[] = []
      await within(10_000, 'the redirected replay', sub.forEach((event) => void data.push(event.json<{ n: number }>().n)))
      equal(data, [1, 2], 'events')
      const log = await serverLog(ctx, id)
      equal(log.map((r) => [r.method, r.body]), [['POST', '{"hello":"there"}']], 'what reached the feed')
    },
  },

  {
    name: 'waits out 503 with Retry-After, then streams',
    async run(ctx) {
      const id = sid(ctx, 'retry-after')
      const url = feedUrl(ctx, id, { total: 3, plan: [{ status: 503, retryAfter: '1' }, { then: 'hold' }] })
      const rec = recorder()
      const sub = ctx.lib.subscribe({ url, backoff: FAST, onStatus: rec.onStatus })
      try {
        const events = await within(10_000, 'events after the 503', take(sub, 3))
        equal(numbers(events), [1, 2, 3], 'events')
      } finally {
        await sub.close()
      }
      const backoff = rec.changes.find((c) => c.status === 'backoff')
      ok(backoff, `expected a backoff after the 503: ${path(rec.changes)}`)
      equal(backoff.reason, 'http', 'backoff reason')
      // Retry-After: 1 outranks the 20 ms base delay: the planned wait is at least one second.
      ok((backoff.delay ?? 0) >= 1000, `backoff delay should honour Retry-After: 1, got ${String(backoff.delay)}`)
      equal((await serverLog(ctx, id)).length, 2, 'connections made')
    },
  },

  {
    name: 'on 401 calls refreshAuth once, then continues with the new credentials',
    async run(ctx) {
      const id = sid(ctx, 'auth')
      const url = feedUrl(ctx, id, { total: 3, token: 'fresh' })
      let token = 'stale'
      const refreshes: number[] = []
      const rec = recorder()
      const sub = ctx.lib.subscribe({
        url,
        backoff: FAST,
        headers: () => ({ authorization: `Bearer ${token}` }),
        refreshAuth: ({ status }: { status: number }) => {
          refreshes.push(status)
          token = 'fresh'
        },
        onStatus: rec.onStatus,
      })
      try {
        const events = await within(10_000, 'events after refreshing auth', take(sub, 3))
        equal(numbers(events), [1, 2, 3], 'events')
      } finally {
        await sub.close()
      }
      equal(refreshes, [401], 'refreshAuth calls')
      ok(rec.saw('refreshing-auth'), `expected a refreshing-auth status: ${path(rec.changes)}`)
      const log = await serverLog(ctx, id)
      equal(log.map((r) => r.headers.authorization), ['Bearer stale', 'Bearer fresh'], 'Authorization per connection')
    },
  },

  {
    name: 'reconnects when the connection goes silent past heartbeatTimeout, and resumes',
    async run(ctx) {
      const id = sid(ctx, 'starve')
      // Connection 1 sends 2 events then not a byte more; the second sends the rest and keeps
      // heartbeating, so it is not starved in turn.
      const url = feedUrl(ctx, id, { total: 5, plan: [{ events: 2, then: 'stall' }, { then: 'hold', heartbeat: 50 }] })
      const rec = recorder()
      const sub = ctx.lib.subscribe({ url, backoff: FAST, heartbeatTimeout: 300, onStatus: rec.onStatus })
      try {
        const events = await within(10_000, 'events across the starved connection', take(sub, 5))
        equal(numbers(events), [1, 2, 3, 4, 5], 'events')
      } finally {
        await sub.close()
      }
      ok(rec.changes.some((c) => c.reason === 'starved'), `expected a reconnect for starvation: ${path(rec.changes)}`)
      const log = await serverLog(ctx, id)
      equal(log.map((r) => r.headers['last-event-id'] ?? null), [null, '2'], 'Last-Event-ID per connection')
    },
  },

  {
    name: 'heartbeat comments keep a quiet connection alive',
    async run(ctx) {
      const id = sid(ctx, 'heartbeat')
      // Two events, then only `:hb` comments every 50 ms for longer than the 400 ms timeout.
      const url = feedUrl(ctx, id, { total: 3, heartbeat: 50, plan: [{ events: 2, then: 'hold' }] })
      const sub = ctx.lib.subscribe({ url, backoff: FAST, heartbeatTimeout: 400 })
      try {
        await within(10_000, 'two events', take(sub, 2))
        await new Promise((r) => setTimeout(r, 1200))
        equal(sub.reconnects, 0, 'reconnects while heartbeats kept coming')
        equal(sub.status, 'open', 'status')
      } finally {
        await sub.close()
      }
      equal((await serverLog(ctx, id)).length, 1, 'connections made')
    },
  },

  {
    name: 'aborting the signal mid-stream ends iteration and closes',
    async run(ctx) {
      const id = sid(ctx, 'abort-stream')
      const controller = new AbortController()
      const rec = recorder()
      const sub = ctx.lib.subscribe({
        url: feedUrl(ctx, id, { total: 100, plan: [{ events: 2, then: 'hold' }] }),
        signal: controller.signal,
        backoff: FAST,
        onStatus: rec.onStatus,
      })
      const seen: number[] = []
      await within(10_000, 'iteration to end after abort', (async () => {
        for await (const event of sub) {
          seen.push(event.json<{ n: number }>().n)
          if (seen.length === 2) controller.abort()
        }
      })())
      equal(seen, [1, 2], 'events before the abort')
      equal(sub.status, 'closed', 'status after abort')
      const last = rec.changes.at(-1)
      equal(last?.status, 'closed', 'last status change')
      equal(last?.reason, 'aborted', 'close reason')
      // close() after the end is a harmless no-op.
      await within(5_000, 'close() after abort', sub.close())
    },
  },

  {
    name: 'close() during a long backoff ends at once instead of waiting it out',
    async run(ctx) {
      const id = sid(ctx, 'close-backoff')
      // A 30 s Retry-After: the 5 s guard fails the scenario if close() waited for it.
      const rec = recorder()
      const backoff = statusReached(rec, 'backoff')
      const sub = ctx.lib.subscribe({
        url: feedUrl(ctx, id, { total: 3, plan: [{ status: 503, retryAfter: '30' }] }),
        backoff: FAST,
        onStatus: backoff.onStatus,
      })
      const ended = drain(sub)
      const change = await within(10_000, 'backoff after the 503', backoff.promise)
      ok((change.delay ?? 0) >= 30_000, `expected a 30 s backoff, got ${String(change.delay)}`)
      await within(5_000, 'close() during backoff', sub.close())
      equal(await within(5_000, 'iteration to end', ended), [], 'events delivered')
      equal(sub.status, 'closed', 'status')
      equal((await serverLog(ctx, id)).length, 1, 'connections made (no retry after close)')
    },
  },

  {
    name: 'aborting the signal during backoff ends iteration at once',
    async run(ctx) {
      const id = sid(ctx, 'abort-backoff')
      const controller = new AbortController()
      const rec = recorder()
      const backoff = statusReached(rec, 'backoff')
      const sub = ctx.lib.subscribe({
        url: feedUrl(ctx, id, { total: 3, plan: [{ status: 503, retryAfter: '30' }] }),
        signal: controller.signal,
        backoff: FAST,
        onStatus: backoff.onStatus,
      })
      const ended = drain(sub)
      await within(10_000, 'backoff after the 503', backoff.promise)
      controller.abort()
      equal(await within(5_000, 'iteration to end after abort', ended), [], 'events delivered')
      equal(sub.status, 'closed', 'status')
      equal(rec.changes.at(-1)?.reason, 'aborted', 'close reason')
    },
  },
]

// ---------------------------------------------------------------------------------------------------
// Resuming across process lifetimes: the first half runs in one Worker invocation (or page load), the
// second in the next one, with nothing shared but a durable store and the stream id. The runtime
// harness supplies the store (Workers KV, IndexedDB, localStorage...) and runs the halves apart.

export const acrossLifetimes = {
  name: 'resumes in a new lifetime (invocation, page load) from a durable store',

  /** A stream id for both halves to share. */
  sid(ctx: ScenarioContext): string {
    return sid(ctx, 'lifetimes')
  },

  url(ctx: ScenarioContext, id: string): string {
    return feedUrl(ctx, id, { total: 8, plan: [{ events: 8, then: 'hold' }, { then: 'hold' }] })
  },

  /**
   * Finishes events 1..4 (holding 5 unfinished), closes, and returns the key that was used. The stores
   * here persist, so the identity rule wants a fingerprint in a browser: this feed is the same for all.
   */
  async first(ctx: ScenarioContext, id: string, store: CheckpointStore): Promise<string> {
    const sub = ctx.lib.subscribe({ url: acrossLifetimes.url(ctx, id), store, fingerprint: 'public', backoff: FAST })
    let key: string
    try {
      equal(numbers(await within(10_000, 'first lifetime', take(sub, 5))), [1, 2, 3, 4, 5], 'first lifetime events')
      key = sub.key
    } finally {
      // close() resolves once the checkpoint is durable in the store (KV may defer a write by 1 s).
      await within(10_000, 'close() flushing the store', sub.close())
    }
    equal((await store.get(key))?.cursor, '4', 'checkpoint after the first lifetime')
    return key
  },

  /** Starts over from the store alone and must continue at event 5, the one left unfinished. */
  async second(ctx: ScenarioContext, id: string, store: CheckpointStore, key: string): Promise<void> {
    const sub = ctx.lib.subscribe({ url: acrossLifetimes.url(ctx, id), store, fingerprint: 'public', backoff: FAST })
    try {
      equal(sub.key, key, 'the derived key in the second lifetime')
      equal(numbers(await within(10_000, 'second lifetime', take(sub, 4))), [5, 6, 7, 8], 'second lifetime events')
    } finally {
      await sub.close()
    }
    const log = await serverLog(ctx, id)
    equal(log.map((r) => r.headers['last-event-id'] ?? null), [null, '4'], 'Last-Event-ID on each connection')
  },
}
