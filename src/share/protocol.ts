// The BroadcastChannel protocol between the tabs that share one subscription. Plain JSON-able arrays
// and objects (structured clone copies them), every message stamped with the protocol version.
//
//   leader → all        ev  the events the leader's connection delivered (live), and the positions
//                           without events (id-only blocks, control frames) among them, in order;
//                           those of one task go in one message
//   leader → all        st  the leader's status changed (followers mirror it)
//   leader → all        hi  "I lead now": every follower answers with `join`
//   follower → leader   join  "I have everything up to `after`; send me what follows"
//   leader → all        cu  the answer to one `join` (addressed by `to`): the recent window after
//                           `after`, or — when `after` is older than the window — the window's floor,
//                           so the follower fetches the part in between itself (a catch-up connection)
//
// Lock and channel are both named `rsse:<version>:<key>`, so two library versions with different
// protocols never meet (each elects its own leader: separate connections); a message whose `v` is not
// ours is dropped as well, so a same-named stranger is never misread.
import { type DeliveredEvent, PositionMarker } from '../delivery/event.js'
import type { StatusChange } from '../types.js'

// 2: positions without events travel too (a `WireEvent` whose type is null).
export const PROTOCOL = 2

/** The lock and channel name for a resume key. */
export const channelName = (key: string): string => `rsse:${PROTOCOL}:${key}`

/**
 * Where an event sits in the stream: its sequence, and for an event without a resume position (no
 * SSE id) how many such events follow the last positioned one (`k` ≥ 1; positioned events have 0).
 * Two tabs compare positions with it, so an id-less event is neither lost nor repeated either.
 */
export type Ordinal = readonly [sequence: number, k: number]

export const NOTHING: Ordinal = [-Infinity, 0]

/** a > b */
export const isAfter = (a: Ordinal, b: Ordinal): boolean => a[0] > b[0] || (a[0] === b[0] && a[1] > b[1])

/**
 * [type, data, id, sequence, k, cursor, meta]. A position without an event (a `PositionMarker`) has type
 * null (and data '', id null, k 0): it has a sequence of its own, so it is ordered like a positioned event.
 */
export type WireEvent = readonly [string | null, string, string | null, number, number, string, Readonly<Record<string, string>> | null]

/**
 * A status change without the error object (which does not survive structured clone as our class);
 * an `HttpError`'s status, body and request id travel too, so followers rebuild one.
 */
export interface WireStatus extends Omit<StatusChange, 'error'> {
  readonly error?: { readonly code: string; readonly message: string; readonly http?: readonly [status: number, body: string, requestId: string | undefined] }
}

/** A message without its version stamp (what a tab sends; `send` adds `v`). */
export type Body =
  | { readonly t: 'ev'; readonly e: readonly WireEvent[] }
  | { readonly t: 'st'; readonly s: WireStatus }
  | { readonly t: 'hi' }
  /** `after` is `NOTHING` for a tab that has no position at all. */
  | { readonly t: 'join'; readonly from: string; readonly after: Ordinal }
  | {
      readonly t: 'cu'
      readonly to: string
      /** Events after the joiner's `after` (or the whole window when it is behind the floor). */
      readonly e: readonly WireEvent[]
      /** Set when `after` is older than the window: the position just before the window's first event. */
      readonly floor: Ordinal | null
      readonly s: WireStatus | null
    }

export type Message = Body & { readonly v: number }

export const toWire = (entry: DeliveredEvent | PositionMarker, k: number): WireEvent =>
  entry instanceof PositionMarker
    ? [null, '', null, entry.sequence, 0, entry.cursor, entry.meta ?? null]
    : [entry.type, entry.data, entry.id ?? null, entry.sequence, k, entry.cursor, entry.meta ?? null]

export const ordinalOf = (wire: WireEvent): Ordinal => [wire[3], wire[4]]

/** Our messages only: an object with our protocol version and a known type. */
export function isOurs(data: unknown): data is Message {
  return typeof data === 'object' && data !== null && (data as Message).v === PROTOCOL && typeof (data as Message).t === 'string'
}
