import type { Position } from '../checkpoint/contract.js'
import { GapError } from '../errors.js'
import type { Notice } from '../types.js'

/**
 * Dedupe and gap detection by sequence, in one place: what is new, what is a replay, what is a gap and
 * what a gap means. `last` is the newest position *received* in this process (ahead of what was
 * committed): reconnects resume from it, so events still in the buffer are not asked for again, and
 * replays the server sends anyway are dropped here, invisibly to the consumer.
 */
export class Sequencer {
  last: Position | undefined

  constructor(
    start: Position | undefined,
    private readonly contiguous: boolean,
    private readonly strictGaps: boolean,
    private readonly onNotice: (notice: Notice) => void,
  ) {
    this.last = start
  }

  /**
   * Judges `position` and records it when it goes on: `true` = new, deliver it; `false` = a replay,
   * dropped (a `duplicate` notice for events). A jump on a contiguous stream is a `gap` notice and goes
   * on, or with `strictGaps` the `GapError` that ends the subscription (and nothing is recorded).
   */
  admit(position: Position, event: boolean): boolean | GapError {
    const last = this.last
    const sequence = position.sequence
    if (last !== undefined) {
      if (sequence <= last.sequence) {
        if (event) this.onNotice({ kind: 'duplicate', sequence })
        return false
      }
      if (this.contiguous && sequence > last.sequence + 1) {
        if (this.strictGaps) return new GapError(last.sequence + 1, sequence)
        this.onNotice({ kind: 'gap', expected: last.sequence + 1, received: sequence })
      }
    }
    this.last = position
    return true
  }
}
