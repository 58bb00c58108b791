import type { Checkpoint } from '../checkpoint/contract.js'
import type { HttpError, ResumableSSEError } from '../errors.js'

/**
 * A dialect is how one kind of server takes the cursor back (header, POST body, query string) and
 * what its frames mean. The supervisor knows nothing about either; a new server kind is a new
 * dialect, never a change to the supervisor.
 */
export interface Dialect {
  /** Part of the resume key: the same URL read by two dialects is two different subscriptions. */
  readonly name: string
  /**
   * More of the resume key, for dialects that build the request themselves: what the subscription
   * reads that neither the URL, the method nor the user's body says (aviso: event type and filter).
   */
  readonly identity?: string
  /** The dialect writes the request body itself (a user's `body` would be ignored, so it is refused). */
  readonly ownsBody?: boolean
  /** The method used when the user gives none. */
  readonly defaultMethod: string
  /** Sequences advance by exactly one (a jump is a gap), as opposed to merely increasing. */
  readonly contiguous: boolean
  /**
   * Shapes one attempt's request. `position` is the last event received (or the stored checkpoint on
   * a fresh start); `undefined` means start wherever the server starts.
   */
  prepare(request: AttemptRequest, position: Checkpoint | undefined, mode: 'live' | 'replay'): void
  /** A fresh interpreter for one connection. */
  open(position: Checkpoint | undefined, mode: 'live' | 'replay'): DialectSession
}

/** The mutable request a dialect shapes before it is sent. */
export interface AttemptRequest {
  url: URL
  method: string
  headers: Headers
  /** The user's body value for this attempt (after evaluating a function body). */
  body: unknown
}

/** One parsed SSE frame, as eventsource-parser gives it. */
export interface Frame {
  event?: string | undefined
  id?: string | undefined
  data: string
}

/** What a dialect session tells the supervisor about the frames it reads. */
export interface DialectSink {
  /** An event for the consumer. `sequence` must be a non-negative safe integer. */
  deliver(type: string, data: string, id: string | undefined, sequence: number, cursor: string, meta?: Readonly<Record<string, string>>): void
  /**
   * An event that carries no resume position (an SSE event without an id): delivered, never deduped,
   * and committing it does not move the checkpoint.
   */
  deliverUnpositioned(type: string, data: string): void
  /**
   * The server announced the end of this connection. `reconnect`: in ms (0 = at once), or `'done'`
   * when the stream is finished and the subscription should end cleanly.
   */
  closing(reconnect: number | 'done'): void
  /** The frame broke the protocol or reported a fatal condition; ends the subscription. */
  fail(error: Error): void
}

export interface DialectSession {
  frame(frame: Frame, sink: DialectSink): void
  /**
   * Called when the body ends without a `closing()`: return `'done'` to end the subscription cleanly
   * (e.g. replay mode after the server said replay completed); a number of ms when the end was the
   * server's routine close (a reconnect it chose, which does not count as a failure); otherwise
   * `'reconnect'`, and the supervisor backs off as after any fault.
   */
  ended?(): 'done' | 'reconnect' | number
  /** The response was accepted (200, event stream): its headers, before the first frame. */
  accepted?(headers: Headers): void
  /**
   * A non-200 answer: return a typed error to make it fatal with that error instead (a Durable
   * Streams 410 is `cursor-expired`), or `undefined` to let the supervisor treat the status as usual.
   */
  rejected?(error: HttpError): ResumableSSEError | undefined
}
