import { createStore, set } from 'idb-keyval'
import { describe, it } from 'vitest'
import { IndexedDBStore } from '../../src/checkpoint/indexeddb.js'
import { LocalStorageStore } from '../../src/checkpoint/local-storage.js'
import { checkpointStoreContract } from '../../src/testing/index.js'

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
    }
  },
  { describe, it },
)
