import type { Checkpoint } from '../checkpoint/contract.js'
import { type HttpError, ProtocolError, ResumableSSEError } from '../errors.js'
import { jsonObject, restartAt } from './common.js'
import { type AttemptRequest, cursorFits, type Dialect, type DialectSession, type DialectSink, type Frame, MAX_CURSOR, unsendable } from './dialect.js'

/**
 * 410: the stream (or the part of it our offset points into) is gone for good. Code
 * `cursor-expired`: the checkpoint can never be resumed from; the HTTP details stay on `cause`.
 */
export class StreamGoneError extends ResumableSSEError {
  override name = 'StreamGoneError'
  constructor(cause: HttpError) {
    super('cursor-expired', `The durable stream is gone (410); its checkpoint cannot be resumed${cause.body ? `: ${cause.body.slice(0, 200)}` : ''}`, { cause })
  }
}

// Checkpoint meta keys. Strings only (the store contract).
const SKIP = 'skip'
const STREAM_CURSOR = 'streamCursor'

/**
 * The cursor of an event inside the first batch of a fresh start, before any control frame named an
 * offset: "where this subscription starts" (the URL's `offset`, or `-1`), which `prepare` resolves.
 * The reference server answers `offset=now` with a control frame before any data, so a batch that
 * begins at `now` (which moves) never needs it.
 */
const FIRST_BATCH = ''

/**
 * Durable Streams (the `live=sse` read). The server sends `event: data` frames, then an
 * `event: control` frame whose `streamNextOffset` is the only resumable position: offsets exist only
 * at control frames. A batch of data frames is therefore held until its control frame, and each event
 * gets a position it can resume from exactly:
 *
 * - the last event of a batch: `cursor = streamNextOffset`, no skip;
 * - the k-th (1-based) of the others: `cursor = the offset the batch started at`, meta `skip = k`,
 *   meaning "read from this offset and drop the first k data frames" (the server re-sends the same
 *   messages from the same offset, one data frame each).
 *
 * So a consumer that finishes an event in the middle of a batch and restarts gets exactly the rest of
 * the batch: nothing lost, nothing twice. Sequences are local, counting on from the checkpoint's.
 * Data frames are delivered as type `data` with the payload verbatim (base64 text for binary streams).
 */
export function durableStreams(): Dialect {
  /**
   * The newest control frame's offset and cursor. Keep-alives renew the cursor without moving the
   * offset (so without a position), and the protocol wants the newest echoed: a reconnect from that
   * offset sends it. Keyed by the offset, so a restart (`-1`) or another position sends its own.
   */
  let newest: [offset: string, cursor: string] | undefined
  return {
    name: 'durable-streams',
    defaultMethod: 'GET',
    // Local sequences: each event is exactly one more than the last, across resumes too.
    contiguous: true,
    prepare(request: AttemptRequest, position: Checkpoint | undefined) {
      const query = request.url.searchParams
      query.set('live', 'sse')
      const cursor = newest !== undefined && newest[0] === position?.cursor ? newest[1] : position?.meta?.[STREAM_CURSOR]
      if (cursor !== undefined) query.set('cursor', cursor)
      if (position !== undefined && position.cursor !== FIRST_BATCH) query.set('offset', position.cursor)
      // The whole history unless the user's URL says otherwise (`offset=now`: only what comes next).
      else if (!query.has('offset')) query.set('offset', '-1')
    },
    // After a 410: the whole stream as the server has it now (`offset=-1`), numbered on from `last`.
    restart: restartAt('-1'),
    open(position: Checkpoint | undefined, mode: 'live' | 'replay'): DialectSession {
      let sequence = position?.sequence ?? 0
      /** Where the current batch starts: the last control's offset, or the position's. */
      let offset = position?.cursor ?? FIRST_BATCH
      let streamCursor = position?.meta?.[STREAM_CURSOR]
      /** Data frames still to drop after resuming in the middle of a batch. */
      let skip = Number(position?.meta?.[SKIP] ?? 0)
      if (!(Number.isSafeInteger(skip) && skip > 0)) skip = 0
      /** Data frames dropped since `offset`: they still count when numbering the batch's positions. */
      let dropped = 0
      let batch: string[] = []
      let batchChars = 0
      /** This connection delivered at least one control frame (it was healthy before it ended). */
      let sawControl = false
      let base64 = false
      const withCursor = (cursor: string | undefined) => (cursor === undefined ? undefined : { [STREAM_CURSOR]: cursor })
      return {
        /** Called by the core with the response headers, when it does (see DialectSession.accepted). */
        accepted(headers: Headers): void {
          base64 = headers.get('stream-sse-data-encoding')?.toLowerCase() === 'base64'
        },
        rejected: (error: HttpError) => (error.status === 410 ? new StreamGoneError(error) : undefined),
        frame(frame: Frame, sink: DialectSink): void {
          const fail = (message: string) => sink.fail(new ProtocolError(message))
          if (frame.event === 'data') {
            if (skip > 0) {
              // Already delivered (and committed) before the restart that resumed us mid-batch.
              skip -= 1
              dropped += 1
              return
            }
            // One payload per frame; base64 has no line breaks of its own, so any are the server's folding.
            const data = base64 ? frame.data.replace(/[\r\n]/g, '') : frame.data
            if ((batchChars += data.length) > MAX_HELD_CHARS) return fail(`More than ${MAX_HELD_CHARS} characters of data frames arrived without a control frame to give their offset`)
            batch.push(data)
            return
          }
          if (frame.event !== 'control') return // injected or newer kinds: not ours to interpret

          const control = jsonObject(frame.data, 'Durable Streams control frame', sink)
          if (control === undefined) return
          const next = control.streamNextOffset
          const nextCursor = control.streamCursor
          if (typeof next !== 'string' || next === '') return fail('Durable Streams control frame has no streamNextOffset')
          if (nextCursor !== undefined && (typeof nextCursor !== 'string' || !cursorFits(nextCursor))) return fail(`Durable Streams streamCursor is not a string of at most ${MAX_CURSOR} bytes`)
          if (!cursorFits(next)) return fail(`Durable Streams offset longer than ${MAX_CURSOR} bytes`)
          if (unsendable(next)) return fail('Durable Streams offset has a line break, NUL or lone surrogate')
          sawControl = true

          // Every control frame is a position. After a batch it is the last event's; a control frame with
          // no new data that moves the offset (the first answer to `offset=now` or `-1`, the end of frames
          // dropped after a mid-batch resume) is a position without an event, taking the next local
          // sequence, so a reconnect or a restart asks from there and nothing appended meanwhile is
          // skipped. While frames are still to be dropped the offset is behind what was delivered, so it
          // is not a position yet.
          if (batch.length === 0 && skip === 0 && next !== offset) sink.position(++sequence, next, withCursor(nextCursor))
          const held = batch
          batch = []
          batchChars = 0
          held.forEach((data, index) => {
            sequence += 1
            if (index === held.length - 1) sink.deliver('data', data, undefined, sequence, next, withCursor(nextCursor))
            else sink.deliver('data', data, undefined, sequence, offset, { [SKIP]: String(dropped + index + 1), ...withCursor(streamCursor) })
          })
          offset = next
          dropped = 0
          if (nextCursor !== undefined) newest = [next, (streamCursor = nextCursor)]

          if (control.streamClosed === true) sink.closing('stream-closed')
          else if (mode === 'replay' && control.upToDate === true) sink.closing('up-to-date')
        },
        // A body that ends without `streamClosed` is the server's periodic close (about every 60 s) or a
        // fault; either way we resume from the last control, and unreleased data frames are read again from
        // that offset. A close right after a control frame is routine: reconnect at once without counting
        // a failure, or a quiet stream would climb the backoff (and exhaust maxRetries) one close at a time.
        ended: () => (batch.length === 0 && sawControl ? 0 : 'reconnect'),
      }
    },
  }
}

/**
 * Data frames wait for the control frame that gives their offset, so a server that never sends one
 * would make us buffer without end. Past this many characters of held data the connection is a
 * protocol error instead of an out-of-memory (the reference server sends a control per append batch).
 */
const MAX_HELD_CHARS = 64 * 1024 * 1024
