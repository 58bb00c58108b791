// Browser life, proven in a real page: connectivity (navigator.onLine + online/offline, driven by the
// test through Playwright's context.setOffline) and page visibility (pauseWhenHidden). Browser-only,
// so these are steps the test drives one at a time between its own actions, not self-running
// scenarios; the shared scenarios module supplies the helpers.
import {
  FAST,
  feedUrl,
  numbers,
  ok,
  path,
  recorder,
  type ScenarioContext,
  type Status,
  type Subscription,
  serverLog,
  sid,
  take,
  within,
} from './scenarios.js'

export * from './scenarios.js'

/** One subscription the test steers through a life event and back. */
export interface LifeSession {
  /** Subscribes and takes the first two events. */
  start(): Promise<number[]>
  /** Resolves when the subscription is parked in backoff for `reason` (no timer: it waits for an event). */
  parked(reason: 'offline' | 'hidden'): Promise<void>
  /** Connection attempts since the subscription was parked. */
  attemptsWhileParked(): number
  status(): Status
  reconnects(): number
  /** Takes `count` more events, closes, and says what each connection sent as Last-Event-ID. */
  finish(count: number): Promise<{ events: number[]; lastEventIds: Array<string | null> }>
}

function session(ctx: ScenarioContext, name: string, total: number, plan: unknown[], options: Record<string, unknown>): LifeSession {
  const id = sid(ctx, name)
  const rec = recorder()
  let parkedAt = -1
  const waiters: Array<() => void> = []
  let sub: Subscription | undefined
  const onStatus = (change: Parameters<typeof rec.onStatus>[0]): void => {
    rec.onStatus(change)
    for (const wake of waiters.splice(0)) wake()
  }
  return {
    async start() {
      sub = ctx.lib.subscribe({ url: feedUrl(ctx, id, { total, plan: plan as never }), backoff: FAST, onStatus, ...options })
      return numbers(await within(10_000, 'first two events', take(sub, 2)))
    },
    async parked(reason) {
      const isParked = () => rec.changes.some((c) => c.status === 'backoff' && c.reason === reason && c.delay === undefined)
      await within(10_000, `parking for ${reason} (${path(rec.changes)})`, (async () => {
        while (!isParked()) await new Promise<void>((wake) => waiters.push(wake))
      })())
      parkedAt = rec.changes.length
    },
    attemptsWhileParked() {
      ok(parkedAt >= 0, 'not parked yet')
      return rec.changes.slice(parkedAt).filter((c) => c.status === 'connecting').length
    },
    status: () => sub?.status ?? 'connecting',
    reconnects: () => sub?.reconnects ?? 0,
    async finish(count) {
      ok(sub, 'not started')
      let events: number[]
      try {
        events = numbers(await within(10_000, `${count} more events (${path(rec.changes)})`, take(sub, count)))
      } finally {
        await sub.close()
      }
      const lastEventIds = (await serverLog(ctx, id)).map((r) => r.headers['last-event-id'] ?? null)
      return { events, lastEventIds }
    },
  }
}

export const browserLife = {
  /**
   * Connection 1 sends two events and then nothing: while the test has the browser offline, the
   * starved connection fails and the subscription must park (not retry) until `online`.
   */
  offline(ctx: ScenarioContext): LifeSession {
    return session(ctx, 'offline', 5, [{ events: 2, then: 'stall' }, { then: 'hold', heartbeat: 50 }], { heartbeatTimeout: 1000 })
  },

  /** pauseWhenHidden: hiding the page closes the connection; showing it resumes from the checkpoint. */
  pauseWhenHidden(ctx: ScenarioContext): LifeSession {
    return session(ctx, 'hidden', 6, [{ events: 2, then: 'hold', heartbeat: 50 }, { then: 'hold', heartbeat: 50 }], { pauseWhenHidden: true })
  },

  /** The default: a hidden page keeps its connection and keeps receiving (events every 100 ms). */
  keepWhenHidden(ctx: ScenarioContext): LifeSession {
    return session(ctx, 'visible', 6, [{ then: 'hold', interval: 100, heartbeat: 50 }], {})
  },
}
