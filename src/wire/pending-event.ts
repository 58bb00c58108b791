/**
 * What an unfinished event costs the parser, so `maxEventSize` bounds memory and not only characters.
 *
 * eventsource-parser joins an event's `data:` lines one string concatenation at a time, and V8 keeps
 * each join as a rope node of ~32 bytes until the event is dispatched: a flood of one-character lines
 * with no blank line held ~32 bytes of heap per character of the limit (32 MiB at the default). So
 * every data line of a pending event counts at least `LINE_COST` characters. Other lines (comments,
 * `event:`, `id:`, `retry:`, unknown fields) are not kept, so they cost nothing: a browser reads a feed
 * of keep-alive comments without blank lines forever, and so must we. A line counts as data when it
 * starts with `d` (an unknown `d...` field too: an upper bound). Normal traffic never pays for the
 * scan: lines are only looked at once `SCAN_AFTER` characters have arrived without a dispatch (those
 * count whole), and a blank line (the end of a block) starts the count over.
 */
const LINE_COST = 32
const SCAN_AFTER = 64 * 1024

export function pendingEvent(limit: number) {
  /** Characters fed since the parser last dispatched something (or a blank line was seen). */
  let chars = 0
  /** What the pending event costs: the characters fed before the scan began, then its data lines. */
  let cost = 0
  /** Length of the unterminated line at the end of the last chunk scanned. */
  let tail = 0
  /** That line is a data line. */
  let tailData = false
  /** The last chunk ended in CR: an LF starting the next one belongs to it. */
  let cr = false

  return {
    /** The parser dispatched an event or a position: nothing is pending any more. */
    dispatched(): void {
      chars = cost = tail = 0
    },

    /** Counts a chunk the parser did not dispatch in; true when the pending event is over the limit. */
    fed(text: string): boolean {
      if (chars + text.length <= SCAN_AFTER) {
        chars += text.length
        return false
      }
      // The scan begins: what came before it was not looked at, so it all counts.
      if (chars <= SCAN_AFTER) cost = chars
      const isData = (at: number) => (at < 0 ? tailData : text.charCodeAt(at) === 100)
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
          cost = 0
          start = i + 1
          chars = -start
          continue
        }
        if (isData(start)) cost += Math.max(length, LINE_COST)
        start = i + 1
      }
      cr = text.charCodeAt(text.length - 1) === 13
      tailData = isData(start)
      tail = text.length - start
      chars += text.length
      return cost + (tailData ? tail : 0) > limit
    },
  }
}
