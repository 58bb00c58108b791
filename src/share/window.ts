import { isAfter, NOTHING, type Ordinal, ordinalOf, type WireEvent } from './protocol.js'

/** Characters an entry holds (type, data, id), as the consumer's buffer counts them. */
export const sizeOf = (event: WireEvent): number => (event[0]?.length ?? 0) + event[1].length + (event[2]?.length ?? 0)

/**
 * The most recent events a tab has seen, so the leader can bring a joining tab up to date without a
 * connection of its own. Every tab keeps one (a follower's becomes the leader's when it takes over),
 * holding at most `capacity` events and about `maxChars` characters (the oldest go first; the newest
 * `keep` stay whatever their size: the leader's own consumer has not had them yet); `floor` is the
 * position just before the oldest one held.
 */
export class RecentWindow {
  #events: WireEvent[] = []
  #head = 0
  #chars = 0
  /** `NOTHING` while the window reaches back to the start of the stream. */
  #floor: Ordinal

  constructor(
    floor: Ordinal,
    readonly capacity: number,
    readonly maxChars = Infinity,
  ) {
    this.#floor = floor
  }

  add(event: WireEvent, keep = 0): void {
    this.#events.push(event)
    this.#chars += sizeOf(event)
    for (let held = this.#events.length - this.#head; held > keep && held > 1 && (held > this.capacity || this.#chars > this.maxChars); held--) {
      const oldest = this.#events[this.#head] as WireEvent
      this.#floor = ordinalOf(oldest)
      this.#chars -= sizeOf(oldest)
      this.#events[this.#head++] = undefined as unknown as WireEvent
      // Compact once the dropped prefix dominates: O(1) amortised, no Array#shift per event.
      if (this.#head > this.capacity) {
        this.#events = this.#events.slice(this.#head)
        this.#head = 0
      }
    }
  }

  /** The `n`th newest event held (1: the newest). */
  back(n: number): WireEvent {
    return this.#events[this.#events.length - n] as WireEvent
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
