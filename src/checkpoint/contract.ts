import { StoreError } from '../errors.js'

/**
 * A position in a stream that the consumer has finished. `sequence` orders checkpoints (the store
 * contract is strictly monotonic in it); `cursor` is what the dialect sends back to the server to
 * resume right after this event (an SSE id, an aviso sequence, a Durable Streams offset).
 */
export interface Checkpoint {
  /** Non-negative safe integer; strictly increasing along a stream. */
  readonly sequence: number
  /** Opaque to stores; the dialect's resume token. */
  readonly cursor: string
  /** Dialect extras needed to resume exactly (e.g. Durable Streams' `streamCursor`). Strings only. */
  readonly meta?: Readonly<Record<string, string>>
  /** When the consumer finished the event (ms since epoch). Informational. */
  readonly committedAt?: number
}

/**
 * A position the consumer may finish, before it becomes a `Checkpoint`: anything with a sequence and a
 * cursor (a delivered event, a position marker, the sequencer's last admitted entry).
 */
export interface Position {
  readonly sequence: number
  readonly cursor: string
  readonly meta?: Readonly<Record<string, string>> | undefined
}

/** A position's own fields (an event or a checkpoint carries more), `meta` only when there is one. */
export function positionOf({ sequence, cursor, meta }: Position): Checkpoint {
  return meta ? { sequence, cursor, meta } : { sequence, cursor }
}

/**
 * Where checkpoints live. Every implementation honours one contract (the suite in
 * `resumable-sse/testing` checks it):
 * 1. `get` returns the last committed checkpoint, or `undefined` when there is none.
 * 2. `put` is strictly monotonic in `sequence`: at or below the stored value it is a silent no-op.
 *    Once it resolves, `get` returns it; when it rejects, nothing changed.
 * 3. `delete` removes the key; resetting to a lower sequence is delete-then-put.
 * 4. Stored data that cannot be read back is a `StoreError` (`corrupt` or `version`), never treated as
 *    "no checkpoint" and never overwritten unless the caller deletes it first.
 */
export interface CheckpointStore {
  get(key: string): Promise<Checkpoint | undefined>
  put(key: string, checkpoint: Checkpoint): Promise<void>
  delete(key: string): Promise<void>
  /** Optional: resolves when writes this store deferred (coalescing, write-behind) are durable. */
  flush?(): Promise<void>
  /**
   * Checkpoints outlive the process (IndexedDB, localStorage, KV, Durable Object storage). Read by the
   * identity rule: such a store needs `key` or `fingerprint` where the feed may be per-user.
   */
  readonly persistent?: boolean
  /** Optional: deletes every checkpoint this library wrote in the store, touching nothing else ("forget all"). */
  clear?(): Promise<void>
}

/** The format version written by `encodeCheckpoint`; bump it when the stored shape changes. */
export const CHECKPOINT_FORMAT = 1

/** The serialised form shared by every string-valued backend (localStorage, KV). */
export interface StoredCheckpoint {
  v: number
  sequence: number
  cursor: string
  meta?: Record<string, string>
  committedAt?: number
}

/** Throws `StoreError('invalid')` for a checkpoint that no store may accept. */
export function assertValidCheckpoint(checkpoint: Checkpoint): void {
  if (typeof checkpoint !== 'object' || checkpoint === null) {
    throw new StoreError('invalid', 'Expected a checkpoint object')
  }
  // A number is quoted, anything else only named: stored garbage may be a megabyte of text.
  if (!Number.isSafeInteger(checkpoint.sequence) || checkpoint.sequence < 0) {
    throw new StoreError('invalid', `Expected \`sequence\` to be a non-negative safe integer, got ${typeof checkpoint.sequence === 'number' ? checkpoint.sequence : typeof checkpoint.sequence}`)
  }
  if (typeof checkpoint.cursor !== 'string') {
    throw new StoreError('invalid', 'Expected `cursor` to be a string')
  }
  const { meta } = checkpoint
  if (meta !== undefined && (typeof meta !== 'object' || meta === null || Object.values(meta).some((value) => typeof value !== 'string'))) {
    throw new StoreError('invalid', 'Expected `meta` to be an object of strings')
  }
  // What a store's get would refuse, so a put cannot brick its key. `null` is absent (a SQL NULL;
  // what JSON made of a NaN that earlier versions let through).
  if (checkpoint.committedAt != null && !Number.isFinite(checkpoint.committedAt)) {
    throw new StoreError('invalid', 'Expected `committedAt` to be a finite number')
  }
}

/** The strict-monotonic rule in one place: should `next` replace `current`? */
export function supersedes(next: Checkpoint, current: Checkpoint | undefined): boolean {
  return current === undefined || next.sequence > current.sequence
}

/** A plain, versioned, JSON-safe copy of a checkpoint (what every backend stores). */
export function toStored(checkpoint: Checkpoint): StoredCheckpoint {
  return { v: CHECKPOINT_FORMAT, ...fields(checkpoint) } as StoredCheckpoint
}

/**
 * A checkpoint's own fields, in their order, without the absent ones; `meta` is a fresh object, so no
 * caller (nor a backend that hands out cached values, such as a Durable Object's storage cache) can
 * mutate what another holds.
 */
function fields({ sequence, cursor, meta, committedAt }: { [K in keyof Checkpoint]: unknown }): object {
  return { sequence, cursor, ...(meta !== undefined && { meta: { ...(meta as object) } }), ...(committedAt != null && { committedAt }) }
}

/** What an unreadable checkpoint's error tells the user to do: rule 4 never overwrites it. */
const LEFT_AS_IS = '; it is left as is: delete it (store.delete(key)) or every checkpoint (store.clear()) to start over'

/**
 * Reads back what a backend stored. Anything that is not exactly a checkpoint of our format is a
 * typed error: silently treating garbage as "no checkpoint" would restart the stream from scratch
 * (or from "now") and lose or repeat a whole history.
 */
export function fromStored(value: unknown, where: string): Checkpoint {
  const corrupt = (what: string, cause?: unknown) => new StoreError('corrupt', `Stored checkpoint at ${where} ${what}${LEFT_AS_IS}`, { cause })
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw corrupt('is not an object')
  const record = value as Record<string, unknown>
  if (record.v !== CHECKPOINT_FORMAT) {
    if (typeof record.v === 'number') {
      throw new StoreError('version', `Stored checkpoint at ${where} has format version ${record.v}; this library reads version ${CHECKPOINT_FORMAT}${LEFT_AS_IS}`)
    }
    throw corrupt('has no format version')
  }
  // Validated as a put would, as stored (copied first, a `meta` of 'abc' would pass as {0:'a',…});
  // then only the checkpoint's own fields (see `fields`: `meta` is a fresh object).
  try {
    assertValidCheckpoint(record as unknown as Checkpoint)
  } catch (error) {
    throw corrupt(`is malformed: ${(error as Error).message}`, error)
  }
  return fields(record as unknown as Checkpoint) as Checkpoint
}

/** JSON text for string-valued backends. */
export function encodeCheckpoint(checkpoint: Checkpoint): string {
  return JSON.stringify(toStored(checkpoint))
}

/** Parses JSON text written by `encodeCheckpoint`; garbage is a `StoreError('corrupt')`. */
export function decodeCheckpoint(text: string, where: string): Checkpoint {
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (error) {
    throw new StoreError('corrupt', `Stored checkpoint at ${where} is not valid JSON${LEFT_AS_IS}`, { cause: error })
  }
  return fromStored(parsed, where)
}

/**
 * Maps a backend exception (usually a DOMException) to a typed store error, keeping it as `cause`.
 * Already-typed store errors pass through untouched.
 */
export function toStoreError(error: unknown, action: string): StoreError {
  if (error instanceof StoreError) return error
  const name = typeof error === 'object' && error !== null ? String((error as { name?: unknown }).name) : ''
  const message = error instanceof Error ? error.message : String(error)
  if (name === 'QuotaExceededError' || /quota/i.test(message)) {
    return new StoreError('quota', `Checkpoint store is full (${action}): ${message}`, { cause: error })
  }
  if (name === 'SecurityError' || name === 'NotAllowedError') {
    return new StoreError('forbidden', `Checkpoint store is not allowed here (${action}): ${message}`, { cause: error })
  }
  return new StoreError('unavailable', `Checkpoint store failed (${action}): ${message}`, { cause: error })
}
