import type { Checkpoint } from '../checkpoint/contract.js'
import { type HttpError, ProtocolError, ResumableSSEError } from '../errors.js'
import { type AttemptRequest, cursorFits, type Dialect, type DialectSession, type DialectSink, type Frame, MAX_CURSOR } from './dialect.js'

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
  return {
    name: 'durable-streams',
    defaultMethod: 'GET',
    // Local sequences: each event is exactly one more than the last, across resumes too.
    contiguous: true,
    prepare(request: AttemptRequest, position: Checkpoint | undefined) {
      const query = request.url.searchParams
      query.set('live', 'sse')
      const cursor = position?.meta?.[STREAM_CURSOR]
      if (cursor !== undefined) query.set('cursor', cursor)
      if (position !== undefined && position.cursor !== FIRST_BATCH) query.set('offset', position.cursor)
      // The whole history unless the user's URL says otherwise (`offset=now`: only what comes next).
      else if (!query.has('offset')) query.set('offset', '-1')
    },
    // After a 410: the whole stream as the server has it now (`offset=-1`), numbered on from `last`.
    restart: (last: Checkpoint | undefined) => ({ sequence: last?.sequence ?? 0, cursor: '-1' }),
    open(position: Checkpoint | undefined, mode: 'live' | 'replay'): DialectSession {
      return new DurableStreamsSession(position, mode)
    },
  }
}

interface Control {
  streamNextOffset: string
  streamCursor: string | undefined
  upToDate: boolean
  streamClosed: boolean
}

/**
 * Data frames wait for the control frame that gives their offset, so a server that never sends one
 * would make us buffer without end. Past this many characters of held data the connection is a
 * protocol error instead of an out-of-memory (the reference server sends a control per append batch).
 */
const MAX_HELD_CHARS = 64 * 1024 * 1024

class DurableStreamsSession implements DialectSession {
  readonly #replay: boolean
  #sequence: number
  /** Where the current batch starts: the last control's offset, or the position's. */
  #offset: string
  #streamCursor: string | undefined
  /** Data frames still to drop after resuming in the middle of a batch. */
  #skip: number
  /** Data frames dropped since `#offset`: they still count when numbering the batch's positions. */
  #dropped = 0
  #batch: string[] = []
  #batchChars = 0
  /** This connection delivered at least one control frame (it was healthy before it ended). */
  #sawControl = false
  #base64 = false

  constructor(position: Checkpoint | undefined, mode: 'live' | 'replay') {
    this.#replay = mode === 'replay'
    this.#sequence = position?.sequence ?? 0
    this.#offset = position?.cursor ?? FIRST_BATCH
    this.#streamCursor = position?.meta?.[STREAM_CURSOR]
    const skip = Number(position?.meta?.[SKIP] ?? 0)
    this.#skip = Number.isSafeInteger(skip) && skip > 0 ? skip : 0
  }

  /** Called by the core with the response headers, when it does (see DialectSession.accepted). */
  accepted(headers: Headers): void {
    this.#base64 = headers.get('stream-sse-data-encoding')?.toLowerCase() === 'base64'
  }

  rejected(error: HttpError): ResumableSSEError | undefined {
    return error.status === 410 ? new StreamGoneError(error) : undefined
  }

  frame(frame: Frame, sink: DialectSink): void {
    if (frame.event === 'data') {
      if (this.#skip > 0) {
        // Already delivered (and committed) before the restart that resumed us mid-batch.
        this.#skip -= 1
        this.#dropped += 1
        return
      }
      // One payload per frame; base64 has no line breaks of its own, so any are the server's folding.
      const data = this.#base64 ? frame.data.replace(/[\r\n]/g, '') : frame.data
      this.#batchChars += data.length
      if (this.#batchChars > MAX_HELD_CHARS) {
        sink.fail(new ProtocolError(`More than ${MAX_HELD_CHARS} characters of data frames arrived without a control frame to give their offset`))
        return
      }
      this.#batch.push(data)
      return
    }
    if (frame.event !== 'control') return // injected or newer kinds: not ours to interpret

    const control = parseControl(frame.data)
    if (control instanceof ProtocolError) {
      sink.fail(control)
      return
    }
    if (!cursorFits(control.streamNextOffset)) {
      sink.fail(new ProtocolError(`Durable Streams offset longer than ${MAX_CURSOR} bytes`))
      return
    }
    this.#sawControl = true
    this.#release(control, sink)
    if (control.streamClosed) sink.closing('stream-closed')
    else if (this.#replay && control.upToDate) sink.closing('up-to-date')
  }

  ended(): 'reconnect' | number {
    // A body that ends without `streamClosed` is the server's periodic close (about every 60 s) or a
    // fault; either way we resume from the last control, and unreleased data frames are read again from
    // that offset. A close right after a control frame is routine: reconnect at once without counting
    // a failure, or a quiet stream would climb the backoff (and exhaust maxRetries) one close at a time.
    return this.#batch.length === 0 && this.#sawControl ? 0 : 'reconnect'
  }

  /**
   * Every control frame is a position. After a batch it is the last event's; a control frame with no
   * new data that moves the offset (the first answer to `offset=now` or `-1`, the end of frames dropped
   * after a mid-batch resume) is a position without an event, taking the next local sequence, so a
   * reconnect or a restart asks from there and nothing appended meanwhile is skipped. While frames
   * are still to be dropped the offset is behind what was delivered, so it is not a position yet.
   */
  #release(control: Control, sink: DialectSink): void {
    const batch = this.#batch
    if (batch.length === 0 && this.#skip === 0 && control.streamNextOffset !== this.#offset) {
      sink.position(++this.#sequence, control.streamNextOffset, control.streamCursor === undefined ? undefined : { [STREAM_CURSOR]: control.streamCursor })
    }
    this.#batch = []
    this.#batchChars = 0
    const start = this.#offset
    const startCursor = this.#streamCursor
    for (let index = 0; index < batch.length; index += 1) {
      const data = batch[index] as string
      this.#sequence += 1
      if (index === batch.length - 1) {
        const meta = control.streamCursor === undefined ? undefined : { [STREAM_CURSOR]: control.streamCursor }
        sink.deliver('data', data, undefined, this.#sequence, control.streamNextOffset, meta)
      } else {
        const meta: Record<string, string> = { [SKIP]: String(this.#dropped + index + 1) }
        if (startCursor !== undefined) meta[STREAM_CURSOR] = startCursor
        sink.deliver('data', data, undefined, this.#sequence, start, meta)
      }
    }
    this.#offset = control.streamNextOffset
    this.#dropped = 0
    if (control.streamCursor !== undefined) this.#streamCursor = control.streamCursor
  }
}

function parseControl(text: string): Control | ProtocolError {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (error) {
    return new ProtocolError('Durable Streams control frame is not JSON', { cause: error })
  }
  if (typeof value !== 'object' || value === null) return new ProtocolError('Durable Streams control frame is not a JSON object')
  const control = value as Record<string, unknown>
  if (typeof control.streamNextOffset !== 'string' || control.streamNextOffset === '') {
    return new ProtocolError('Durable Streams control frame has no streamNextOffset')
  }
  if (control.streamCursor !== undefined && typeof control.streamCursor !== 'string') {
    return new ProtocolError('Durable Streams control frame has a non-string streamCursor')
  }
  return {
    streamNextOffset: control.streamNextOffset,
    streamCursor: control.streamCursor,
    upToDate: control.upToDate === true,
    streamClosed: control.streamClosed === true,
  }
}
