import type { Status, StatusChange, StatusEvent } from '../types.js'

export type StatusListener = (event: StatusEvent) => void

/**
 * Calls a user callback so that its exception cannot unwind through the driver. The exception is
 * reported the way EventTarget reports a listener's: `reportError` where the runtime has it (browsers,
 * Deno, Workers), else rethrown on its own microtask, where the runtime treats it as uncaught.
 */
export function callUser<T>(callback: (value: T) => void, value: T): void {
  try {
    callback(value)
  } catch (error) {
    const report = (globalThis as { reportError?: (error: unknown) => void }).reportError
    if (typeof report === 'function') report(error)
    else
      queueMicrotask(() => {
        throw error
      })
  }
}

/** The subscription's status as the user sees it: the current value, `onStatus` and the `status` listeners. */
export class StatusReporter {
  status: Status = 'connecting'
  readonly #onStatus: ((change: StatusChange) => void) | undefined
  readonly #listeners = new Set<StatusListener>()
  /** Changes still to tell while one is being told: a callback that calls close() makes one. */
  #queue: StatusChange[] | undefined

  constructor(onStatus: ((change: StatusChange) => void) | undefined) {
    this.#onStatus = onStatus
  }

  set(change: StatusChange): void {
    this.status = change.status
    // A change made from inside a callback waits until every callback heard the current one: told at
    // once, the later callbacks would hear 'closed' before 'open' and keep showing 'open'.
    if (this.#queue) return void this.#queue.push(change)
    const queue = (this.#queue = [change])
    for (const next of queue) {
      if (this.#onStatus) callUser(this.#onStatus, next)
      const event: StatusEvent = { type: 'status', detail: next }
      for (const listener of this.#listeners) callUser(listener, event)
    }
    this.#queue = undefined
  }

  add(listener: StatusListener): void {
    this.#listeners.add(listener)
  }

  remove(listener: StatusListener): void {
    this.#listeners.delete(listener)
  }
}
