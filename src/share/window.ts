import { isAfter, NOTHING, type Ordinal, ordinalOf, type WireEvent } from './protocol.js'

/**
 * The most recent events a tab has seen, so the leader can bring a joining tab up to date without a
 * connection of its own. Every tab keeps one (a follower's becomes the leader's when it takes over),
 * holding at most `capacity` events; `floor` is the position just before the oldest one held.
 */
export class RecentWindow {
  #events: WireEvent[] = []
  #head = 0
  /** `NOTHING` while the window reaches back to the start of the stream. */
  #floor: Ordinal

  constructor(
    floor: Ordinal,
    readonly capacity: number,
  ) {
    this.#floor = floor
  }

  add(event: WireEvent): void {
    this.#events.push(event)
    if (this.#events.length - this.#head > this.capacity) {
      this.#floor = ordinalOf(this.#events[this.#head] as WireEvent)
      this.#events[this.#head++] = undefined as unknown as WireEvent
      // Compact once the dropped prefix dominates: O(1) amortised, no Array#shift per event.
      if (this.#head > this.capacity) {
        this.#events = this.#events.slice(this.#head)
        this.#head = 0
      }
    }
  }

  /** The newest `count` events, oldest first. */
  newest(count: number): WireEvent[] {
    return count > 0 ? this.#events.slice(Math.max(this.#head, this.#events.length - count)) : []
  }

  /**
   * What a tab that has everything up to `after` needs: the events after it, when the window reaches
   * back that far; otherwise the whole window and its floor, so the tab fetches up to the floor itself.
   * A tab with no position at all gets the whole window (it starts where the window starts).
   */
  answer(after: Ordinal): { events: WireEvent[]; floor: Ordinal | null } {
    const held = this.#events.slice(this.#head)
    if (after[0] !== NOTHING[0] && isAfter(this.#floor, after)) return { events: held, floor: this.#floor }
    return { events: held.filter((event) => isAfter(ordinalOf(event), after)), floor: null }
  }
}
