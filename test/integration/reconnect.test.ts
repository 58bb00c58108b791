/**
 * Reconnect decisions seen through a subscription: retry counts, Retry-After, and a status listener
 * that throws while the driver acts.
 * Split from adversarial.test.ts. A `// Regression` comment marks a case that reproduced a real bug
 * when it was written; the comment keeps the root cause it had.
 */
import { describe, expect, it, onTestFinished, vi } from 'vitest'
import { subscribe } from '../../src/index.js'
import { consume, fastTimers } from '../support/consume.js'
import { body, scripted, sse, STUCK, within } from '../support/scripted.js'

const URL_ = 'http://127.0.0.1:9/reconnect'

describe('state machine corners', () => {
  // Regression (rstd): a delay past 2^31 - 1 ms (a `retry:` or a window under a large `maxDelay`)
  // reached setTimeout as is, which browsers and Node run at once: a reconnect loop instead of a wait.
  // Regression (rstd): a heartbeatTimeout past 2^31 - 1 ms ran its check at once, over and over (a
  // busy loop of 1 ms timers in Node) for as long as the connection lived.
  it('a heartbeatTimeout longer than a timer can wait arms the longest timer instead', async () => {
    const timers = fastTimers()
    const f = scripted([() => sse(body(['id: 1\ndata: a\n\n'], { hold: true }))])
    const r = await consume({ url: URL_, fetch: f.fetch, heartbeatTimeout: 1e10, runtime: timers.runtime }, (_, all) => all.length === 1)
    expect(r.sequences).toEqual([1])
    expect(timers.delays.length).toBeGreaterThan(0)
    expect(Math.max(...timers.delays)).toBeLessThanOrEqual(2 ** 31 - 1)
  })

  it('a reconnect delay is never longer than a timer can wait', async () => {
    const timers = fastTimers()
    const f = scripted([() => sse(body(['retry: 99999999999999\n\nid: 1\ndata: a\n\n'])), () => sse(body(['id: 2\ndata: b\n\n'], { hold: true }))])
    const r = await consume({ url: URL_, fetch: f.fetch, backoff: { maxDelay: 1e13, maxRetryAfter: 1e13, jitter: false }, runtime: timers.runtime }, (_, all) => all.length === 2)
    expect(r.sequences).toEqual([1, 2])
    expect(Math.max(...timers.delays)).toBe(2 ** 31 - 1)
  })

  it('maxRetries 0: the first failure ends the subscription after exactly one request', async () => {
    const f = scripted([() => new Response('down', { status: 500 })])
    const r = await consume({ url: URL_, fetch: f.fetch, maxRetries: 0, runtime: fastTimers().runtime })
    expect(r.error).toMatchObject({ code: 'retries-exhausted' })
    expect(f.seen).toHaveLength(1)
  })

  // Changed by issue 10: a connection that delivers and ends at once no longer resets the counter
  // (it is how a server drives a reconnect loop); only one that also lasted `healthyAfter` does.
  it('a connection that delivered but ended at once does not reset the attempt counter; reconnects counts opened connections only', async () => {
    const f = scripted([
      () => new Response('', { status: 500 }),
      () => sse(body(['id: 1\ndata: a\n\n'])),
      () => new Response('', { status: 500 }),
      () => new Response('', { status: 500 }),
      () => sse(body(['id: 2\ndata: b\n\n'], { hold: true })),
    ])
    const r = await consume({ url: URL_, fetch: f.fetch, runtime: fastTimers().runtime }, (_, all) => all.length === 2)
    expect(r.sequences).toEqual([1, 2])
    expect(r.statuses.filter((s) => s.status === 'backoff').map((s) => s.attempt)).toEqual([1, 2, 3, 4])
    expect(r.sub.reconnects).toBe(1)
  })

  it("Retry-After '0' reconnects at once; a fractional or garbage Retry-After falls back to jitter", async () => {
    const f = scripted([
      () => new Response('', { status: 503, headers: { 'retry-after': '0' } }),
      () => new Response('', { status: 503, headers: { 'retry-after': '1.5' } }),
      () => new Response('', { status: 429, headers: { 'retry-after': '-3' } }),
      () => sse(body(['id: 1\ndata: a\n\n'])),
    ])
    const r = await consume({ url: URL_, fetch: f.fetch, mode: 'replay', runtime: { ...fastTimers().runtime, random: () => 0.5 } })
    expect(r.sequences).toEqual([1])
    expect(r.statuses.filter((s) => s.status === 'backoff').map((s) => s.delay)).toEqual([0, 250, 500])
  })

  // Regression (was a bug, now fixed): src/supervisor/driver.ts, `Driver#post` — `post()` stores the new state, then calls the user's
  // onStatus / status listeners (via #reportStatus) *before* `#perform(command)`. A listener that throws
  // once (a UI bug, a metrics client) unwinds out of post(): the state says 'connecting' but the connect
  // was never performed — no connection, no timer, the subscription hangs forever (and the throw escapes
  // into a timer callback or, from #connect, an unhandled rejection). Fix: perform before reporting
  // (`this.#perform(command)` then `#reportStatus`), and/or isolate user callbacks in
  // ResumableSubscription.#setStatus (`try { cb(change) } catch (e) { queueMicrotask(() => { throw e }) }`,
  // like EventTarget reports listener errors without breaking dispatch).
  it('a status listener that throws once does not wedge the subscription', async () => {
    const timerErrors: unknown[] = []
    // The listener's exception is reported like an EventTarget listener's (reportError); capture it.
    const reported: unknown[] = []
    vi.stubGlobal('reportError', (error: unknown) => reported.push(error))
    onTestFinished(() => void vi.unstubAllGlobals())
    // Contain the listener's throw where it surfaces (the backoff timer), so only the wedge is tested.
    const runtime = {
      setTimeout: (fn: () => void, ms: number) =>
        setTimeout(() => {
          try {
            fn()
          } catch (error) {
            timerErrors.push(error)
          }
        }, Math.min(ms, 5)),
      clearTimeout: (handle: unknown) => clearTimeout(handle as ReturnType<typeof setTimeout>),
    }
    let thrown = false
    const f = scripted([() => sse(body(['id: 1\ndata: a\n\n'])), () => sse(body(['id: 2\ndata: b\n\n'], { hold: true }))])
    const sub = subscribe({
      url: URL_,
      fetch: f.fetch,
      runtime,
      heartbeatTimeout: false,
      onStatus: (change) => {
        if (!thrown && change.previous === 'backoff' && change.status === 'connecting') {
          thrown = true
          throw new Error('listener bug')
        }
      },
    })
    const seen: number[] = []
    const run = (async () => {
      for await (const event of sub) {
        seen.push(event.sequence)
        if (seen.length === 2) break
      }
    })()
    const outcome = await within(run, 500)
    await sub.close()
    expect(thrown).toBe(true)
    expect(reported).toEqual([new Error('listener bug')])
    expect(outcome).not.toBe(STUCK)
    expect(seen).toEqual([1, 2])
  })
})
