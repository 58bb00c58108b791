import { HttpError, type ResumableSSEError, ResumableSSEError as BaseError } from '../errors.js'
import type { StreamEnd } from '../dialects/dialect.js'
import type { Status, StatusReason } from '../types.js'
import { type BackoffPolicy, fullJitter } from './backoff.js'

/**
 * The supervisor's decisions, as a pure function: (state, input) → (state, command). No timers, no I/O,
 * no clock: randomness arrives as the `unit` argument, so every transition can be tested as a table.
 * The driver (driver.ts) performs the command and feeds what happened back in as the next input.
 */

export interface MachineConfig extends BackoffPolicy {
  /** Cap for Retry-After, ms. */
  maxRetryAfter: number
  /** Failed attempts in a row before giving up. */
  maxRetries: number
  mode: 'live' | 'replay'
  /** Whether the user gave a `refreshAuth`. */
  canRefreshAuth: boolean
  pauseWhenHidden: boolean
  /**
   * A connection counts as healthy, and ends a failure streak, when it delivered something new and
   * stayed open at least this long, ms. Shorter ones (open, one event, close) keep the streak growing,
   * so no server can drive a reconnect loop faster than the backoff.
   */
  healthyAfter: number
  /** What an expired cursor does: end with the error, or restart from the oldest history. @default 'fail' */
  onCursorExpired?: 'fail' | 'restart'
}

export interface MachineState {
  readonly status: Status
  /** Failed attempts since the last healthy connection (see `healthyAfter`). */
  readonly attempt: number
  /** Connections opened after the first. */
  readonly reconnects: number
  /** The auth refresh was used for the current streak of failures; the next 401 is fatal. */
  readonly authRefreshed?: boolean
  /** The server's `retry:` field, ms: replaces the base delay. */
  readonly retryBase?: number
  readonly offline?: boolean
  readonly hidden?: boolean
  /** A connection was opened before (so the next one is a reconnect). */
  readonly connectedBefore?: boolean
  /** When the current connection opened (the driver's clock), and whether it delivered anything new. */
  readonly openedAt?: number
  readonly progressed?: boolean
  /** The last reconnect was the server's own immediate one: the next unhealthy end backs off. */
  readonly rushed?: boolean
  /** A restart after an expired cursor has received nothing yet (no event, no position): expiring again is fatal. */
  readonly restarting?: boolean
  readonly reason?: StatusReason
  readonly delay?: number
  /** In `closed`: the fatal error. */
  readonly error?: ResumableSSEError
  /** In `backoff`: the failure that caused it, when there was one (an HttpError, the network's error). */
  readonly cause?: unknown
}

/**
 * What happened, as the wire layer and the driver report it. `at` is the driver's clock (the machine
 * has none): a connection's length decides whether it ends a failure streak.
 */
export type Input =
  | { type: 'start' }
  /** 200 with the right content type. */
  | { type: 'opened'; at: number }
  /**
   * The first new event of this connection reached the consumer's buffer (duplicates are not new);
   * `positioned` once one that can be resumed from did (an event with an id, a position).
   */
  | { type: 'progress'; positioned?: boolean }
  /** The server sent `retry:`. */
  | { type: 'retry-hint'; ms: number }
  /**
   * The connection ended by itself, or never got going: `request` is a failed headers()/body()
   * function. `error` is the failure behind it, when there is one.
   */
  | { type: 'ended'; reason: 'eof' | 'transport' | 'starved' | 'request'; at: number; error?: unknown }
  /** The dialect saw the server announce the end of this connection. */
  | { type: 'server-closing'; reconnect: number | StreamEnd; at: number }
  /** The stream is complete (replay mode finished): why. */
  | { type: 'finished'; reason: StreamEnd }
  /** A non-200 answer. `retryAfter` is already parsed to ms (uncapped). */
  | { type: 'http'; error: HttpError; retryAfter: number | undefined }
  | { type: 'auth-refreshed' }
  /** The server no longer has history from our cursor (a dialect's `cursor-expired` error). */
  | { type: 'expired'; error: ResumableSSEError }
  /** Something fatal: protocol error, event too large, store failure, refresh threw, handler rejected. */
  | { type: 'failed'; error: ResumableSSEError }
  /** The backoff timer fired. */
  | { type: 'waited' }
  | { type: 'abort' }
  | { type: 'offline' }
  | { type: 'online' }
  | { type: 'hidden' }
  | { type: 'visible' }

export type Command =
  /** Keep doing whatever is in progress. */
  | { type: 'none' }
  /** Drop whatever is in progress and open a connection. */
  | { type: 'connect' }
  /** Drop whatever is in progress and wait (`Infinity`: until an input such as `online` arrives). */
  | { type: 'wait'; ms: number }
  /** Drop whatever is in progress and call the user's refreshAuth. */
  | { type: 'refresh-auth'; status: number }
  /**
   * Drop whatever is in progress, start a new history (the dialect's restart position; the consumer
   * is told in order, through its queue) and open a connection.
   */
  | { type: 'restart'; error: ResumableSSEError }
  /** Drop whatever is in progress; the subscription is over (see state.error). */
  | { type: 'stop' }

export interface Transition {
  state: MachineState
  command: Command
}

export function initialState(): MachineState {
  // The flags start out false (absent).
  return { status: 'connecting', attempt: 0, reconnects: 0 }
}

const NONE: Command = { type: 'none' }
const CONNECT: Command = { type: 'connect' }
const STOP: Command = { type: 'stop' }

/** Only remembered: nothing else changes. */
const stay = (state: MachineState): Transition => ({ state, command: NONE })

export function step(state: MachineState, input: Input, config: MachineConfig, unit: number): Transition {
  if (state.status === 'closed') return stay(state)

  switch (input.type) {
    case 'start':
      return state.hidden && config.pauseWhenHidden ? pause(state, 'hidden') : connect(state)

    case 'opened':
      return to({ ...state, connectedBefore: true, openedAt: input.at, progressed: false, cause: undefined }, 'open', undefined, NONE, {
        reconnects: state.reconnects + (state.connectedBefore ? 1 : 0),
      })

    case 'progress':
      // A new position after a 401 proves the refreshed credentials work: a later 401 is a new expiry
      // and gets its own refresh (a server alternating 401 with such connections is still paced by
      // the backoff, as those connections end unhealthy).
      return stay({ ...state, progressed: true, restarting: false, ...(input.positioned && { authRefreshed: false }) })

    case 'retry-hint':
      return stay({ ...state, retryBase: input.ms })

    case 'ended':
      return retry(settle(state, input.at, config, input.reason !== 'starved')[0], config, unit, input.reason, undefined, input.error)

    case 'server-closing': {
      if (typeof input.reconnect === 'string') return close(state, input.reconnect)
      const [next, lasted] = settle(state, input.at, config)
      // The server chose when we come back: routine, not a failure, after a connection that lasted (a
      // quiet Durable Streams feed is closed every minute with nothing new). A close right after
      // opening is a failure like any other, with the server's delay as a hint, so close frames cannot
      // drive a loop.
      if (!lasted) return retry(next, config, unit, 'server-closing', input.reconnect)
      return input.reconnect <= 0 ? connect({ ...next, rushed: true }) : backoff(next, input.reconnect, 'server-closing')
    }

    case 'finished':
      return close(state, input.reason)

    case 'http': {
      const { error } = input
      const { status } = error
      if (status === 401) {
        if (config.canRefreshAuth && !state.authRefreshed) return to(state, 'refreshing-auth', 'http', { type: 'refresh-auth', status })
        const message = `Server answered 401 ${config.canRefreshAuth ? 'again after the auth refresh' : 'and no refreshAuth option was given'}`
        return close(state, 'error', new HttpError(401, error.body, error.requestId, 'auth', message))
      }
      // 429 and 503 say when to come back (Retry-After); any other 5xx is the backoff's to pace, and so
      // is 408 (a proxy gave up waiting for the request: RFC 9110 lets the client repeat it).
      if (status === 429 || status === 503) return retry(state, config, unit, 'http', input.retryAfter, error)
      if (status === 408 || (status >= 500 && status <= 599)) return retry(state, config, unit, 'http', undefined, error)
      return close(state, 'error', error)
    }

    case 'auth-refreshed':
      return connect({ ...state, authRefreshed: true })

    case 'failed':
      return close(state, 'error', input.error)

    case 'expired':
      // A restart that expires again before delivering anything would only loop: give up with the error.
      if (config.onCursorExpired !== 'restart' || state.restarting) return close(state, 'error', input.error)
      return connect({ ...state, restarting: true }, { type: 'restart', error: input.error })

    case 'waited':
      return state.status === 'backoff' ? connect(state) : stay(state)

    case 'abort':
      return close(state, 'aborted')

    case 'offline':
      // Only remembered: an open connection may well survive a blip, and if it does not, the failure
      // path below parks us until `online` instead of burning retries against a dead network.
      return stay({ ...state, offline: true })

    case 'online': {
      const next = { ...state, offline: false }
      return state.status === 'backoff' && state.reason !== 'hidden' ? connect(next) : stay(next)
    }

    case 'hidden': {
      const next = { ...state, hidden: true }
      return !config.pauseWhenHidden || state.status === 'refreshing-auth' ? stay(next) : pause(next, 'hidden')
    }

    case 'visible': {
      const next = { ...state, hidden: false }
      return config.pauseWhenHidden && state.status === 'backoff' && state.reason === 'hidden' ? connect(next) : stay(next)
    }
  }
}

/**
 * Into `status` for `reason`, performing `command`. A status change ends the previous one's delay
 * unless `patch` sets a new one.
 */
function to(state: MachineState, status: Status, reason: StatusReason | undefined, command: Command, patch?: Partial<MachineState>): Transition {
  return { state: { ...state, status, reason, delay: undefined, ...patch }, command }
}

function connect(state: MachineState, command = CONNECT): Transition {
  return to(state, 'connecting', undefined, command, { cause: undefined })
}

/**
 * At the end of a connection: whether it `lasted` (open at least `healthyAfter`), and the state after
 * it. A healthy one (something new, open at least `healthyAfter`) ends the failure streak, so the next
 * failure starts from the smallest window and a 401 gets a fresh refresh. One that ended right after
 * opening or only repeated what we had does not: a server that accepts, sends one event and closes
 * cannot reset the backoff on every connection.
 */
function settle(state: MachineState, at: number, config: MachineConfig, alive = true): [MachineState, boolean] {
  const open = state.openedAt === undefined ? -1 : at - state.openedAt
  const lasted = open >= config.healthyAfter
  const next: MachineState = { ...state, openedAt: undefined, progressed: false }
  // One that stayed open and `alive` (not dropped for silence) at least maxDelay is healthy even with
  // nothing new (a quiet feed whose idle connection a proxy cuts): one reconnect per such connection is
  // no faster than the backoff's slowest pace, and a server that only ever goes silent still fails.
  return [lasted && (state.progressed || (alive && open >= config.maxDelay)) ? { ...next, attempt: 0, authRefreshed: false, rushed: false } : next, lasted]
}

function close(state: MachineState, reason: StatusReason, error?: ResumableSSEError): Transition {
  return to(state, 'closed', reason, STOP, error && { error })
}

function backoff(state: MachineState, delay: number, reason: StatusReason, cause?: unknown): Transition {
  return to(state, 'backoff', reason, { type: 'wait', ms: delay }, { delay, cause })
}

/** Parked until an input (online / visible) moves us on. */
function pause(state: MachineState, reason: 'offline' | 'hidden'): Transition {
  return to(state, 'backoff', reason, { type: 'wait', ms: Infinity })
}

/**
 * A failed or ended connection: count it, give up after maxRetries, otherwise back off. In replay
 * mode a clean EOF ends the subscription before we get here (the driver sends `finished`).
 * `hint` is what the server asked for (Retry-After, a dialect's reconnect delay): honoured for the
 * first failure in a row; from the second on (or after the server's own immediate reconnect brought
 * nothing) the delay is at least the jittered backoff, whatever the server says.
 */
function retry(
  state: MachineState,
  config: MachineConfig,
  unit: number,
  reason: StatusReason,
  hint: number | undefined,
  cause?: unknown,
): Transition {
  // After the server's own immediate reconnect brought nothing, that reconnect counts as a failure too.
  const n = state.attempt + (state.rushed ? 1 : 0)
  if (n >= config.maxRetries) {
    return close(state, 'error', new BaseError('retries-exhausted', `Gave up after ${n + 1} failed attempt(s) in a row (last: ${reason})`, { cause }))
  }
  const failed: MachineState = { ...state, attempt: n + 1, rushed: false }
  if (state.offline) return pause(failed, 'offline')
  if (state.hidden && config.pauseWhenHidden) return pause(failed, 'hidden')
  // The server's `retry:` is the first window; later failures in a row grow from the larger of it and
  // our own base, so a `retry: 0` (common: "come back at once after I close") cannot turn a failing
  // server into a reconnect loop with no delay at all. A server hint like Retry-After: capped by
  // maxRetryAfter, not by maxDelay, which it raises (a server asking for 60 s is not called after 30).
  const hinted = state.retryBase === undefined ? undefined : Math.min(state.retryBase, config.maxRetryAfter)
  const policy =
    hinted === undefined ? config : { ...config, baseDelay: n ? Math.max(hinted, config.baseDelay) : hinted, maxDelay: Math.max(hinted, config.maxDelay) }
  const jittered = fullJitter(n, policy, unit)
  let delay = hint !== undefined ? Math.min(Math.max(0, hint), config.maxRetryAfter) : jittered
  if (n > 0) delay = Math.max(delay, jittered)
  return backoff(failed, delay, reason, cause)
}
