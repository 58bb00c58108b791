import { type Checkpoint, type CheckpointStore, toStoreError } from './contract.js'
import type { StoreError } from '../errors.js'
import type { Runtime } from '../types.js'

/** What the committer is handed per event: anything with a position (a delivered event will do). */
export interface Position {
  readonly sequence: number
  readonly cursor: string
  readonly meta?: Readonly<Record<string, string>> | undefined
}

/**
 * Write-behind for one key. `commit` is synchronous and O(1): it only remembers the newest position.
 * At most one `put` is in flight, puts start at least `interval` ms apart, and each writes the newest
 * position at that moment — so a fast stream costs a handful of store writes per second, not one per
 * event (an IndexedDB write costs the page ~0.3 ms; back to back they ate a third of the throughput).
 * The price is bounded: a crash loses at most `interval` ms of commits, which at-least-once turns into
 * redelivery, never loss. `flush` skips the wait. A failed put keeps the pending position, so the next
 * commit or `flush` tries again: the store never moves backwards and nothing committed is dropped.
 */
export class Committer {
  readonly #store: CheckpointStore
  readonly #key: string
  readonly #runtime: Pick<Runtime, 'now' | 'setTimeout' | 'clearTimeout'>
  readonly #interval: number
  readonly #onError: (error: StoreError) => void
  #pending: Position | undefined
  #written: Checkpoint | undefined
  #inflight: Promise<void> | undefined
  #timer: unknown
  #lastWriteAt = Number.NEGATIVE_INFINITY
  /** A new history began (reset): its first commit is taken whatever its sequence. */
  #reset = false
  /**
   * The first commit of a new history, until a write replaced the stored checkpoint with it or a later
   * one: delete, then put (its sequence may be lower than the stored one).
   */
  #replace: Position | undefined

  constructor(
    store: CheckpointStore,
    key: string,
    runtime: Pick<Runtime, 'now' | 'setTimeout' | 'clearTimeout'>,
    interval: number,
    onError: (error: StoreError) => void,
    resumedFrom?: Checkpoint,
  ) {
    this.#store = store
    this.#key = key
    this.#runtime = runtime
    this.#interval = interval
    this.#onError = onError
    this.#written = resumedFrom
  }

  /** The newest checkpoint handed to the committer (its write may still be pending). */
  get checkpoint(): Checkpoint | undefined {
    return this.#pending ? toCheckpoint(this.#pending, this.#runtime.now()) : this.#written
  }

  commit(position: Position): void {
    const newest = this.#pending ?? this.#written
    if (this.#reset) {
      // The first position the consumer finished in the new history: from here on, the store moves.
      // Only now is the old checkpoint deleted (by this write), so a crash before loses nothing.
      this.#reset = false
      this.#replace = position
      this.#written = undefined
    } else if (newest !== undefined && position.sequence <= newest.sequence) return
    this.#pending = position
    if (this.#inflight === undefined && this.#timer === undefined) this.#schedule()
  }

  /**
   * The stream's history was replaced (an expired cursor, restarted): the next commit starts the new
   * history, however low its sequence, and is written as delete-then-put (the store contract's reset).
   * Until then, the old history's commits are written as usual.
   */
  reset(): void {
    this.#reset = true
  }

  /** Resolves when everything committed so far is durable; rejects with the StoreError otherwise. */
  async flush(): Promise<void> {
    // Every write goes through #inflight, so concurrent flushes (close() racing the end of the stream)
    // share one write instead of each writing the same checkpoint.
    for (;;) {
      this.#cancelTimer()
      if (this.#inflight) {
        await this.#inflight
        continue
      }
      const pending = this.#pending
      if (pending === undefined) break
      const write = this.#write(pending)
      const settled = write.then(
        () => undefined,
        () => undefined,
      )
      this.#inflight = settled
      void settled.then(() => {
        if (this.#inflight === settled) this.#inflight = undefined
      })
      await write // a failure rejects this flush; the position stays pending for the next try
    }
    if (this.#store.flush) {
      try {
        await this.#store.flush()
      } catch (error) {
        throw toStoreError(error, 'flush')
      }
    }
  }

  /** Writes now if the last write started long enough ago, else when it has. */
  #schedule(): void {
    const wait = this.#lastWriteAt + this.#interval - this.#runtime.now()
    if (wait <= 0) {
      this.#inflight = this.#pumpOnce()
      return
    }
    this.#timer = this.#runtime.setTimeout(() => {
      this.#timer = undefined
      if (this.#pending && this.#inflight === undefined) this.#inflight = this.#pumpOnce()
    }, wait)
  }

  async #pumpOnce(): Promise<void> {
    try {
      if (this.#pending) await this.#write(this.#pending)
    } catch (error) {
      this.#onError(error as StoreError)
      return
    } finally {
      this.#inflight = undefined
    }
    if (this.#pending) this.#schedule()
  }

  #cancelTimer(): void {
    if (this.#timer !== undefined) this.#runtime.clearTimeout(this.#timer)
    this.#timer = undefined
  }

  async #write(position: Position): Promise<void> {
    this.#lastWriteAt = this.#runtime.now()
    const checkpoint = toCheckpoint(position, this.#lastWriteAt)
    const replace = this.#replace
    try {
      if (replace) await this.#store.delete(this.#key)
      await this.#store.put(this.#key, checkpoint)
    } catch (error) {
      throw toStoreError(error, replace ? 'delete' : 'put')
    }
    if (replace && this.#replace === replace) this.#replace = undefined
    if (replace || this.#written === undefined || checkpoint.sequence > this.#written.sequence) this.#written = checkpoint
    if (this.#pending === position) this.#pending = undefined
  }
}

function toCheckpoint(position: Position, now: number): Checkpoint {
  return position.meta
    ? { sequence: position.sequence, cursor: position.cursor, meta: position.meta, committedAt: now }
    : { sequence: position.sequence, cursor: position.cursor, committedAt: now }
}
