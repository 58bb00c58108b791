import type { Checkpoint } from '../checkpoint/contract.js'
import { ConfigError, type HttpError, ResumableSSEError } from '../errors.js'
import { type AttemptRequest, cursorFits, type Dialect, type DialectSession, type DialectSink, type Frame } from './dialect.js'

export interface LastEventIdOptions {
  /**
   * Numeric ids advance by exactly one, so a jump means the server skipped events (a gap).
   * Most servers only promise increasing ids. @default false
   */
  contiguous?: boolean
  /**
   * Send the cursor as this query parameter instead of the `Last-Event-ID` header (nchan and Mercure
   * take `last_event_id`). A cross-origin request then needs no CORS preflight, which many SSE servers
   * do not answer. The parameter stays out of the resume key.
   */
  queryParam?: string
  /**
   * Statuses this server answers when the `Last-Event-ID` sent is too old for its history (e.g.
   * `[409, 410]`): a `cursor-expired` error, which `onCursorExpired: 'restart'` restarts from (sending
   * no id: wherever the server starts). Only a request that carried an id can have an expired one.
   * @default []
   */
  expiredStatuses?: readonly number[]
}

/**
 * The sequence an id of 1 to 15 ASCII digits stands for (always a safe integer), parsed in the same pass
 * that checks the digits; -1 for anything else (an opaque id). Runs once per event.
 */
function numericId(id: string): number {
  const length = id.length
  if (length === 0 || length > 15) return -1
  let value = 0
  for (let i = 0; i < length; i++) {
    const digit = id.charCodeAt(i) - 48
    if (digit < 0 || digit > 9) return -1
    value = value * 10 + digit
  }
  return value
}

/**
 * Whether this runtime's `Headers` take any string and send it as UTF-8 (workerd) rather than one byte
 * per character (the Fetch standard's ByteString: browsers, Node, Deno). Detected once.
 */
let utf8Headers: boolean | undefined

/**
 * The id as a header value that goes out as its UTF-8 bytes, which is what browsers send: where a
 * header carries one byte per character, the bytes one character each (`fetch` refuses characters
 * above U+00FF and would send é as the single byte e9).
 */
export function headerValue(id: string): string {
  if (/^[\x00-\x7f]*$/.test(id)) return id
  if (utf8Headers === undefined) {
    try {
      new Headers({ a: '\u20ac' })
      utf8Headers = true
    } catch {
      utf8Headers = false
    }
  }
  if (utf8Headers) return id
  let bytes = ''
  for (const byte of new TextEncoder().encode(id)) bytes += String.fromCharCode(byte)
  return bytes
}

/**
 * The standard: the cursor is the SSE `id`, sent back in the `Last-Event-ID` header (WHATWG HTML
 * §9.2). Numeric ids are the sequence; opaque ids get a local sequence that keeps increasing from the
 * checkpoint. An event without an id is delivered but cannot be resumed from, so committing it does not
 * move the checkpoint; an id-only block is a position without an event. An empty id resets the
 * position (no header is sent, as browsers do) and is committed like any other position.
 */
export function lastEventId(options: LastEventIdOptions = {}): Dialect {
  const { queryParam, expiredStatuses } = options
  if (queryParam !== undefined && (typeof queryParam !== 'string' || queryParam === '')) throw new ConfigError('Expected lastEventId `queryParam` to be a non-empty string')
  // Checked here: a bare number would only fail (as a TypeError) inside the first refusal.
  if (expiredStatuses !== undefined && !(Array.isArray(expiredStatuses) && expiredStatuses.every((status) => Number.isInteger(status) && status > 99 && status < 600))) {
    throw new ConfigError('Expected lastEventId `expiredStatuses` to be an array of HTTP statuses')
  }
  return {
    name: 'last-event-id',
    defaultMethod: 'GET',
    contiguous: options.contiguous ?? false,
    prepare(request: AttemptRequest, position: Checkpoint | undefined) {
      const cursor = position?.cursor
      // The request URL is a per-attempt copy; the resume key was derived from the user's URL.
      if (queryParam !== undefined) {
        if (cursor) request.url.searchParams.set(queryParam, cursor)
        else if (cursor === '') request.url.searchParams.delete(queryParam)
      } else if (cursor) request.headers.set('Last-Event-ID', headerValue(cursor))
    },
    open(position: Checkpoint | undefined): DialectSession {
      return new LastEventIdSession(position, expiredStatuses)
    },
  }
}

class LastEventIdSession implements DialectSession {
  /** The highest sequence handed out (local numbering continues from it). */
  #sequence: number
  /**
   * Once a stream has shown an opaque id, every id is numbered locally, digits or not: an opaque id
   * that happens to be all digits ("0815" among hex ids) must not be read as a sequence, or dedupe
   * would drop it and everything after it. An empty id (a reset) does the same: the server may start
   * its numbering again, and judging new ids against the old numbers would drop them. A checkpoint
   * whose cursor is not its own sequence was numbered locally, so a resumed session starts that way.
   */
  #opaque: boolean
  /**
   * The HTML standard's last event ID buffer: `event.cursor`, for events without an id too.
   * `undefined` until there is a position (any numeric id is new then).
   */
  #lastId: string | undefined

  readonly #expired: readonly number[] | undefined

  constructor(position: Checkpoint | undefined, expired?: readonly number[]) {
    // Statuses count as an expired cursor only when this connection sent one.
    if (position?.cursor) this.#expired = expired
    this.#sequence = position?.sequence ?? 0
    this.#lastId = position?.cursor
    this.#opaque = position !== undefined && numericId(position.cursor) !== position.sequence
  }

  rejected(error: HttpError): ResumableSSEError | undefined {
    if (!this.#expired?.includes(error.status)) return undefined
    return new ResumableSSEError('cursor-expired', `Server answered ${error.status}: the Last-Event-ID is past its history`, { cause: error })
  }

  frame(frame: Frame, sink: DialectSink): void {
    const id = frame.id
    const type = frame.event || 'message'
    const sequence = id === undefined ? -1 : this.#advance(id)
    if (sequence < 0) sink.deliverUnpositioned(type, frame.data, this.#lastId ?? '', id)
    else sink.deliver(type, frame.data, id, sequence, id as string)
  }

  idOnly(id: string, sink: DialectSink): void {
    const sequence = this.#advance(id)
    if (sequence >= 0) sink.position(sequence, id)
  }

  /**
   * Takes `id` as the last event ID and returns its sequence, or -1 when it cannot be a position (too
   * long to send back: it is delivered without moving the position). Numeric ids lower than what we
   * hold keep their own number: the sequencer drops them as replays.
   */
  #advance(id: string): number {
    const numeric = this.#opaque ? -1 : numericId(id)
    if (numeric >= 0) {
      // A numeric id (at most 15 digits) always fits. One at or below the last position is a replay the
      // sequencer drops: not the last event ID either, so `event.cursor` stays what is sent back.
      if (numeric > this.#sequence || this.#lastId === undefined) {
        this.#lastId = id
        this.#sequence = numeric
      }
      return numeric
    }
    if (!cursorFits(id)) return -1
    this.#lastId = id
    this.#opaque = true
    return ++this.#sequence
  }
}
