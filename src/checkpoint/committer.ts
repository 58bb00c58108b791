import { type Checkpoint, type CheckpointStore, type Position, positionOf, toStoreError } from './contract.js'
import type { StoreError } from '../errors.js'
import type { Runtime } from '../types.js'

export type Clock = Pick<Runtime, 'now' | 'setTimeout' | 'clearTimeout'>

const noop = (): void => {}

/**
 * Write-behind for one key, shared by the subscription's committer and `KVNamespaceStore` (one per
 * key): `offer` only remembers the newest value; one spaced write is in flight at a time, it starts
 * at least `interval` ms after the previous one ended, and it writes the newest value at that moment.
 * So a fast stream costs a few writes per second, not one per event (an IndexedDB write costs a page
 * ~0.3 ms; back to back they ate a third of the throughput), and KV's one-write-per-second-per-key
 * limit holds. A failed write keeps its value pending: the next `offer` or `flush` tries again, so
 * nothing offered is dropped. Timers come from the injected clock.
 */
export class WriteBehind<T> {
  /** The newest value offered and not yet written. */
  pending: T | undefined
  /** The value the newest write in flight carries, and that write (settled: it never rejects). */
  #writing: T | undefined
  #inflight: Promise<void> | undefined
  #timer: unknown
  /** Earliest time (ms) the next spaced write may start. */
  #next = 0

  constructor(
    readonly clock: Clock,
    readonly interval: number,
    readonly write: (value: T) => Promise<void>,
    /** A write started in the background failed (there is no caller to reject). */
    readonly onError: (error: unknown) => void = noop,
  ) {}

  /**
   * From when this write-behind holds nothing a new one would not (its spacing is up): Infinity while
   * a value is pending or a write is in flight (a timer without a pending value writes nothing).
   * `KVNamespaceStore` forgets it then.
   */
  get idleFrom(): number {
    return this.pending !== undefined || this.#inflight ? Infinity : this.#next
  }

  /** Remembers `value` as the newest; returns the write when it starts at once (the interval was up). */
  offer(value: T): Promise<void> | undefined {
    this.pending = value
    return this.#inflight || this.#timer !== undefined ? undefined : this.#schedule()
  }

  /**
   * Forgets the pending value (a delete is under way) and counts now as a write for the spacing (KV
   * counts a delete against the key's rate limit). A write in flight is not recalled: the `write`
   * function must re-check (`KVNamespaceStore` re-reads under its key's lock).
   */
  drop(): void {
    this.#cancel()
    this.pending = undefined
    this.#next = this.clock.now() + this.interval
  }

  /**
   * Writes the pending value and resolves when it is written. With `spaced` it waits out the
   * interval; without, it starts at once, even beside a spaced write still in flight, and `write` is
   * called before `flush` returns (so a host that keeps a request alive for a store's own `flush()`
   * sees it). Rejects with the failure; the value stays pending.
   */
  async flush(spaced: boolean): Promise<void> {
    // A loop: a timer may fire a millisecond early, and offers may arrive meanwhile.
    for (;;) {
      this.#cancel()
      if (this.#inflight && (spaced || this.pending === undefined || this.pending === this.#writing)) {
        await this.#inflight
        continue
      }
      if (this.pending === undefined) return
      const wait = spaced ? this.#next - this.clock.now() : 0
      if (wait <= 0) await this.#start()
      // Not `#timer`: a concurrent flush cancels that one, and this sleep would never end.
      else await new Promise<void>((resolve) => this.clock.setTimeout(() => resolve(), wait))
    }
  }

  #schedule(): Promise<void> | undefined {
    const wait = this.#next - this.clock.now()
    if (wait <= 0) return this.#start()
    this.#timer = this.clock.setTimeout(() => {
      this.#timer = undefined
      if (this.pending !== undefined && !this.#inflight) this.#start().catch(this.onError)
    }, wait)
    return undefined
  }

  #cancel(): void {
    if (this.#timer !== undefined) this.clock.clearTimeout(this.#timer)
    this.#timer = undefined
  }

  /** Calls `write` synchronously (before the first await), then spaces the next write after it. */
  async #start(): Promise<void> {
    const value = this.pending as T
    const write = this.write(value)
    const settled = write.then(noop, noop)
    this.#writing = value
    this.#inflight = settled
    try {
      await write
      if (this.pending === value) this.pending = undefined
    } finally {
      // Even a failed write may have landed (and counts against KV's rate limit): keep the spacing.
      this.#next = this.clock.now() + this.interval
      if (this.#inflight === settled) this.#inflight = this.#writing = undefined
    }
    if (this.pending !== undefined && !this.#inflight && this.#timer === undefined) this.#schedule()?.catch(this.onError)
  }
}

/**
 * The subscription's write-behind for its one key. `commit` is synchronous and O(1). The price of
 * spacing is bounded: a crash loses at most `interval` ms of commits, which at-least-once turns into
 * redelivery, never loss. `flush` skips the wait and hands the newest position to the store at once
 * (before its first await): `close()` relies on it so that a Worker's `ctx.waitUntil(store.flush())`
 * covers the last checkpoint. A failed put keeps the position pending for the next commit or flush:
 * the store never moves backwards and nothing committed is dropped.
 */
export class Committer {
  readonly #store: CheckpointStore
  readonly #writes: WriteBehind<Position>
  #written: Checkpoint | undefined
  /** A new history began (an expired cursor, restarted): its first commit is taken whatever its sequence. */
  #reset = false
  /**
   * The first commit of a new history, until a write replaced the stored checkpoint with it or a later
   * one: delete, then put (its sequence may be lower than the stored one).
   */
  #replace: Position | undefined
  /** The newest write started (settled), so a delete-then-put never races an older put still landing. */
  #lastWrite: Promise<void> = Promise.resolve()

  constructor(store: CheckpointStore, key: string, runtime: Clock, interval: number, onError: (error: StoreError) => void, resumedFrom?: Checkpoint) {
    this.#store = store
    this.#written = resumedFrom
    this.#writes = new WriteBehind(
      runtime,
      interval,
      (position) => {
        const write = this.#put(key, position, this.#replace, this.#lastWrite)
        this.#lastWrite = write.then(noop, noop)
        return write
      },
      onError as (error: unknown) => void,
    )
  }

  /** The newest checkpoint handed to the committer (its write may still be pending). */
  get checkpoint(): Checkpoint | undefined {
    const pending = this.#writes.pending
    return pending ? this.#stamp(pending) : this.#written
  }

  commit(position: Position): void {
    const newest = this.#writes.pending ?? this.#written
    if (this.#reset) {
      // The first position the consumer finished in the new history: from here on, the store moves.
      // Only now is the old checkpoint deleted (by this write), so a crash before loses nothing.
      this.#reset = false
      this.#replace = position
      this.#written = undefined
    } else if (newest !== undefined && position.sequence <= newest.sequence) return
    this.#writes.offer(position)?.catch(this.#writes.onError)
  }

  /**
   * The stream's history was replaced (an expired cursor, restarted): the next commit starts the new
   * history, however low its sequence, and is written as delete-then-put (the store contract's reset).
   */
  reset(): void {
    this.#reset = true
  }

  /** Resolves when everything committed so far is durable; rejects with the StoreError otherwise. */
  async flush(): Promise<void> {
    await this.#writes.flush(false)
    if (this.#store.flush) {
      try {
        await this.#store.flush()
      } catch (error) {
        throw toStoreError(error, 'flush')
      }
    }
  }

  async #put(key: string, position: Position, replace: Position | undefined, previous: Promise<void>): Promise<void> {
    const checkpoint = this.#stamp(position)
    try {
      if (replace) {
        // An older history's put still landing after our delete would win (higher sequence): wait.
        await previous
        await this.#store.delete(key)
      }
      await this.#store.put(key, checkpoint)
    } catch (error) {
      throw toStoreError(error, replace ? 'delete' : 'put')
    }
    if (replace && this.#replace === replace) this.#replace = undefined
    if (replace || this.#written === undefined || checkpoint.sequence > this.#written.sequence) this.#written = checkpoint
  }

  /** A position as the checkpoint it becomes, committed now. */
  #stamp(position: Position): Checkpoint {
    return { ...positionOf(position), committedAt: this.#writes.clock.now() }
  }
}
