import type { Checkpoint, CheckpointStore } from './checkpoint/contract.js'
import type { Dialect } from './dialects/dialect.js'
import type { ResumableSSEError } from './errors.js'

/** Where the subscription is in its life. */
export type Status = 'connecting' | 'open' | 'backoff' | 'refreshing-auth' | 'closed'

/** One delivered event. */
export interface SSEEvent {
  /** The SSE `event:` field, `'message'` when the server sent none. */
  readonly type: string
  readonly data: string
  /** The SSE `id:` field as sent, when there was one. */
  readonly id: string | undefined
  /**
   * Increasing along the stream; what dedupe and the checkpoint are ordered by. An event without an
   * SSE id carries the previous event's sequence (it cannot be resumed from, so it is never committed).
   */
  readonly sequence: number
  /**
   * The position after this event: what is sent back to resume. With `lastEventId()` it is the HTML
   * standard's last event ID at dispatch (an event without `id:` keeps the previous one, an id-only
   * block updates it, an empty `id:` resets it to `''`).
   */
  readonly cursor: string
  /**
   * `true` on the first event after an expired cursor was restarted (`onCursorExpired: 'restart'`):
   * the history before it is gone, so what was built from earlier events may be stale. Absent otherwise.
   */
  readonly restarted?: boolean
  /** `JSON.parse(data)`, typed as you say. */
  json<T = unknown>(): T
}

/** Passed to `onStatus` and dispatched as a `status` event on the subscription. */
export interface StatusChange {
  readonly status: Status
  readonly previous: Status
  /** Failed attempts in a row: since the last healthy connection (something new, open at least 1 s). */
  readonly attempt: number
  /** Reconnects since the subscription started. */
  readonly reconnects: number
  /** In `backoff`: how long until the next attempt, ms. */
  readonly delay?: number
  /** Why we left `open` / entered `backoff` / `closed`. */
  readonly reason?: StatusReason
  /** In `closed`, when the subscription ended with an error. */
  readonly error?: ResumableSSEError
  /** In `backoff`: the failure behind it, when there was one (an `HttpError`, the network's error, what `headers()` threw). */
  readonly cause?: unknown
}

export type StatusReason =
  | 'eof' //            the server ended the body
  | 'transport' //      network error / connection dropped
  | 'starved' //        no bytes within heartbeatTimeout
  | 'request' //        your headers() or body() function threw (see `cause`)
  | 'http' //           a retryable status (5xx, 429)
  | 'server-closing' // the dialect's own "closing, reconnect" frame
  | 'offline' //        navigator.onLine went false
  | 'hidden' //         pauseWhenHidden and the page was hidden
  | 'aborted' //        the signal fired or close() was called
  | 'up-to-date' //     replay mode: caught up with everything the server has now (more may come)
  | 'stream-closed' //  the server said the stream will never grow (Durable Streams `streamClosed`)
  | 'error' //          a fatal error

/** What status listeners receive: shaped like a `CustomEvent<StatusChange>`. */
export interface StatusEvent {
  readonly type: 'status'
  readonly detail: StatusChange
}

/** Reported through `onNotice` for things that are not fatal but a user may want to see. */
export type Notice =
  | { readonly kind: 'gap'; readonly expected: number; readonly received: number }
  | { readonly kind: 'duplicate'; readonly sequence: number }
  | { readonly kind: 'store-error'; readonly error: ResumableSSEError }
  | { readonly kind: 'resumed'; readonly checkpoint: Checkpoint }
  /**
   * `onCursorExpired: 'restart'`: the server lost the history after our cursor; reported when the
   * consumer has finished every earlier event, before the first event of the new history.
   * `checkpoint`: the last one committed from the old history.
   */
  | { readonly kind: 'cursor-expired'; readonly error: ResumableSSEError; readonly checkpoint: Checkpoint | undefined }
  /** shareAcrossTabs: this tab's role changed (`solo`: sharing is not available here). */
  | { readonly kind: 'role'; readonly role: Role }

/** shareAcrossTabs: whether this tab runs the connection, relays another tab's, or has its own. */
export type Role = 'leader' | 'follower' | 'solo'

export type MaybePromise<T> = T | Promise<T>

/** What `headers()` and `body()` functions are given. One that throws is a failed attempt (retried with backoff). */
export interface RequestContext {
  /** Aborted when this attempt is abandoned (close, a newer command). */
  readonly signal: AbortSignal
  /** Failed attempts in a row before this one (0 normally). */
  readonly attempt: number
}

/** Timers, clock and randomness core code runs against (the `runtime` option); tests inject them, defaults are the globals. */
export interface Runtime {
  setTimeout: (fn: () => void, ms: number) => unknown
  clearTimeout: (handle: unknown) => void
  /** ms since epoch */
  now: () => number
  /** uniform in [0, 1) */
  random: () => number
}

/** What core code runs against: the runtime and the `fetch` to use (the `fetch` option, else the global). Internal. */
export interface Environment extends Runtime {
  fetch: typeof fetch
}

export interface BackoffOptions {
  /** First retry window, ms. The server's `retry:` field replaces it. @default 250 */
  baseDelay?: number
  /** Growth per failed attempt. @default 2 */
  factor?: number
  /** Upper bound of any backoff window, ms. @default 30000 */
  maxDelay?: number
  /** Upper bound for a server's `Retry-After`, ms. @default 300000 */
  maxRetryAfter?: number
  /**
   * `false`: wait the whole window instead of a uniform draw from it (with `factor: 1`, exactly the
   * reconnection time, as browsers' EventSource does). @default true
   */
  jitter?: boolean
}

export type StartPosition =
  /** Resume after this checkpoint. */
  | Checkpoint
  /**
   * Ignore the store for where to start: take what the server sends first (Last-Event-ID: no
   * header). Commits at or below the stored checkpoint still do not move it; delete the key to reset.
   */
  | 'start'

export interface SubscribeOptions {
  /** The SSE endpoint. */
  url: string | URL
  /** @default 'GET' (the aviso dialect defaults to 'POST') */
  method?: string
  /** Sent on every attempt; a function is called per attempt, so a refreshed token is picked up. */
  headers?: HeadersInit | ((context: RequestContext) => MaybePromise<HeadersInit>)
  /**
   * Request body: a string is sent as is; any other value as JSON. A function is evaluated per
   * attempt (then pass `key`, since a function cannot be part of the resume key).
   */
  body?: unknown
  /** Where checkpoints are committed. @default a new MemoryStore (resumes across reconnects only) */
  store?: CheckpointStore
  /** The store key. @default resumeKey() of url, method, body, dialect and `fingerprint` */
  key?: string
  /**
   * Extra identity folded into the derived key (a user id, a schema version, ...). With a persistent
   * store, required (or `key`) when the feed may be per-user: the request authenticates, or it runs in
   * a browser. `'public'` says the feed is the same for everyone.
   */
  fingerprint?: string
  /** Start here instead of the store's checkpoint. */
  from?: StartPosition
  /** How the server takes the cursor back. @default lastEventId() */
  dialect?: Dialect
  /** `live` runs until closed; `replay` ends when the server ends the stream normally. @default 'live' */
  mode?: 'live' | 'replay'
  signal?: AbortSignal
  backoff?: BackoffOptions
  /** Give up after this many failed attempts in a row (`retries-exhausted`, the last failure as `cause`). @default Infinity */
  maxRetries?: number
  /** No byte (comments count) for this long → drop the connection and reconnect. `false` disables. @default 60000 */
  heartbeatTimeout?: number | false
  /**
   * Largest event accepted, in characters (UTF-16 code units) of its data, `event:` type and `id:`;
   * a larger one is an `event-too-large` error, found before it is buffered whole. @default 1048576 (1 Mi)
   */
  maxEventSize?: number
  /** Called once per failure streak after a 401; another 401 in that streak fails the subscription with `auth`. */
  refreshAuth?: (context: { status: number; signal: AbortSignal }) => MaybePromise<void>
  /** Events buffered ahead of the consumer before reading pauses. @default 1024 */
  highWaterMark?: number
  /**
   * Characters (data + type + id) buffered ahead of the consumer before reading pauses, whichever of
   * this and `highWaterMark` is reached first. @default 4194304 (4 Mi)
   */
  highWaterSize?: number
  /**
   * Longest wait for the store when the subscription ends (`close()`, `break`, an abort, the end of
   * the stream), ms. A write still pending then is abandoned and reported as a `StoreError` with
   * reason `'timeout'`. @default 10000
   */
  flushTimeout?: number
  /**
   * `'same-origin'`: follow redirects within the URL's origin and refuse one to another origin (a
   * `ProtocolError`), so headers, body and `Last-Event-ID` never go where you did not send them.
   * `'follow'`: follow any redirect, as fetch does. @default 'same-origin'
   */
  redirect?: 'same-origin' | 'follow'
  /**
   * Minimum time between two checkpoint writes, ms. Commits in between only replace the pending
   * checkpoint, so a fast stream costs a few writes per second instead of one per event; a crash can
   * cost at most this much progress (redelivered, never lost). `flush()`/`close()` write at once.
   * @default 50
   */
  commitInterval?: number
  /** A jump on a contiguous stream is a `GapError` instead of a notice. @default false */
  strictGaps?: boolean
  /** `close()` commits the event the consumer holds. @default false */
  commitOnClose?: boolean
  /**
   * The server no longer has history from our cursor (a `cursor-expired` error: Durable Streams 410,
   * aviso's replay limit, `lastEventId({ expiredStatuses })`): `'fail'` ends with the error;
   * `'restart'` continues from the oldest history the server has (or live), tells `onNotice`
   * (`cursor-expired`) and marks the next event `restarted`. A restart that expires again before
   * delivering anything fails. @default 'fail'
   */
  onCursorExpired?: 'fail' | 'restart'
  /** A failed checkpoint write: `'fail'` stops with the StoreError; `'report'` tells onNotice and goes on. @default 'fail' */
  onStoreError?: 'fail' | 'report'
  /** Browsers: close the connection while the page is hidden, resume when visible. @default false */
  pauseWhenHidden?: boolean
  /**
   * Browsers: share one connection among all tabs of this origin and profile that use the same resume
   * key (a leader tab elected with Web Locks relays over BroadcastChannel). Elsewhere: `role: 'solo'`.
   * @default false
   */
  shareAcrossTabs?: boolean
  onStatus?: (change: StatusChange) => void
  onNotice?: (notice: Notice) => void
  /** Inject `fetch` (a custom agent, a test double of the network, a Worker service binding). */
  fetch?: typeof fetch
  /** The fetch `credentials` mode (`'include'` sends cookies cross-origin); ignored where the runtime has none (workerd). */
  credentials?: RequestCredentials
  /** Inject timers, clock and randomness (tests). */
  runtime?: Partial<Runtime>
}

export type Handler = (event: SSEEvent) => MaybePromise<void>

export interface Subscription extends AsyncIterable<SSEEvent> {
  readonly status: Status
  /** The store key in use (derived or given). */
  readonly key: string
  /** The last checkpoint handed to the store (it may still be in flight; see `flush`). */
  readonly checkpoint: Checkpoint | undefined
  /** Reconnects since the start. */
  readonly reconnects: number
  /** shareAcrossTabs: `follower` until this tab wins the election; `solo` when not sharing. */
  readonly role: Role
  /** Stops the subscription, ends iteration, flushes checkpoints; resolves when nothing is in flight. */
  close(): Promise<void>
  /** Resolves when every checkpoint committed so far is durable in the store. */
  flush(): Promise<void>
  /**
   * Handler form: awaits `handler` per event and commits the event when it resolves. Resolves when the
   * subscription ends normally; rejects with the fatal error. A handler that rejects stops the
   * subscription, its event is not committed, and `forEach` rejects with the handler's own error.
   */
  forEach(handler: Handler): Promise<void>
  /** Like EventTarget (but without relying on `CustomEvent`, which not every runtime has). */
  addEventListener(type: 'status', listener: (event: StatusEvent) => void): void
  removeEventListener(type: 'status', listener: (event: StatusEvent) => void): void
}
