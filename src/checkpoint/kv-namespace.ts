import {
  assertValidCheckpoint,
  type Checkpoint,
  type CheckpointStore,
  decodeCheckpoint,
  encodeCheckpoint,
  supersedes,
  toStoreError,
} from './contract.js'
import { KeyedMutex } from './keyed-mutex.js'
import { ConfigError } from '../errors.js'

/**
 * The part of a Workers KV binding (`env.MY_KV`) this store uses. Declared here so that users need no
 * `@cloudflare/workers-types` and tests can pass any compatible object.
 */
export interface KVNamespaceLike {
  get(key: string, type: 'text'): Promise<string | null>
  put(key: string, value: string): Promise<unknown>
  delete(key: string): Promise<unknown>
}

export interface KVNamespaceStoreOptions {
  /**
   * The least time between two writes of one key, in ms. Workers KV accepts one write per second per
   * key; extra puts in between are coalesced (the newest wins) and written when the interval is up.
   * @default 1000
   */
  minWriteInterval?: number
}

/** What this isolate knows about one key beyond what KV returns. */
interface KeyState {
  /** Accepted by `put` but not yet written (coalesced); always the highest accepted so far. */
  pending: Checkpoint | undefined
  /** Earliest time (ms) the next write of this key may start. */
  nextWriteAt: number
  timer: ReturnType<typeof setTimeout> | undefined
  /** The failure of the last deferred write, reported by `flush()` (and retried by it). */
  failure: unknown
}

/** Handles over one binding object share this, so the isolate writes each key through one queue. */
interface NamespaceState {
  keys: Map<string, KeyState>
  mutex: KeyedMutex
}

// Pure: a bundle that never constructs the store drops it (the package is `sideEffects: false`).
const namespaces = /* @__PURE__ */ new WeakMap<object, NamespaceState>()

/**
 * Checkpoints in Cloudflare Workers KV.
 *
 * KV is eventually consistent (a write can take a minute or more to reach other locations) and takes
 * at most one write per second per key, so this store:
 * - writes a key at once when it has not been written for `minWriteInterval`, and otherwise keeps the
 *   newest checkpoint pending and writes it when the interval is up (a burst of puts costs two writes);
 * - checks monotonicity by read-compare-write against what THIS isolate can see: the value KV returns
 *   here plus its own pending value. Every store over the same binding object in one isolate shares
 *   one queue per key, so inside an isolate the check is exact. Across isolates and locations it is
 *   best-effort: a stale read may let a lower checkpoint overwrite a higher one written elsewhere.
 *   That can only make a resumed subscription start earlier and redeliver events, never skip one.
 *   For a strict guarantee on Cloudflare use `DurableObjectStore`.
 *
 * A pending write lives in the isolate: keep the invocation alive until it is durable with
 * `ctx.waitUntil(store.flush())`. A `put` that resolved with its write deferred has not reached KV yet;
 * if that write later fails, `flush()` rejects with the error (and the next `flush()` retries it).
 */
export class KVNamespaceStore implements CheckpointStore {
  readonly #kv: KVNamespaceLike
  readonly #interval: number
  readonly #state: NamespaceState

  constructor(namespace: KVNamespaceLike, options: KVNamespaceStoreOptions = {}) {
    const interval = options.minWriteInterval ?? 1000
    if (!Number.isFinite(interval) || interval < 0) {
      throw new ConfigError(`Expected \`minWriteInterval\` to be a non-negative number of milliseconds, got ${String(interval)}`)
    }
    this.#kv = namespace
    this.#interval = interval
    let state = namespaces.get(namespace)
    if (!state) namespaces.set(namespace, (state = { keys: new Map(), mutex: new KeyedMutex() }))
    this.#state = state
  }

  async get(key: string): Promise<Checkpoint | undefined> {
    const stored = await this.#read(key, 'get')
    const pending = this.#state.keys.get(key)?.pending
    const newest = pending && supersedes(pending, stored) ? pending : stored
    return newest && copy(newest)
  }

  async put(key: string, checkpoint: Checkpoint): Promise<void> {
    assertValidCheckpoint(checkpoint)
    const next = copy(checkpoint)
    await this.#state.mutex.run(key, async () => {
      const state = this.#key(key)
      if (state.pending) {
        // KV already said this key is readable and below `pending` when `pending` was accepted.
        if (supersedes(next, state.pending)) state.pending = next
        this.#schedule(key, state)
        return
      }
      // Rule 4: garbage under our key rejects the put (the read throws) and stays where it is.
      if (!supersedes(next, await this.#read(key, 'put'))) return
      if (Date.now() >= state.nextWriteAt) {
        await this.#write(key, state, next)
      } else {
        state.pending = next
        this.#schedule(key, state)
      }
    })
  }

  async delete(key: string): Promise<void> {
    await this.#state.mutex.run(key, async () => {
      const state = this.#key(key)
      clearTimeout(state.timer)
      state.timer = undefined
      state.pending = undefined
      state.failure = undefined
      try {
        await this.#kv.delete(key)
      } catch (error) {
        throw toStoreError(error, 'delete')
      } finally {
        // A delete is a write as far as KV's per-key rate limit is concerned.
        state.nextWriteAt = Date.now() + this.#interval
      }
    })
  }

  /**
   * Writes every pending checkpoint of this binding (waiting out each key's `minWriteInterval`) and
   * resolves when they are in KV. Pass it to `ctx.waitUntil(store.flush())`. Rejects with the first
   * failure; what failed stays pending for the next `flush()`.
   */
  async flush(): Promise<void> {
    const failures: unknown[] = []
    await Promise.all(
      [...this.#state.keys].map(async ([key, state]) => {
        // A loop, not one pass: a timer may fire a millisecond early, and puts may arrive meanwhile.
        while (state.pending) {
          const wait = state.nextWriteAt - Date.now()
          if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait))
          await this.#writePending(key)
          if (state.failure !== undefined) {
            failures.push(state.failure)
            return
          }
        }
      }),
    )
    if (failures.length > 0) throw failures[0]
  }

  #key(key: string): KeyState {
    let state = this.#state.keys.get(key)
    if (!state) this.#state.keys.set(key, (state = { pending: undefined, nextWriteAt: 0, timer: undefined, failure: undefined }))
    return state
  }

  #schedule(key: string, state: KeyState): void {
    if (state.timer !== undefined) return
    state.timer = setTimeout(
      () => {
        state.timer = undefined
        // The failure is kept on the key for flush(); there is no caller left to reject.
        void this.#writePending(key)
      },
      Math.max(0, state.nextWriteAt - Date.now()),
    )
  }

  /** Writes the key's pending checkpoint, re-checking KV first (another isolate may have moved on). */
  async #writePending(key: string): Promise<void> {
    await this.#state.mutex.run(key, async () => {
      const state = this.#key(key)
      const pending = state.pending
      if (!pending) return
      if (Date.now() < state.nextWriteAt) return this.#schedule(key, state)
      try {
        if (supersedes(pending, await this.#read(key, 'put'))) await this.#write(key, state, pending)
        if (state.pending === pending) state.pending = undefined
        state.failure = undefined
      } catch (error) {
        state.failure = error
      }
    })
  }

  async #write(key: string, state: KeyState, checkpoint: Checkpoint): Promise<void> {
    try {
      await this.#kv.put(key, encodeCheckpoint(checkpoint))
    } catch (error) {
      throw toStoreError(error, 'put')
    } finally {
      // Even a failed write may have reached KV; keep to the rate limit either way.
      state.nextWriteAt = Date.now() + this.#interval
    }
  }

  async #read(key: string, action: string): Promise<Checkpoint | undefined> {
    let text: string | null
    try {
      text = await this.#kv.get(key, 'text')
    } catch (error) {
      throw toStoreError(error, action)
    }
    return text === null ? undefined : decodeCheckpoint(text, `KV[${JSON.stringify(key)}]`)
  }
}

function copy(checkpoint: Checkpoint): Checkpoint {
  const result: { -readonly [K in keyof Checkpoint]: Checkpoint[K] } = { sequence: checkpoint.sequence, cursor: checkpoint.cursor }
  if (checkpoint.meta !== undefined) result.meta = { ...checkpoint.meta }
  if (checkpoint.committedAt !== undefined) result.committedAt = checkpoint.committedAt
  return result
}
