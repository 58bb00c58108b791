import type { Position } from '../checkpoint/committer.js'

export type Verdict = 'new' | 'duplicate' | 'gap'

/**
 * Dedupe and gap detection by sequence. `last` is the newest position *received* in this process
 * (ahead of what was committed): reconnects resume from it, so events still in the buffer are not
 * asked for again, and replays the server sends anyway are dropped here, invisibly to the consumer.
 */
export class Sequencer {
  last: Position | undefined

  constructor(
    start: Position | undefined,
    private readonly contiguous: boolean,
  ) {
    this.last = start
  }

  /** Classifies `sequence` without recording it. */
  judge(sequence: number): Verdict {
    const last = this.last
    if (last === undefined) return 'new'
    if (sequence <= last.sequence) return 'duplicate'
    return this.contiguous && sequence > last.sequence + 1 ? 'gap' : 'new'
  }

  /** The sequence the stream should continue with (for gap reports). */
  get expected(): number {
    return this.last === undefined ? 0 : this.last.sequence + 1
  }
}
