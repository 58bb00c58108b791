/**
 * What an unfinished event costs the parser, so `maxEventSize` bounds memory and not only characters.
 *
 * eventsource-parser joins an event's `data:` lines one string concatenation at a time, and V8 keeps
 * each join as a rope node of ~32 bytes until the event is dispatched: a flood of one-character lines
 * with no blank line held ~32 bytes of heap per character of the limit (32 MiB at the default). So
 * every line of a pending event counts at least `LINE_COST` characters. Normal traffic never pays for
 * the scan: lines are only looked at once `SCAN_AFTER` characters have arrived without a dispatch,
 * and a blank line (the end of a block) starts the count over, so heartbeats on a quiet feed never add up.
 */
const LINE_COST = 32
const SCAN_AFTER = 64 * 1024

export function pendingEvent(limit: number) {
  /** Characters fed since the parser last dispatched something (or a blank line was seen). */
  let chars = 0
  /** What short lines cost beyond their characters. */
  let extra = 0
  /** Length of the unterminated line at the end of the last chunk scanned. */
  let tail = 0
  /** The last chunk ended in CR: an LF starting the next one belongs to it. */
  let cr = false

  return {
    /** The parser dispatched an event or a position: nothing is pending any more. */
    dispatched(): void {
      chars = extra = tail = 0
    },

    /** Counts a chunk the parser did not dispatch in; true when the pending event is over the limit. */
    fed(text: string): boolean {
      if (chars + text.length <= SCAN_AFTER) {
        chars += text.length
        return false
      }
      let start = -tail
      for (let i = 0; i < text.length; i++) {
        const code = text.charCodeAt(i)
        if (code !== 10 && code !== 13) continue
        if (code === 10 && i === 0 && cr) {
          start = 1
          continue
        }
        const length = i - start
        if (code === 13 && text.charCodeAt(i + 1) === 10) i++
        if (length === 0) {
          // A blank line ends the block: whatever it held was dispatched or dropped.
          extra = 0
          start = i + 1
          chars = -start
          continue
        }
        if (length < LINE_COST) extra += LINE_COST - length
        start = i + 1
      }
      cr = text.charCodeAt(text.length - 1) === 13
      tail = text.length - start
      chars += text.length
      return chars + extra > limit
    },
  }
}
