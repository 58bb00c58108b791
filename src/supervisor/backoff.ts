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
}

/** Upper bound of the retry window for the n-th failed attempt in a row (0-based). */
export function backoffWindow(attempt: number, policy: BackoffPolicy): number {
  // factor ** attempt overflows to Infinity for long outages, which Math.min caps cleanly.
  return Math.min(policy.baseDelay * policy.factor ** attempt, policy.maxDelay)
}

/** The delay itself: `unit` is a uniform draw from [0, 1) supplied by the caller (pure function). */
export function fullJitter(attempt: number, policy: BackoffPolicy, unit: number): number {
  return Math.floor(unit * backoffWindow(attempt, policy))
}

const MONTHS = 'JanFebMarAprMayJunJulAugSepOctNovDec'
/**
 * The three HTTP-date forms of RFC 9110 §5.6.7, all GMT, as (day, month, year, hh, mm, ss):
 * IMF-fixdate `Sun, 06 Nov 1994 08:49:37 GMT`, RFC 850 `Sunday, 06-Nov-94 08:49:37 GMT`, and
 * asctime `Sun Nov  6 08:49:37 1994` (fields reordered by the replacement).
 */
const HTTP_DATES: Array<[RegExp, string]> = [
  [/^[A-Z][a-z]{2}, (\d\d) ([A-Z][a-z]{2}) (\d{4}) (\d\d):(\d\d):(\d\d) GMT$/, '$1 $2 $3 $4 $5 $6'],
  [/^[A-Z][a-z]{5,8}, (\d\d)-([A-Z][a-z]{2})-(\d\d) (\d\d):(\d\d):(\d\d) GMT$/, '$1 $2 -$3 $4 $5 $6'],
  [/^[A-Z][a-z]{2} ([A-Z][a-z]{2}) {1,2}(\d{1,2}) (\d\d):(\d\d):(\d\d) (\d{4})$/, '$2 $1 $6 $3 $4 $5'],
]

/**
 * `Retry-After` in ms: delta-seconds or an HTTP date, parsed explicitly (`Date.parse` reads asctime
 * as local time and accepts far more than HTTP allows). The machine caps it; unparseable values are
 * ignored (undefined), not fatal.
 */
export function parseRetryAfter(value: string | null | undefined, now: number): number | undefined {
  const text = value?.trim() ?? ''
  if (/^\d+$/.test(text)) return Number(text) * 1000
  const form = HTTP_DATES.find(([pattern]) => pattern.test(text))
  if (!form) return undefined
  const [day, month, y, hh, mm, ss] = text.replace(form[0], form[1]).split(' ') as [string, string, string, string, string, string]
  const monthIndex = MONTHS.indexOf(month) / 3
  if (!Number.isInteger(monthIndex)) return undefined
  let year = Number(y)
  if (year < 0) {
    // RFC 850's two-digit year: one more than 50 years ahead is the previous century (RFC 9110).
    year = 2000 - year
    if (year > new Date(now).getUTCFullYear() + 50) year -= 100
  }
  return Math.max(0, Date.UTC(year, monthIndex, Number(day), Number(hh), Number(mm), Number(ss)) - now)
}
