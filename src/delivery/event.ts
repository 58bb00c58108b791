import type { ResumableSSEError } from '../errors.js'
import type { SSEEvent } from '../types.js'

/**
 * The delivered event. A class (not an object literal with a closure) so `json()` lives once on the
 * prototype instead of being allocated per event.
 */
export class DeliveredEvent implements SSEEvent {
  // Declared and assigned, not parameter properties: those compile to class fields (ES2022), which V8
  // defines one by one before the constructor assigns them, and this runs once per event.
  declare readonly type: string
  declare readonly data: string
  declare readonly id: string | undefined
  declare readonly sequence: number
  declare readonly cursor: string
  /** Dialect extras the checkpoint needs to resume exactly here. */
  declare readonly meta: Readonly<Record<string, string>> | undefined
  /** False for events that carry no resume position (an SSE event without id): never committed. */
  declare readonly positioned: boolean

  constructor(
    type: string,
    data: string,
    id: string | undefined,
    sequence: number,
    cursor: string,
    meta: Readonly<Record<string, string>> | undefined,
    positioned: boolean,
  ) {
    this.type = type
    this.data = data
    this.id = id
    this.sequence = sequence
    this.cursor = cursor
    this.meta = meta
    this.positioned = positioned
  }

  /** Set (to true) on the first event after a restart; absent on every other event. */
  declare restarted?: boolean

  json<T = unknown>(): T {
    return JSON.parse(this.data) as T
  }
}

/**
 * A position without an event (an id-only SSE block, a control frame that moves the offset). It waits
 * in the consumer's queue behind the events received before it and is committed, never delivered,
 * once the consumer has finished them.
 */
export class PositionMarker {
  constructor(
    readonly sequence: number,
    readonly cursor: string,
    readonly meta: Readonly<Record<string, string>> | undefined,
  ) {}
}

/**
 * The server's history was replaced (an expired cursor, restarted): it waits in the consumer's queue
 * behind the old history's events, so the consumer hears of it (a `cursor-expired` notice) after
 * finishing them and before the first event of the new history. Never collapsed with other markers.
 */
export class ResetMarker extends PositionMarker {
  constructor(readonly error: ResumableSSEError) {
    super(-1, '', undefined)
  }
}
