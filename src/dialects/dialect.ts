import { assertValidCheckpoint, type Checkpoint } from '../checkpoint/contract.js'
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
   * Shapes one attempt's request. `position` is the newest position received, an event's or one
   * without an event (or the stored checkpoint on a fresh start); `undefined` means start wherever the
   * server starts.
   */
  prepare(request: AttemptRequest, position: Checkpoint | undefined, mode: 'live' | 'replay'): void
  /**
   * `onCursorExpired: 'restart'`: where the new history starts after the server said the cursor
   * expired (a session's `cursor-expired` error): the oldest position the server still has, or live
   * where it cannot be asked for. `last` is the newest position received. Without this hook the
   * restart sends no position (wherever the server starts).
   */
  restart?(last: Checkpoint | undefined, mode: 'live' | 'replay'): Checkpoint | undefined
  /**
   * A fresh interpreter for one connection. `onCursorExpired` is the subscription's policy, for a
   * dialect that learns of lost history in a way that is not an error by itself (Mercure's answer header).
   */
  open(position: Checkpoint | undefined, mode: 'live' | 'replay', onCursorExpired?: 'fail' | 'restart'): DialectSession
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

/**
 * Why a stream ended cleanly: `'up-to-date'` = caught up with everything the server has now (more may
 * come later); `'stream-closed'` = the server said the stream will never grow.
 */
export type StreamEnd = 'up-to-date' | 'stream-closed'

/**
 * The longest cursor, in UTF-8 bytes. A position whose cursor is longer is never committed (it would be
 * sent back on every request, and servers answer an oversized header with 431 forever).
 */
export const MAX_CURSOR = 4096

/** Whether `cursor` is within MAX_CURSOR UTF-8 bytes (the encoder runs only for very long cursors). */
export function cursorFits(cursor: string): boolean {
  return cursor.length * 3 <= MAX_CURSOR || encodedFits(cursor)
}

/** Apart from `cursorFits`, which runs per event and must stay small enough for V8 to inline. */
const encodedFits = (cursor: string): boolean => cursor.length <= MAX_CURSOR && new TextEncoder().encode(cursor).length <= MAX_CURSOR

/**
 * Why `value` (a `from` option, what a store's `get` returned) cannot be resumed from, or `undefined`
 * when it can: not a checkpoint, or a cursor too long to send back.
 */
export function checkpointProblem(value: unknown): string | undefined {
  try {
    assertValidCheckpoint(value as Checkpoint)
  } catch (error) {
    return (error as Error).message
  }
  const cursor = (value as Checkpoint).cursor
  if (!cursorFits(cursor)) return `Expected \`cursor\` to be at most ${MAX_CURSOR} UTF-8 bytes`
  // A cursor a server could have sent: no line break or NUL (an SSE id never has one; a header cannot
  // carry it) and no lone surrogate (it would be sent as U+FFFD, another cursor than the one stored).
  if (unsendable(cursor)) return 'Expected `cursor` to be text a server could send back (no line break, NUL or lone surrogate)'
  return undefined
}

/**
 * Whether `cursor` has a line break, NUL or lone surrogate: never an SSE id, but a cursor read from a
 * JSON frame (a Durable Streams offset) can have one, and committed it would fail every later resume.
 */
export const unsendable = (cursor: string): boolean => /[\r\n\0]|[\ud800-\udbff](?![\udc00-\udfff])|(?:^|[^\ud800-\udbff])[\udc00-\udfff]/.test(cursor)

/** What a dialect session tells the supervisor about the frames it reads. */
export interface DialectSink {
  /** An event for the consumer. `sequence` must be a non-negative safe integer. */
  deliver(type: string, data: string, id: string | undefined, sequence: number, cursor: string, meta?: Readonly<Record<string, string>>): void
  /**
   * An event that carries no resume position (an SSE event without an id): delivered, never deduped,
   * and committing it does not move the checkpoint. `cursor`: what `event.cursor` says (the SSE last
   * event ID); `id`: the id it came with, if one too long to be a position.
   */
  deliverUnpositioned(type: string, data: string, cursor?: string, id?: string): void
  /**
   * A position without an event (an id-only SSE block, a control frame that moves the offset): it
   * travels the consumer's queue in order, unseen, and is committed once everything before it is
   * finished; reconnects resume from it at once. Same rules as `deliver` for `sequence`.
   */
  position(sequence: number, cursor: string, meta?: Readonly<Record<string, string>>): void
  /**
   * The server announced the end of this connection. `reconnect`: in ms (0 = at once), or why the
   * stream ended cleanly (the subscription then ends).
   */
  closing(reconnect: number | StreamEnd): void
  /** The frame broke the protocol or reported a fatal condition; ends the subscription. */
  fail(error: Error): void
}

export interface DialectSession {
  frame(frame: Frame, sink: DialectSink): void
  /**
   * An SSE block that set the last event ID without dispatching an event (`id:` and no `data:`).
   * Sessions that have no use for it leave it out.
   */
  idOnly?(id: string, sink: DialectSink): void
  /**
   * Called when the body ends without a `closing()`: return a `StreamEnd` to end the subscription
   * cleanly (e.g. replay mode after the server said replay completed); a number of ms when the end was the
   * server's routine close (a reconnect it chose, which does not count as a failure); otherwise
   * `'reconnect'`, and the supervisor backs off as after any fault.
   */
  ended?(): StreamEnd | 'reconnect' | number
  /**
   * The response was accepted (200, event stream): its headers, before the first frame. Return a
   * typed error to end the connection with it instead (a `cursor-expired` one when the headers say
   * the history asked for is gone).
   */
  accepted?(headers: Headers): ResumableSSEError | void
  /**
   * A non-200 answer: return a typed error to make it fatal with that error instead (a Durable
   * Streams 410 is `cursor-expired`, which `onCursorExpired: 'restart'` restarts from), or `undefined`
   * to let the supervisor treat the status as usual.
   */
  rejected?(error: HttpError): ResumableSSEError | undefined
}
