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

/**
 * `Retry-After` in ms: delta-seconds or an HTTP date (RFC 9110 §10.2.3), capped so a misconfigured
 * server cannot park a client for a day. Unparseable values are ignored (undefined), not fatal.
 */
export function parseRetryAfter(value: string | null | undefined, now: number, cap: number): number | undefined {
  if (value === null || value === undefined) return undefined
  const text = value.trim()
  if (text === '') return undefined
  let ms: number
  if (/^\d+$/.test(text)) {
    ms = Number(text) * 1000
  } else {
    // HTTP dates (all three RFC 9110 forms) start with a day name; without this check Date.parse
    // happily reads "-5" or "1.5" as years.
    if (!/^[A-Za-z]{3}/.test(text)) return undefined
    const date = Date.parse(text)
    if (Number.isNaN(date)) return undefined
    ms = date - now
  }
  return Math.min(Math.max(0, ms), cap)
}
