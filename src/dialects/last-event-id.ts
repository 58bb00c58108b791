import type { Checkpoint } from '../checkpoint/contract.js'
import { ConfigError } from '../errors.js'
import type { AttemptRequest, Dialect, DialectSession, DialectSink, Frame } from './dialect.js'

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
}

/**
 * An id of 1 to 15 ASCII digits is a sequence (always a safe integer); anything else is opaque.
 * A char-code loop rather than a regex: this runs once per event.
 */
function isNumericId(id: string): boolean {
  if (id.length > 15) return false
  for (let i = 0; i < id.length; i++) {
    const code = id.charCodeAt(i)
    if (code < 48 || code > 57) return false
  }
  return true
}

/**
 * The standard: the cursor is the SSE `id`, sent back in the `Last-Event-ID` header (WHATWG HTML
 * §9.2). Numeric ids are the sequence; opaque ids get a local sequence that keeps increasing from the
 * checkpoint, so ordering and dedupe still work within a process. An event without an id is delivered
 * but cannot be resumed from, so committing it does not move the checkpoint.
 */
export function lastEventId(options: LastEventIdOptions = {}): Dialect {
  const { queryParam } = options
  if (queryParam !== undefined && (typeof queryParam !== 'string' || queryParam === '')) throw new ConfigError('Expected lastEventId `queryParam` to be a non-empty string')
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
      } else if (cursor) request.headers.set('Last-Event-ID', cursor)
    },
    open(position: Checkpoint | undefined): DialectSession {
      return new LastEventIdSession(position)
    },
  }
}

class LastEventIdSession implements DialectSession {
  #sequence: number
  /**
   * Once a stream has shown an opaque id, every id is numbered locally, digits or not: an opaque id
   * that happens to be all digits ("0815" among hex ids) must not be read as a sequence, or dedupe
   * would drop it and everything after it. A checkpoint whose cursor is not its own sequence was
   * numbered locally, so a resumed session starts in that mode.
   */
  #opaque: boolean

  constructor(position: Checkpoint | undefined) {
    this.#sequence = position?.sequence ?? 0
    this.#opaque = position !== undefined && position.cursor !== '' && !(isNumericId(position.cursor) && Number(position.cursor) === position.sequence)
  }

  frame(frame: Frame, sink: DialectSink): void {
    const id = frame.id
    const type = frame.event || 'message'
    if (id === undefined || id === '') {
      sink.deliverUnpositioned(type, frame.data)
      return
    }
    // Numeric ids lower than what we hold pass through with their own number: the supervisor's dedupe
    // drops them as replays. Opaque ids always move forward locally.
    if (!this.#opaque && !isNumericId(id)) this.#opaque = true
    this.#sequence = this.#opaque ? this.#sequence + 1 : Number(id)
    sink.deliver(type, frame.data, id, this.#sequence, id)
  }
}
