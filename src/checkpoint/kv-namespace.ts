import {
  assertValidCheckpoint,
  type Checkpoint,
  type CheckpointStore,
  decodeCheckpoint,
  encodeCheckpoint,
  supersedes,
  toStoreError,
} from './contract.js'
import { type Clock, WriteBehind } from './committer.js'
import { checkBinding, prefixOption } from './binding.js'
import { KeyedMutex } from './keyed-mutex.js'
import { copy } from './memory.js'
import { ConfigError } from '../errors.js'

/**
 * The part of a Workers KV binding (`env.MY_KV`) this store uses. Declared here so that users need no
 * `@cloudflare/workers-types` and tests can pass any compatible object.
 */
export interface KVNamespaceLike {
  get(key: string, type: 'text'): Promise<string | null>
  put(key: string, value: string): Promise<unknown>
  delete(key: string): Promise<unknown>
  list(options: { prefix: string; cursor?: string }): Promise<{ keys: { name: string }[]; list_complete: boolean; cursor?: string }>
}

export interface KVNamespaceStoreOptions {
  /**
   * The least time between two writes of one key, in ms. Workers KV accepts one write per second per
   * key; extra puts in between are coalesced (the newest wins) and written when the interval is up.
   * @default 1000
   */
  minWriteInterval?: number
  /**
   * Prepended to every key, so `delete` and `clear` never touch the application's own entries.
   * @default 'resumable-sse:'
   */
  prefix?: string
  /** The clock and timers that space the writes (tests inject their own). @default the globals */
  runtime?: Clock
}

/**
 * A key's write-behind plus what this isolate last did to the key in KV, kept as long as the entry:
 * KV may read stale (from a cache up to ~60 s old) even where it was written, so the isolate's own
 * last write (`written`), or its delete (`deleted`: KV's answer predates it), overrides a stale read.
 */
type KeyWrites = WriteBehind<Checkpoint> & { written?: Checkpoint; deleted?: boolean }

/** Handles over one binding object and prefix share this, so the isolate writes each key through one queue. */
interface NamespaceState {
  /**
   * A write-behind per key this isolate has pending or wrote lately (the keys `clear()` knows without
   * listing). An isolate outlives requests and serves many users: a key is forgotten (`#sweep`) once
   * it has nothing pending and `LIST_LAG` has passed since its spacing was up.
   */
  writes: Map<string, KeyWrites>
  /** Size at which adding a key sweeps first: twice what the last sweep left, so O(1) per key amortised. */
  room: number
  mutex: KeyedMutex
  /** Operations called and not yet settled: `flush()` waits for them too. */
  calls: Set<Promise<unknown>>
}

/**
 * How long a key written here is remembered after its spacing is up: KV's `list` (like its reads
 * elsewhere) may take about a minute to show a write, and `clear()` must still delete it.
 */
const LIST_LAG = 60_000

// Pure: a bundle that never constructs the store drops it (the package is `sideEffects: false`).
const namespaces = /* @__PURE__ */ new WeakMap<object, Map<string, NamespaceState>>()

/**
 * Checkpoints in Cloudflare Workers KV.
 *
 * KV is eventually consistent (a write can take a minute or more to reach other locations) and takes
 * at most one write per second per key, so this store:
 * - writes a key at once when it has not been written for `minWriteInterval`, and otherwise keeps the
 *   newest checkpoint pending and writes it when the interval is up (a burst of puts costs two writes);
 * - checks monotonicity by read-compare-write against what THIS isolate can see: the value KV returns
 *   here (which may be stale, even for this isolate's own writes) overridden by what this isolate last
 *   wrote or deleted there, plus its own pending value. Every store over the same binding object (and prefix) in one isolate shares
 *   one queue per key, so inside an isolate the check is exact. Across isolates and locations it is
 *   best-effort: a stale read may let a lower checkpoint overwrite a higher one written elsewhere.
 *   That can only make a resumed subscription start earlier and redeliver events, never skip one.
 *   For a strict guarantee on Cloudflare use `DurableObjectStore`.
 *
 * A pending write lives in the isolate: keep the invocation alive until it is durable with
 * `ctx.waitUntil(store.flush())`, which covers every `put` called before it. A `put` that resolved
 * with its write deferred has not reached KV yet; if that write later fails, `flush()` rejects with the
 * error (and the next `flush()` retries it).
 */
export class KVNamespaceStore implements CheckpointStore {
  readonly persistent = true
  readonly #kv: KVNamespaceLike
  readonly #prefix: string
  readonly #state: NamespaceState
  /** `#state.writes` */
  readonly #keys: Map<string, KeyWrites>
  readonly #clock: Clock
  readonly #interval: number

  constructor(namespace: KVNamespaceLike, options: KVNamespaceStoreOptions = {}) {
    checkBinding(namespace, 'a Workers KV namespace binding', ['get', 'put', 'delete', 'list'])
    const interval = options.minWriteInterval ?? 1000
    if (!Number.isFinite(interval) || interval < 0) {
      throw new ConfigError(`Expected \`minWriteInterval\` to be a non-negative number of milliseconds, got ${String(interval)}`)
    }
    this.#kv = namespace
    this.#prefix = prefixOption(options.prefix)
    let byPrefix = namespaces.get(namespace)
    if (!byPrefix) namespaces.set(namespace, (byPrefix = new Map()))
    let state = byPrefix.get(this.#prefix)
    if (!state) byPrefix.set(this.#prefix, (state = { writes: new Map(), room: 0, mutex: new KeyedMutex(), calls: new Set() }))
    this.#state = state
    this.#keys = state.writes
    this.#clock = options.runtime ?? { now: Date.now, setTimeout: (fn, ms) => setTimeout(fn, ms), clearTimeout: (t) => clearTimeout(t as ReturnType<typeof setTimeout>) }
    this.#interval = interval
  }

  /**
   * The key's write-behind. Its write runs under the key's lock, re-checked against KV: another
   * isolate may have moved on, and a delete may have dropped the value since it was offered.
   */
  #writes(key: string): KeyWrites {
    const writes = this.#keys
    let behind = writes.get(key)
    if (!behind) {
      if (writes.size >= this.#state.room) this.#sweep()
      const write = (value: Checkpoint) =>
        this.#state.mutex.run(key, async () => {
          if (behind!.pending !== value || !supersedes(value, await this.#known(key, 'put'))) return
          await this.#call('put', () => this.#kv.put(this.#prefix + key, encodeCheckpoint(value)))
          behind!.written = value
        })
      writes.set(key, (behind = new WriteBehind(this.#clock, this.#interval, write) as KeyWrites))
    }
    return behind
  }

  get(key: string): Promise<Checkpoint | undefined> {
    return this.#track(async () => {
      const stored = await this.#known(key, 'get')
      const pending = this.#keys.get(key)?.pending
      const newest = pending && supersedes(pending, stored) ? pending : stored
      return newest && copy(newest)
    })
  }

  put(key: string, checkpoint: Checkpoint): Promise<void> {
    return this.#track(async () => {
      assertValidCheckpoint(checkpoint)
      const next = copy(checkpoint)
      const started = await this.#state.mutex.run(key, async () => {
        const pending = this.#keys.get(key)?.pending
        // With a value pending, KV already said this key is readable and below it.
        // Otherwise rule 4: garbage under our key rejects the put (the read throws) and stays there.
        if (pending ? !supersedes(next, pending) : !supersedes(next, await this.#known(key, 'put'))) return
        // Taken only now (after the read) and offered at once: a sweep meanwhile may have forgotten it.
        return { write: this.#writes(key).offer(next) }
      })
      // Outside the lock: the write takes it. A write started at once rejects this put when it fails.
      try {
        await started?.write
      } catch (error) {
        // Still ours: a key with a value pending is never forgotten.
        const writes = this.#keys.get(key)
        if (writes?.pending === next) writes.drop()
        throw error
      }
    })
  }

  delete(key: string): Promise<void> {
    return this.#track(() =>
      this.#state.mutex.run(key, async () => {
        // A delete is a write as far as KV's per-key rate limit is concerned.
        const behind = this.#writes(key)
        behind.drop()
        await this.#call('delete', () => this.#kv.delete(this.#prefix + key))
        behind.deleted = true
        behind.written = undefined
      }),
    )
  }

  /**
   * Deletes every key under this store's prefix that KV lists here (all pages), and every key this
   * isolate wrote or has pending. KV's `list` is eventually consistent like its reads: a checkpoint
   * written in the last minute or so from another location may not be listed yet, and survives.
   */
  clear(): Promise<void> {
    return this.#track(async () => {
      const keys = new Set(this.#sweep().keys())
      let cursor: string | undefined
      do {
        const page = await this.#call('clear', () => this.#kv.list({ prefix: this.#prefix, ...(cursor && { cursor }) }))
        for (const { name } of page.keys) keys.add(name.slice(this.#prefix.length))
        cursor = page.list_complete ? undefined : page.cursor
      } while (cursor)
      await Promise.all([...keys].map((key) => this.delete(key)))
    })
  }

  /**
   * Resolves when every `put` called so far is in KV (waiting out each key's `minWriteInterval`).
   * Pass it to `ctx.waitUntil(store.flush())`. Rejects with the first failure; what failed stays
   * pending for the next `flush()`.
   */
  async flush(): Promise<void> {
    await Promise.allSettled([...this.#state.calls])
    const flushes = [...this.#sweep().values()].map((behind) => behind.flush(true))
    // Every key is tried; then the first failure (in key order) rejects.
    await Promise.allSettled(flushes)
    await Promise.all(flushes)
  }

  /** Forgets the keys with nothing left to do here (see `NamespaceState.writes`); returns the rest. */
  #sweep(): Map<string, KeyWrites> {
    const writes = this.#keys
    for (const [key, behind] of writes) if (behind.idleFrom + LIST_LAG <= behind.clock.now()) writes.delete(key)
    this.#state.room = 2 * writes.size + 64
    return writes
  }

  /** Registers the operation at once (synchronously), so a `flush()` called right after sees it. */
  #track<T>(operation: () => Promise<T>): Promise<T> {
    const promise = operation()
    const calls = this.#state.calls
    calls.add(promise)
    const done = (): void => void calls.delete(promise)
    promise.then(done, done)
    return promise
  }

  /** A call to KV; its failure rejects as a `StoreError` of `action`. */
  async #call<T>(action: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call()
    } catch (error) {
      throw toStoreError(error, action)
    }
  }

  /**
   * The newer of KV's answer and this isolate's last write of the key (KV's answer is ignored after a
   * delete here: it may be the deleted value, read stale). Reads KV even then: garbage under the key
   * still rejects (rule 4).
   */
  async #known(key: string, action: string): Promise<Checkpoint | undefined> {
    const stored = await this.#read(key, action)
    const mine = this.#keys.get(key)
    const written = mine?.written
    return mine?.deleted || (written && supersedes(written, stored)) ? written : stored
  }

  async #read(key: string, action: string): Promise<Checkpoint | undefined> {
    const text = await this.#call(action, () => this.#kv.get(this.#prefix + key, 'text'))
    return text === null ? undefined : decodeCheckpoint(text, `KV[${JSON.stringify(this.#prefix + key)}]`)
  }
}
