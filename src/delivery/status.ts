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

  constructor(onStatus: ((change: StatusChange) => void) | undefined) {
    this.#onStatus = onStatus
  }

  set(change: StatusChange): void {
    this.status = change.status
    if (this.#onStatus) callUser(this.#onStatus, change)
    if (this.#listeners.size > 0) {
      const event: StatusEvent = { type: 'status', detail: change }
      for (const listener of this.#listeners) callUser(listener, event)
    }
  }

  add(listener: StatusListener): void {
    this.#listeners.add(listener)
  }

  remove(listener: StatusListener): void {
    this.#listeners.delete(listener)
  }
}
