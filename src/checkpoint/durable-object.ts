import {
  assertValidCheckpoint,
  type Checkpoint,
  type CheckpointStore,
  fromStored,
  supersedes,
  toStoreError,
  toStored,
} from './contract.js'
import { checkBinding, prefixOption } from './binding.js'
import { KeyedMutex } from './keyed-mutex.js'

/** The key-value part of a Durable Object transaction (`txn` in `storage.transaction(txn => ...)`). */
export interface DurableObjectTransactionLike {
  get(key: string): Promise<unknown>
  put(key: string, value: unknown): Promise<unknown>
  delete(key: string): Promise<unknown>
}

/**
 * The part of a Durable Object's `ctx.storage` (`state.storage`) this store uses. Declared here so that
 * users need no `@cloudflare/workers-types`. Both the KV-backed and the SQLite-backed storage fit.
 */
export interface DurableObjectStorageLike extends DurableObjectTransactionLike {
  list(options: { prefix: string }): Promise<Map<string, unknown>>
  transaction?<T>(closure: (txn: DurableObjectTransactionLike) => Promise<T>): Promise<T>
}

const mutexes = /* @__PURE__ */ new WeakMap<object, KeyedMutex>()

export interface DurableObjectStoreOptions {
  /**
   * Prepended to every key, so `delete` and `clear` never touch the object's own entries.
   * @default 'resumable-sse:'
   */
  prefix?: string
}

/**
 * Checkpoints in a Durable Object's transactional storage: the strict guarantee on Cloudflare.
 *
 * A Durable Object exists once in the world and its storage is strongly consistent, so the monotonic
 * check is exact: `put` reads, compares and writes inside `storage.transaction()` (when the storage has
 * it), and every store over the same storage object queues its operations per key, because requests to
 * one object still interleave at each `await` (the input gate only holds back new events while a
 * storage call is in flight, not the other half of a read-then-write).
 *
 * Use it from inside the object: `new DurableObjectStore(this.ctx.storage)`. Values are stored as
 * versioned plain objects (structured clone), readable by any later version of this library.
 */
export class DurableObjectStore implements CheckpointStore {
  readonly persistent = true
  readonly #storage: DurableObjectStorageLike
  readonly #prefix: string
  readonly #mutex: KeyedMutex

  constructor(storage: DurableObjectStorageLike, options: DurableObjectStoreOptions = {}) {
    checkBinding(storage, "a Durable Object's storage (`this.ctx.storage`)", ['get', 'put', 'delete', 'list'])
    this.#storage = storage
    this.#prefix = prefixOption(options.prefix)
    const mutex = mutexes.get(storage) ?? new KeyedMutex()
    mutexes.set(storage, (this.#mutex = mutex))
  }

  async get(key: string): Promise<Checkpoint | undefined> {
    key = this.#prefix + key
    let raw: unknown
    try {
      raw = await this.#storage.get(key)
    } catch (error) {
      throw toStoreError(error, 'get')
    }
    return raw === undefined ? undefined : fromStored(raw, where(key))
  }

  async put(key: string, checkpoint: Checkpoint): Promise<void> {
    assertValidCheckpoint(checkpoint)
    const next = toStored(checkpoint)
    key = this.#prefix + key
    await this.#mutex.run(key, () =>
      this.#transaction('put', async (txn) => {
        const raw = await txn.get(key)
        // Rule 4: garbage under our key rejects the put (fromStored throws) and stays where it is.
        const current = raw === undefined ? undefined : fromStored(raw, where(key))
        if (supersedes(checkpoint, current)) await txn.put(key, next)
      }),
    )
  }

  async delete(key: string): Promise<void> {
    await this.#remove(this.#prefix + key)
  }

  /**
   * Deletes every key under this store's prefix: storage is strongly consistent, so all of them. One
   * `list` (keys and values in memory at once): fine for the checkpoints of one object.
   */
  async clear(): Promise<void> {
    let keys: string[]
    try {
      keys = [...(await this.#storage.list({ prefix: this.#prefix })).keys()]
    } catch (error) {
      throw toStoreError(error, 'clear')
    }
    await Promise.all(keys.map((key) => this.#remove(key)))
  }

  async #remove(key: string): Promise<void> {
    await this.#mutex.run(key, () => this.#transaction('delete', (txn) => txn.delete(key)))
  }

  async #transaction(action: string, body: (txn: DurableObjectTransactionLike) => Promise<unknown>): Promise<void> {
    try {
      if (typeof this.#storage.transaction === 'function') await this.#storage.transaction(body)
      else await body(this.#storage)
    } catch (error) {
      throw toStoreError(error, action)
    }
  }
}

function where(key: string): string {
  return `Durable Object storage[${JSON.stringify(key)}]`
}
