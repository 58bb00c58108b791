// A separate module so that the HTTP-date form of `Retry-After`, which few servers send, is a lazy
// chunk: wire/attempt.ts reads delta-seconds itself and imports this only when a date arrives.

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
  // IMF-fixdate fills groups 1-3, RFC 850 groups 4-6 (never empty when matched): keep the filled ones.
  const [day, month, year, hh, mm, ss] = fixdate
    ? fixdate.slice(1).filter(Boolean)
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
