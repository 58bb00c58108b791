import type { SSEEvent } from '../types.js'

/**
 * The delivered event. A class (not an object literal with a closure) so `json()` lives once on the
 * prototype instead of being allocated per event.
 */
export class DeliveredEvent implements SSEEvent {
  constructor(
    readonly type: string,
    readonly data: string,
    readonly id: string | undefined,
    readonly sequence: number,
    readonly cursor: string,
    /** Dialect extras the checkpoint needs to resume exactly here. */
    readonly meta: Readonly<Record<string, string>> | undefined,
    /** False for events that carry no resume position (an SSE event without id): never committed. */
    readonly positioned: boolean,
  ) {}

  json<T = unknown>(): T {
    return JSON.parse(this.data) as T
  }
}
