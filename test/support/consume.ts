import { type Notice, type SSEEvent, type StatusChange, type SubscribeOptions, subscribe } from '../../src/index.js'

/**
 * Timers that fire (almost) at once but record the delay that was asked for, and track live handles
 * so a test can prove nothing was left behind.
 */
export function fastTimers() {
  const live = new Set<ReturnType<typeof setTimeout>>()
  const delays: number[] = []
  return {
    delays,
    live,
    runtime: {
      setTimeout(fn: () => void, ms: number) {
        delays.push(ms)
        const handle = setTimeout(() => {
          live.delete(handle)
          fn()
        }, Math.min(ms, 5))
        live.add(handle)
        return handle
      },
      clearTimeout(handle: unknown) {
        live.delete(handle as ReturnType<typeof setTimeout>)
        clearTimeout(handle as ReturnType<typeof setTimeout>)
      },
    },
  }
}

/** A clock that moves `step` ms each time it is read: every connection looks like it lasted. */
export function stepping(step = 2000): () => number {
  let now = Date.now()
  return () => (now += step)
}

/**
 * Subscribes and consumes with `for await` until the subscription ends or `stop` returns true (it may
 * act on the server between events). Never throws: the subscription's error is returned.
 * Heartbeat detection is off unless the options turn it on.
 */
export async function consume(options: SubscribeOptions, stop: (event: SSEEvent, all: SSEEvent[]) => boolean | Promise<boolean> = () => false) {
  const events: SSEEvent[] = []
  const statuses: StatusChange[] = []
  const notices: Notice[] = []
  const sub = subscribe({
    heartbeatTimeout: false,
    ...options,
    onStatus: (change) => {
      statuses.push(change)
      options.onStatus?.(change)
    },
    onNotice: (notice) => {
      notices.push(notice)
      options.onNotice?.(notice)
    },
  })
  let error: unknown
  try {
    for await (const event of sub) {
      events.push(event)
      if (await stop(event, events)) break
    }
  } catch (caught) {
    error = caught
  }
  return { sub, events, statuses, notices, error, sequences: events.map((e) => e.sequence), data: events.map((e) => e.data) }
}
