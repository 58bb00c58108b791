import { afterEach, describe, expect, it, vi } from 'vitest'
import type { StoreError } from '../../src/errors.js'
import { IndexedDBStore } from '../../src/checkpoint/indexeddb.js'
import { LocalStorageStore, type StorageLike } from '../../src/checkpoint/local-storage.js'

// Faults the real backends produce but happy-dom + fake-indexeddb cannot on their own: the fault is
// injected at the backend boundary (the DOM API), never inside the store under test.

let run = 0
const dbName = () => `faults-${Date.now()}-${run++}`
const cp = (sequence: number) => ({ sequence, cursor: `c${sequence}` })

async function storeError(promise: Promise<unknown>): Promise<StoreError> {
  const error = await promise.then(
    () => {
      throw new Error('expected a rejection')
    },
    (e: unknown) => e,
  )
  expect(error).toMatchObject({ name: 'StoreError', code: 'store' })
  return error as StoreError
}

afterEach(() => {
  vi.restoreAllMocks()
  vi.unstubAllGlobals()
})

describe('IndexedDBStore faults', () => {
  it('is lazy: constructing it opens no database', async () => {
    const open = vi.spyOn(indexedDB, 'open')
    const store = new IndexedDBStore({ dbName: dbName() })
    expect(open).not.toHaveBeenCalled()
    await store.get('k')
    expect(open).toHaveBeenCalledTimes(1)
  })

  it('imports and constructs where IndexedDB does not exist, and fails typed on use', async () => {
    vi.stubGlobal('indexedDB', undefined)
    vi.resetModules()
    const { IndexedDBStore: Fresh } = await import('../../src/checkpoint/indexeddb.js')
    const store = new Fresh()
    const error = await storeError(store.get('k'))
    expect(error.reason).toBe('unavailable')
    expect(error.message).toContain('IndexedDB is not available')
  })

  it('maps QuotaExceededError to StoreError("quota") with the DOMException as cause, and changes nothing', async () => {
    const store = new IndexedDBStore({ dbName: dbName() })
    await store.put('k', cp(1))
    const quota = new DOMException('The quota has been exceeded.', 'QuotaExceededError')
    vi.spyOn(IDBObjectStore.prototype, 'put').mockImplementation(() => {
      throw quota
    })
    const error = await storeError(store.put('k', cp(2)))
    expect(error.reason).toBe('quota')
    expect(error.cause).toBe(quota)
    vi.restoreAllMocks()
    expect(await store.get('k')).toEqual(cp(1))
  })

  it('maps a transaction aborted by the backend to a typed error and keeps the old value', async () => {
    // What a real browser does on quota: the write is accepted, then the transaction aborts.
    const store = new IndexedDBStore({ dbName: dbName() })
    await store.put('k', cp(1))
    const put = IDBObjectStore.prototype.put
    vi.spyOn(IDBObjectStore.prototype, 'put').mockImplementation(function (this: IDBObjectStore, ...args) {
      const request = put.apply(this, args)
      this.transaction.abort()
      return request
    })
    const error = await storeError(store.put('k', cp(2)))
    expect(error.reason).toBe('unavailable')
    expect((error.cause as DOMException).name).toBe('AbortError')
    vi.restoreAllMocks()
    expect(await store.get('k')).toEqual(cp(1))
  })

  it('maps SecurityError from indexedDB.open (opaque origin) to StoreError("forbidden")', async () => {
    const denied = new DOMException('access to the Indexed Database API is denied in this context', 'SecurityError')
    vi.spyOn(indexedDB, 'open').mockImplementation(() => {
      throw denied
    })
    const error = await storeError(new IndexedDBStore({ dbName: dbName() }).put('k', cp(1)))
    expect(error.reason).toBe('forbidden')
    expect(error.cause).toBe(denied)
  })

  it('reopens once when the browser closed the connection behind its back (InvalidStateError)', async () => {
    const name = dbName()
    const connections: IDBDatabase[] = []
    const open = indexedDB.open.bind(indexedDB)
    vi.spyOn(indexedDB, 'open').mockImplementation((...args: Parameters<IDBFactory['open']>) => {
      const request = open(...args)
      request.addEventListener('success', () => connections.push(request.result))
      return request
    })
    const store = new IndexedDBStore({ dbName: name })
    await store.put('k', cp(1))
    expect(connections).toHaveLength(1)
    // Safari's behaviour: the connection dies without a `close` event idb-keyval would notice.
    connections[0]!.close()
    await store.put('k', cp(2))
    expect(connections).toHaveLength(2)
    expect(await store.get('k')).toEqual(cp(2))
  })

  it('retries only once: a connection that stays broken is StoreError("unavailable") with the cause', async () => {
    const store = new IndexedDBStore({ dbName: dbName() })
    await store.put('k', cp(1))
    const transaction = vi.spyOn(IDBDatabase.prototype, 'transaction').mockImplementation(() => {
      throw new DOMException('The database connection is closing.', 'InvalidStateError')
    })
    const error = await storeError(store.put('k', cp(2)))
    expect(error.reason).toBe('unavailable')
    expect((error.cause as DOMException).name).toBe('InvalidStateError')
    expect(transaction).toHaveBeenCalledTimes(2)
    vi.restoreAllMocks()
    expect(await store.get('k')).toEqual(cp(1))
  })
})

describe('LocalStorageStore faults', () => {
  /** The real happy-dom localStorage, with setItem failing the way a full origin's does. */
  function fullStorage(quota: DOMException): StorageLike {
    return {
      getItem: (key) => localStorage.getItem(key),
      setItem: () => {
        throw quota
      },
      removeItem: (key) => localStorage.removeItem(key),
      key: (index) => localStorage.key(index),
      get length() {
        return localStorage.length
      },
    }
  }

  it('maps QuotaExceededError to StoreError("quota") with the DOMException as cause, and changes nothing', async () => {
    const prefix = `${dbName()}:`
    await new LocalStorageStore({ prefix }).put('k', cp(1))
    const quota = new DOMException("Failed to execute 'setItem' on 'Storage': exceeded the quota.", 'QuotaExceededError')
    const error = await storeError(new LocalStorageStore({ prefix, storage: fullStorage(quota) }).put('k', cp(2)))
    expect(error.reason).toBe('quota')
    expect(error.cause).toBe(quota)
    expect(await new LocalStorageStore({ prefix }).get('k')).toEqual(cp(1))
  })

  it('constructs where touching localStorage throws SecurityError, and fails typed on use', async () => {
    const denied = new DOMException("Failed to read the 'localStorage' property from 'Window': Access is denied for this document.", 'SecurityError')
    const descriptor = Object.getOwnPropertyDescriptor(globalThis, 'localStorage')
    Object.defineProperty(globalThis, 'localStorage', {
      configurable: true,
      get() {
        throw denied
      },
    })
    try {
      const store = new LocalStorageStore()
      for (const operation of [store.get('k'), store.put('k', cp(1)), store.delete('k')]) {
        const error = await storeError(operation)
        expect(error.reason).toBe('forbidden')
        expect(error.cause).toBe(denied)
      }
    } finally {
      if (descriptor) Object.defineProperty(globalThis, 'localStorage', descriptor)
    }
    expect(typeof localStorage.getItem).toBe('function')
  })

  it('is StoreError("unavailable") in a runtime without localStorage', async () => {
    vi.stubGlobal('localStorage', undefined)
    const error = await storeError(new LocalStorageStore().get('k'))
    expect(error.reason).toBe('unavailable')
  })

  it('keeps checkpoints of different prefixes apart', async () => {
    const a = new LocalStorageStore({ prefix: 'app-a:' })
    const b = new LocalStorageStore({ prefix: 'app-b:' })
    await a.put('same-key', cp(9))
    await b.put('same-key', cp(2))
    expect(await a.get('same-key')).toEqual(cp(9))
    expect(await b.get('same-key')).toEqual(cp(2))
    expect(JSON.parse(localStorage.getItem('app-a:same-key')!)).toEqual({ v: 1, ...cp(9) })
  })
})
