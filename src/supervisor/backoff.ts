/**
 * Reconnect delays. Full jitter (a uniform draw from [0, window)) rather than "exponential plus a
 * little noise": when a server restarts, thousands of clients reconnect at once, and full jitter
 * spreads them over the whole window instead of in synchronized waves.
 * https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/
 */

export interface BackoffPolicy {
  baseDelay: number
  factor: number
  maxDelay: number
  /** `false`: the delay is the whole window (browser-like), not a draw from it. */
  jitter?: boolean
}

/** Upper bound of the retry window for the n-th failed attempt in a row (0-based). */
export function backoffWindow(attempt: number, policy: BackoffPolicy): number {
  // factor ** attempt overflows to Infinity for long outages, which Math.min caps cleanly.
  return Math.min(policy.baseDelay * policy.factor ** attempt, policy.maxDelay)
}

/** The delay itself: `unit` is a uniform draw from [0, 1) supplied by the caller (pure function). */
export function fullJitter(attempt: number, policy: BackoffPolicy, unit: number): number {
  return Math.floor((policy.jitter === false ? 1 : unit) * backoffWindow(attempt, policy))
}

// `Retry-After` is read in retry-after.ts: the connection loads it lazily, only for an HTTP date.
export { parseRetryAfter } from './retry-after.js'
