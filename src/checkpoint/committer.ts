import { type Checkpoint, type CheckpointStore, toStoreError } from './contract.js'
import type { StoreError } from '../errors.js'

/** What the committer is handed per event: anything with a position (a delivered event will do). */
export interface Position {
  readonly sequence: number
  readonly cursor: string
  readonly meta?: Readonly<Record<string, string>> | undefined
}

/**
 * Write-behind for one key: `commit` is synchronous and O(1); at most one `put` is in flight, and when
 * it finishes the newest position is written next. A fast stream therefore costs one store write per
 * store round-trip, not one per event. A failed put keeps the pending position, so the next commit or
 * `flush` tries again: the store never moves backwards and nothing committed is silently dropped.
 */
export class Committer {
  readonly #store: CheckpointStore
  readonly #key: string
  readonly #now: () => number
  readonly #onError: (error: StoreError) => void
  #pending: Position | undefined
  #written: Checkpoint | undefined
  #inflight: Promise<void> | undefined

  constructor(store: CheckpointStore, key: string, now: () => number, onError: (error: StoreError) => void, resumedFrom?: Checkpoint) {
    this.#store = store
    this.#key = key
    this.#now = now
    this.#onError = onError
    this.#written = resumedFrom
  }

  /** The newest checkpoint handed to the store (possibly still in flight). */
  get checkpoint(): Checkpoint | undefined {
    return this.#pending ? toCheckpoint(this.#pending, this.#now()) : this.#written
  }

  commit(position: Position): void {
    const newest = this.#pending ?? this.#written
    if (newest !== undefined && position.sequence <= newest.sequence) return
    this.#pending = position
    this.#inflight ??= this.#pump()
  }

  /** Resolves when everything committed so far is durable; rejects with the StoreError otherwise. */
  async flush(): Promise<void> {
    if (this.#inflight) await this.#inflight
    if (this.#pending) await this.#write(this.#pending)
    if (this.#store.flush) {
      try {
        await this.#store.flush()
      } catch (error) {
        throw toStoreError(error, 'flush')
      }
    }
  }

  async #pump(): Promise<void> {
    try {
      while (this.#pending) {
        try {
          await this.#write(this.#pending)
        } catch (error) {
          this.#onError(error as StoreError)
          return
        }
      }
    } finally {
      this.#inflight = undefined
    }
  }

  async #write(position: Position): Promise<void> {
    const checkpoint = toCheckpoint(position, this.#now())
    try {
      await this.#store.put(this.#key, checkpoint)
    } catch (error) {
      throw toStoreError(error, 'put')
    }
    this.#written = checkpoint
    if (this.#pending === position) this.#pending = undefined
  }
}

function toCheckpoint(position: Position, now: number): Checkpoint {
  return position.meta
    ? { sequence: position.sequence, cursor: position.cursor, meta: position.meta, committedAt: now }
    : { sequence: position.sequence, cursor: position.cursor, committedAt: now }
}
