import { StoreError } from '../errors.js'
import { checkBinding, prefixOption } from './binding.js'
import {
  assertValidCheckpoint,
  type Checkpoint,
  type CheckpointStore,
  decodeCheckpoint,
  encodeCheckpoint,
  supersedes,
  toStoreError,
} from './contract.js'

/** The part of the Web Storage API this store uses (`localStorage`, `sessionStorage`, or your own). */
export interface StorageLike {
  getItem(key: string): string | null
  setItem(key: string, value: string): void
  removeItem(key: string): void
  key(index: number): string | null
  readonly length: number
}

export interface LocalStorageStoreOptions {
  /**
   * Prepended to every key, so checkpoints never collide with the page's own entries.
   * @default 'resumable-sse:'
   */
  prefix?: string
  /**
   * The storage to use. Looked up on first use, never at import or construction: merely touching
   * `window.localStorage` throws a `SecurityError` in sandboxed iframes, opaque origins and browsers
   * with storage disabled.
   * @default globalThis.localStorage
   */
  storage?: StorageLike
}

interface LockManagerLike {
  request<T>(name: string, callback: () => Promise<T> | T): Promise<T>
}

/**
 * Checkpoints in `localStorage` (browsers; Deno with `--location`), one versioned JSON value per key.
 *
 * Cross-tab safety is best-effort. `put` is a read-compare-write; inside one page it is atomic (the
 * calls run synchronously), but tabs run in parallel and `localStorage` has no transaction. When
 * `navigator.locks` (Web Locks) exists, `put` and `delete` hold the exclusive lock
 * `resumable-sse lock <prefix><key>`, which serialises the writes — yet each tab reads its own copy
 * of the storage, which other tabs' writes reach asynchronously, and the lock does not wait for that
 * copy. So two tabs racing on one key can still leave a lower checkpoint (we measured it in Chromium).
 * That only means some events are delivered again (at-least-once), never that one is lost. Use
 * `IndexedDBStore` when several tabs commit to one key. Deno's Web Locks cover one process only.
 *
 * Failures are typed `StoreError`s at use: `forbidden` for a `SecurityError` (storage disabled,
 * sandboxed iframe, opaque origin), `quota` for a `QuotaExceededError`, with the DOMException as `cause`.
 */
export class LocalStorageStore implements CheckpointStore {
  readonly persistent = true
  readonly #prefix: string
  /** The storage given, else `localStorage` once first found (see `LocalStorageStoreOptions.storage`). */
  #storage: StorageLike | undefined

  constructor(options: LocalStorageStoreOptions = {}) {
    const { storage } = options
    if (storage !== undefined) checkBinding(storage, 'a Storage (`localStorage`, `sessionStorage`)', ['getItem', 'setItem', 'removeItem', 'key'])
    this.#prefix = prefixOption(options.prefix)
    this.#storage = storage
  }

  async get(key: string): Promise<Checkpoint | undefined> {
    const storageKey = this.#prefix + key
    const text = this.#call('get', (storage) => storage.getItem(storageKey))
    return text === null ? undefined : decodeCheckpoint(text, where(storageKey))
  }

  async put(key: string, checkpoint: Checkpoint): Promise<void> {
    assertValidCheckpoint(checkpoint)
    const storageKey = this.#prefix + key
    const text = encodeCheckpoint(checkpoint)
    await this.#exclusive(storageKey, () =>
      this.#call('put', (storage) => {
        const current = storage.getItem(storageKey)
        // Rule 4: garbage under our key rejects the put and stays where it is.
        if (current !== null && !supersedes(checkpoint, decodeCheckpoint(current, where(storageKey)))) return
        // A failing setItem (quota) leaves the previous value in place, so the contract holds.
        storage.setItem(storageKey, text)
      }),
    )
  }

  async delete(key: string): Promise<void> {
    const storageKey = this.#prefix + key
    await this.#exclusive(storageKey, () => this.#call('delete', (storage) => storage.removeItem(storageKey)))
  }

  /** Removes every entry under this store's prefix, and nothing else. */
  async clear(): Promise<void> {
    const keys = this.#call('clear', (storage) => {
      const found: string[] = []
      for (let i = 0; i < storage.length; i++) {
        const key = storage.key(i)
        if (key?.startsWith(this.#prefix)) found.push(key.slice(this.#prefix.length))
      }
      return found
    })
    for (const key of keys) await this.delete(key)
  }

  #call<T>(action: string, body: (storage: StorageLike) => T): T {
    try {
      const storage = (this.#storage ??= (globalThis as { localStorage?: StorageLike }).localStorage)
      if (!storage) throw new StoreError('unavailable', 'localStorage is not available in this runtime (Deno needs --location)')
      return body(storage)
    } catch (error) {
      throw toStoreError(error, action)
    }
  }

  async #exclusive(storageKey: string, body: () => void): Promise<void> {
    const locks = (globalThis as { navigator?: { locks?: LockManagerLike } }).navigator?.locks
    if (typeof locks?.request !== 'function') return body()
    try {
      await locks.request(`resumable-sse lock ${storageKey}`, body)
    } catch (error) {
      throw toStoreError(error, 'lock')
    }
  }
}

function where(storageKey: string): string {
  return `localStorage[${JSON.stringify(storageKey)}]`
}
