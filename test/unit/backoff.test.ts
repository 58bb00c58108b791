import { describe, expect, it } from 'vitest'
import { backoffWindow, fullJitter, parseRetryAfter } from '../../src/supervisor/backoff.js'

const policy = { baseDelay: 250, factor: 2, maxDelay: 30_000 }

describe('backoff', () => {
  it('the window grows by the factor and stops at maxDelay', () => {
    expect([0, 1, 2, 3, 6, 7, 8].map((n) => backoffWindow(n, policy))).toEqual([250, 500, 1000, 2000, 16_000, 30_000, 30_000])
  })
  it('survives a very long outage without overflowing to NaN', () => {
    expect(backoffWindow(5000, policy)).toBe(30_000)
  })
  it('full jitter draws uniformly from [0, window)', () => {
    expect(fullJitter(2, policy, 0)).toBe(0)
    expect(fullJitter(2, policy, 0.5)).toBe(500)
    expect(fullJitter(2, policy, 0.999999)).toBe(999)
    const draws = Array.from({ length: 1000 }, (_, i) => fullJitter(3, policy, i / 1000))
    expect(Math.min(...draws)).toBe(0)
    expect(Math.max(...draws)).toBeLessThan(2000)
  })
  it('jitter: false waits the whole window, whatever the draw (browser-like reconnection time)', () => {
    const exact = { ...policy, factor: 1, baseDelay: 3000, jitter: false }
    expect([0, 0.5, 0.999999].map((unit) => fullJitter(4, exact, unit))).toEqual([3000, 3000, 3000])
  })
})

describe('BackoffOptions.jitter through the options', () => {
  it('defaults to jitter, and `jitter: false` reaches the machine config', async () => {
    const { resolveConfig } = await import('../../src/config.js')
    const machine = (backoff: Record<string, unknown>) => resolveConfig({ url: 'http://127.0.0.1:1/', backoff }).machine
    expect(fullJitter(0, machine({ baseDelay: 1000 }), 0.5)).toBe(500)
    expect(fullJitter(0, machine({ baseDelay: 1000, jitter: false }), 0.5)).toBe(1000)
  })
})

describe('Retry-After', () => {
  const now = Date.parse('2026-11-23T12:00:00Z')
  it('reads delta-seconds', () => {
    expect(parseRetryAfter('120', now)).toBe(120_000)
    expect(parseRetryAfter(' 0 ', now)).toBe(0)
  })
  it('reads an HTTP date relative to now', () => {
    expect(parseRetryAfter('Mon, 23 Nov 2026 12:00:30 GMT', now)).toBe(30_000)
  })
  it('a date in the past means at once', () => {
    expect(parseRetryAfter('Mon, 23 Nov 2026 11:00:00 GMT', now)).toBe(0)
  })
  it('is not capped here (the machine caps it with maxRetryAfter)', () => {
    expect(parseRetryAfter('86400', now)).toBe(86_400_000)
  })
  // Regression (issue 15): the asctime form went through Date.parse, which reads it as local time
  // (5 h off in New York). All three RFC 9110 forms are GMT.
  it('reads the three RFC 9110 date forms as GMT, whatever the local time zone', () => {
    expect(parseRetryAfter('Mon, 23 Nov 2026 12:00:30 GMT', now)).toBe(30_000)
    expect(parseRetryAfter('Monday, 23-Nov-26 12:00:30 GMT', now)).toBe(30_000)
    expect(parseRetryAfter('Mon Nov 23 12:00:30 2026', now)).toBe(30_000)
    expect(parseRetryAfter('Mon Nov  3 12:00:30 2026', Date.parse('2026-11-03T12:00:00Z'))).toBe(30_000)
  })
  it('refuses dates that are not one of the three forms', () => {
    for (const value of ['2026-11-23T12:00:30Z', 'Mon, 23 Nov 2026 12:00:30 EST', 'Mon, 23 Foo 2026 12:00:30 GMT', 'Mon Nov 23 12:00:30 2026 GMT']) {
      expect(parseRetryAfter(value, now)).toBeUndefined()
    }
  })
  it('ignores what it cannot read', () => {
    for (const value of [null, undefined, '', 'soon', '-5', '1.5']) expect(parseRetryAfter(value, now)).toBeUndefined()
  })
})
