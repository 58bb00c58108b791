import { createStore, promisifyRequest, type UseStore } from 'idb-keyval'
import { ConfigError, StoreError } from '../errors.js'
import {
  assertValidCheckpoint,
  type Checkpoint,
  type CheckpointStore,
  fromStored,
  supersedes,
  toStoreError,
  toStored,
} from './contract.js'

export interface IndexedDBStoreOptions {
  /**
   * The IndexedDB database. idb-keyval opens it without a version, so give each object store its own
   * database: a second object store in an existing database would never be created.
   * @default 'resumable-sse'
   */
  dbName?: string
  /** @default 'checkpoints' */
  storeName?: string
}

/**
 * Checkpoints in IndexedDB (browsers, web and service workers), through idb-keyval.
 *
 * `put` reads, compares and writes inside ONE readwrite transaction. IndexedDB serialises readwrite
 * transactions on the same object store across every tab and worker of the origin, so two tabs racing
 * on one key can never move its checkpoint backwards.
 *
 * Lazy like idb-keyval: neither importing nor constructing opens the database; the first operation does.
 */
export class IndexedDBStore implements CheckpointStore {
  readonly persistent = true
  readonly #dbName: string
  readonly #storeName: string
  #useStore: UseStore | undefined

  constructor(options: IndexedDBStoreOptions = {}) {
    const { dbName = 'resumable-sse', storeName = 'checkpoints' } = options
    for (const [name, value] of [['dbName', dbName], ['storeName', storeName]]) {
      if (typeof value !== 'string' || value === '') throw new ConfigError(`Expected \`${name}\` to be a non-empty string, got ${String(value)}`)
    }
    this.#dbName = dbName
    this.#storeName = storeName
  }

  async get(key: string): Promise<Checkpoint | undefined> {
    const raw = await this.#run('get', 'readonly', (store) => promisifyRequest(store.get(key)))
    return raw === undefined ? undefined : fromStored(raw, this.#where(key))
  }

  async put(key: string, checkpoint: Checkpoint): Promise<void> {
    assertValidCheckpoint(checkpoint)
    const next = toStored(checkpoint) // copied now: a caller mutating its object later changes nothing
    await this.#run('put', 'readwrite', (store) => {
      const tx = store.transaction
      return new Promise<void>((resolve, reject) => {
        // Callbacks, not awaits, between the read and the write: a transaction whose request queue
        // is empty at the end of a task auto-commits, and a promise hop may already be too late.
        const read = store.get(key)
        read.onerror = () => reject(read.error)
        read.onsuccess = () => {
          try {
            // Rule 4: garbage under our key rejects the put and stays where it is.
            const current = read.result === undefined ? undefined : fromStored(read.result, this.#where(key))
            if (supersedes(checkpoint, current)) store.put(next, key)
          } catch (error) {
            try {
              tx.abort()
            } catch {
              // Already finished: nothing was written by this transaction anyway.
            }
            reject(error)
            return
          }
          resolve(completion(tx))
        }
      })
    })
  }

  async delete(key: string): Promise<void> {
    await this.#run('delete', 'readwrite', (store) => (store.delete(key), completion(store.transaction)))
  }

  /** Empties this store's object store: every checkpoint it holds, and nothing else of the origin's. */
  async clear(): Promise<void> {
    await this.#run('clear', 'readwrite', (store) => (store.clear(), completion(store.transaction)))
  }

  #where(key: string): string {
    return `IndexedDB ${this.#dbName}/${this.#storeName}[${JSON.stringify(key)}]`
  }

  /**
   * One transaction, retried once on `InvalidStateError`: Safari closes IndexedDB connections behind
   * the page's back (idb-keyval's own source notes it) and not always with a `close` event, so the
   * cached connection is dead and `db.transaction()` throws. A fresh idb-keyval store opens a new one.
   * Retrying is safe because every operation here is idempotent (`put` re-reads before it writes).
   */
  async #run<T>(action: string, mode: IDBTransactionMode, body: (store: IDBObjectStore) => Promise<T>): Promise<T> {
    for (let retried = false; ; retried = true) {
      try {
        if (typeof indexedDB === 'undefined') throw new StoreError('unavailable', 'IndexedDB is not available in this runtime')
        this.#useStore ??= createStore(this.#dbName, this.#storeName)
        return await this.#useStore(mode, body)
      } catch (error) {
        if (retried || (error as { name?: unknown } | null)?.name !== 'InvalidStateError') throw toStoreError(error, action)
        this.#useStore = undefined
      }
    }
  }
}

/**
 * Resolves when the transaction commits; rejects with its error (e.g. QuotaExceededError) on abort.
 * Not idb-keyval's promisifyRequest: a transaction aborted without an error rejects there with `null`,
 * which would reach the user as a meaningless error.
 */
function completion(tx: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve()
    tx.onabort = tx.onerror = () => reject(tx.error ?? new DOMException('The transaction was aborted', 'AbortError'))
  })
}
