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

const MONTHS = 'JanFebMarAprMayJunJulAugSepOctNovDec'

/**
 * `Retry-After` in ms: delta-seconds or an HTTP date in one of the three forms of RFC 9110 §5.6.7,
 * all GMT: IMF-fixdate `Sun, 06 Nov 1994 08:49:37 GMT`, RFC 850 `Sunday, 06-Nov-94 08:49:37 GMT`,
 * asctime `Sun Nov  6 08:49:37 1994`. Parsed here, not by `Date.parse`, which reads asctime as local
 * time and accepts far more. The machine caps it; unparseable values are ignored (undefined).
 */
export function parseRetryAfter(value: string | null | undefined, now: number): number | undefined {
  const text = value?.trim() ?? ''
  if (/^\d+$/.test(text)) return Number(text) * 1000
  const fixdate = /^[A-Z][a-z]{2}(?:, (\d\d) (...) (\d{4})|[a-z]{3,6}, (\d\d)-(...)-(\d\d)) (\d\d):(\d\d):(\d\d) GMT$/.exec(text)
  const asctime = /^[A-Z][a-z]{2} (...) ([ \d]\d) (\d\d):(\d\d):(\d\d) (\d{4})$/.exec(text)
  const [day, month, year, hh, mm, ss] = fixdate
    ? [fixdate[1] ?? fixdate[4], fixdate[2] ?? fixdate[5], fixdate[3] ?? fixdate[6], fixdate[7], fixdate[8], fixdate[9]]
    : asctime
      ? [asctime[2], asctime[1], asctime[6], asctime[3], asctime[4], asctime[5]]
      : []
  const monthIndex = MONTHS.indexOf(month as string) / 3
  if (!Number.isInteger(monthIndex) || !month) return undefined
  let y = Number(year)
  // RFC 850's two-digit year: one more than 50 years ahead is the previous century.
  if (y < 100) y += y + 2000 > new Date(now).getUTCFullYear() + 50 ? 1900 : 2000
  return Math.max(0, Date.UTC(y, monthIndex, Number(day), Number(hh), Number(mm), Number(ss)) - now)
}
