import { type Checkpoint, type CheckpointStore, toStoreError } from './contract.js'
import type { StoreError } from '../errors.js'
import type { Runtime } from '../types.js'

/** What the committer is handed per event: anything with a position (a delivered event will do). */
export interface Position {
  readonly sequence: number
  readonly cursor: string
  readonly meta?: Readonly<Record<string, string>> | undefined
}

export type Clock = Pick<Runtime, 'now' | 'setTimeout' | 'clearTimeout'>

/** One key's write-behind state. */
interface Slot<T> {
  /** The newest value not yet written. */
  pending?: T | undefined
  /** The value the newest write in flight carries, and that write (settled: it never rejects). */
  writing?: T | undefined
  inflight?: Promise<void> | undefined
  timer?: unknown
  /** Earliest time (ms) the next spaced write of this key may start. */
  next: number
}

const noop = (): void => {}

/**
 * Write-behind per key, shared by the subscription's committer and `KVNamespaceStore`: `offer` only
 * remembers the newest value; one spaced write per key is in flight at a time, it starts at least
 * `interval` ms after the previous one ended, and it writes the newest value at that moment. So a
 * fast stream costs a few writes per second, not one per event (an IndexedDB write costs a page
 * ~0.3 ms; back to back they ate a third of the throughput), and KV's one-write-per-second-per-key
 * limit holds. A failed write keeps its value pending: the next `offer` or `flush` tries again, so
 * nothing offered is dropped. Timers come from the injected clock.
 */
export class WriteBehind<T> {
  readonly #slots = new Map<string, Slot<T>>()

  constructor(
    readonly clock: Clock,
    readonly interval: number,
    readonly write: (key: string, value: T) => Promise<void>,
    /** A write started by a timer failed (there is no caller to reject). */
    readonly onError: (error: unknown) => void = noop,
  ) {}

  /** The newest value offered for `key` and not yet written. */
  pending(key: string): T | undefined {
    return this.#slots.get(key)?.pending
  }

  keys(): string[] {
    return [...this.#slots.keys()]
  }

  /** Remembers `value` as `key`'s newest; returns the write when it starts at once (the interval was up). */
  offer(key: string, value: T): Promise<void> | undefined {
    let slot = this.#slots.get(key)
    if (!slot) this.#slots.set(key, (slot = { next: 0 }))
    slot.pending = value
    return slot.inflight || slot.timer !== undefined ? undefined : this.#schedule(key, slot)
  }

  /**
   * Forgets `key`'s pending value (a delete is under way) and counts now as a write for the spacing
   * (KV counts a delete against the key's rate limit). A write already in flight is not recalled: the
   * `write` function must re-check (`KVNamespaceStore` re-reads under its key's lock).
   */
  drop(key: string): void {
    const slot = this.#slots.get(key)
    if (!slot) return
    this.#cancel(slot)
    slot.pending = undefined
    slot.next = this.clock.now() + this.interval
  }

  /**
   * Writes the pending value of every key (or of `only`) and resolves when each is written. With
   * `spaced`, each waits out its key's interval; without, it starts at once, even beside a spaced
   * write still in flight, and the write function is called before `flush` returns (so a host that
   * keeps the request alive for a store's own `flush()` sees it). Rejects with the first failure.
   */
  async flush(spaced: boolean, only?: string): Promise<void> {
    let failure: { error: unknown } | undefined
    await Promise.all(
      (only === undefined ? this.keys() : [only]).map(async (key) => {
        const slot = this.#slots.get(key)
        // A loop: a timer may fire a millisecond early, and offers may arrive meanwhile.
        while (slot) {
          this.#cancel(slot)
          if (slot.inflight && (spaced || slot.pending === undefined || slot.pending === slot.writing)) {
            await slot.inflight
            continue
          }
          if (slot.pending === undefined) return
          const wait = spaced ? slot.next - this.clock.now() : 0
          if (wait > 0) {
            // Not `slot.timer`: a concurrent flush cancels that one, and this sleep would never end.
            await new Promise<void>((resolve) => this.clock.setTimeout(() => resolve(), wait))
            continue
          }
          try {
            await this.#start(key, slot)
          } catch (error) {
            failure ??= { error }
            return
          }
        }
      }),
    )
    if (failure) throw failure.error
  }

  #schedule(key: string, slot: Slot<T>): Promise<void> | undefined {
    const wait = slot.next - this.clock.now()
    if (wait <= 0) return this.#start(key, slot)
    slot.timer = this.clock.setTimeout(() => {
      slot.timer = undefined
      if (slot.pending !== undefined && !slot.inflight) this.#start(key, slot).catch(this.onError)
    }, wait)
    return undefined
  }

  #cancel(slot: Slot<T>): void {
    if (slot.timer !== undefined) this.clock.clearTimeout(slot.timer)
    slot.timer = undefined
  }

  /** Calls `write` synchronously (before the first await), then spaces the next write after it. */
  async #start(key: string, slot: Slot<T>): Promise<void> {
    const value = slot.pending as T
    const write = this.write(key, value)
    const settled = write.then(noop, noop)
    slot.writing = value
    slot.inflight = settled
    try {
      await write
      if (slot.pending === value) slot.pending = undefined
    } finally {
      // Even a failed write may have landed (and counts against KV's rate limit): keep the spacing.
      slot.next = this.clock.now() + this.interval
      if (slot.inflight === settled) slot.inflight = slot.writing = undefined
    }
    if (slot.pending !== undefined && !slot.inflight && slot.timer === undefined) this.#schedule(key, slot)?.catch(this.onError)
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
  readonly #key: string
  readonly #now: () => number
  readonly #writes: WriteBehind<Position>
  #written: Checkpoint | undefined

  constructor(store: CheckpointStore, key: string, runtime: Clock, interval: number, onError: (error: StoreError) => void, resumedFrom?: Checkpoint) {
    this.#store = store
    this.#key = key
    this.#now = runtime.now
    this.#written = resumedFrom
    this.#writes = new WriteBehind(runtime, interval, (_, position) => this.#write(position), onError as (error: unknown) => void)
  }

  /** The newest checkpoint handed to the committer (its write may still be pending). */
  get checkpoint(): Checkpoint | undefined {
    const pending = this.#writes.pending(this.#key)
    return pending ? toCheckpoint(pending, this.#now()) : this.#written
  }

  commit(position: Position): void {
    const newest = this.#writes.pending(this.#key) ?? this.#written
    if (newest !== undefined && position.sequence <= newest.sequence) return
    this.#writes.offer(this.#key, position)?.catch(this.#writes.onError)
  }

  /** Resolves when everything committed so far is durable; rejects with the StoreError otherwise. */
  async flush(): Promise<void> {
    await this.#writes.flush(false, this.#key)
    if (this.#store.flush) {
      try {
        await this.#store.flush()
      } catch (error) {
        throw toStoreError(error, 'flush')
      }
    }
  }

  async #write(position: Position): Promise<void> {
    const checkpoint = toCheckpoint(position, this.#now())
    try {
      await this.#store.put(this.#key, checkpoint)
    } catch (error) {
      throw toStoreError(error, 'put')
    }
    if (this.#written === undefined || checkpoint.sequence > this.#written.sequence) this.#written = checkpoint
  }
}

function toCheckpoint(position: Position, now: number): Checkpoint {
  return position.meta
    ? { sequence: position.sequence, cursor: position.cursor, meta: position.meta, committedAt: now }
    : { sequence: position.sequence, cursor: position.cursor, committedAt: now }
}
