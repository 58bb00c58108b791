import { createStore, get, set } from 'idb-keyval'
import { describe, expect, it } from 'vitest'
import type { CheckpointStore } from '../../src/checkpoint/contract.js'
import { MemoryStore } from '../../src/checkpoint/memory.js'
import { ConfigError } from '../../src/errors.js'
import { IndexedDBStore } from '../../src/checkpoint/indexeddb.js'
import { LocalStorageStore } from '../../src/checkpoint/local-storage.js'
import { checkpointStoreContract } from '../../src/testing/index.js'
import { KVNamespaceStore } from '../../src/checkpoint/kv-namespace.js'
import { DurableObjectStore } from '../../src/checkpoint/durable-object.js'

/** Only the methods the constructors check for; nothing is called. */
const kvLike = { get: async () => null, put: async () => {}, delete: async () => {}, list: async () => ({ keys: [], list_complete: true }) }

// The exported contract suite, run by vitest in happy-dom + fake-indexeddb. The same suite runs in
// headless Chromium (test/browser), Deno (test/deno) and workerd (test/workerd).

let run = 0
const unique = (name: string) => `${name}-${Date.now()}-${run++}`

checkpointStoreContract(
  'IndexedDBStore (fake-indexeddb)',
  () => {
    const dbName = unique('contract-db')
    const raw = createStore(dbName, 'checkpoints')
    return {
      store: new IndexedDBStore({ dbName }),
      another: () => new IndexedDBStore({ dbName }),
      corrupt: (key, value) => set(key, value, raw),
      // The page's own data lives in its own database (idb-keyval's default one here).
      neighbour: { write: (name, value) => set(name, value), read: (name) => get(name) },
    }
  },
  { describe, it },
)

// happy-dom has no Web Locks (`navigator.locks` is null), so this runs the lock-free path; the
// locked path runs in Chromium.
checkpointStoreContract(
  'LocalStorageStore (happy-dom, no Web Locks)',
  () => {
    const prefix = unique('contract') + ':'
    return {
      store: new LocalStorageStore({ prefix }),
      another: () => new LocalStorageStore({ prefix }),
      corrupt: async (key, value) => localStorage.setItem(prefix + key, typeof value === 'string' ? value : JSON.stringify(value)),
      neighbour: { write: async (name, value) => localStorage.setItem(name, value), read: async (name) => localStorage.getItem(name) },
    }
  },
  { describe, it },
)

describe('the built-in stores declare what the subscription and a logout rely on', () => {
  it.each([
    ['IndexedDBStore', true, () => new IndexedDBStore({ dbName: unique('shape') })],
    ['LocalStorageStore', true, () => new LocalStorageStore({ prefix: unique('shape') })],
    ['MemoryStore', undefined, () => new MemoryStore()],
  ] as const)('%s: persistent is %s, and clear() exists', (_name, persistent, make) => {
    const store: CheckpointStore = make()
    expect(store.persistent).toBe(persistent)
    expect(typeof store.clear).toBe('function')
  })

  it('MemoryStore.clear() forgets every checkpoint', async () => {
    const store = new MemoryStore()
    await store.put('a', { sequence: 1, cursor: 'c1' })
    await store.put('b', { sequence: 2, cursor: 'c2' })
    await store.clear?.()
    expect([await store.get('a'), await store.get('b')]).toEqual([undefined, undefined])
  })

  it.each([
    ['IndexedDBStore', () => new IndexedDBStore({ dbName: '' })],
    ['IndexedDBStore', () => new IndexedDBStore({ storeName: 42 as unknown as string })],
    ['LocalStorageStore', () => new LocalStorageStore({ prefix: null as unknown as string })],
    ['LocalStorageStore', () => new LocalStorageStore({ storage: {} as Storage })],
    // An empty prefix would make clear() delete every entry of the origin / namespace / object.
    ['LocalStorageStore', () => new LocalStorageStore({ prefix: '' })],
    ['KVNamespaceStore', () => new KVNamespaceStore(kvLike, { prefix: '' })],
    ['DurableObjectStore', () => new DurableObjectStore(kvLike as never, { prefix: '' })],
  ])('%s: a bad constructor argument is a ConfigError', (_name, make) => {
    expect(make).toThrow(ConfigError)
  })
})
