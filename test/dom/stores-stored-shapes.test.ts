import { createStore, get, set } from 'idb-keyval'
import { describe, expect, it } from 'vitest'
import type { Checkpoint, CheckpointStore } from '../../src/checkpoint/contract.js'
import { IndexedDBStore } from '../../src/checkpoint/indexeddb.js'
import { LocalStorageStore } from '../../src/checkpoint/local-storage.js'
import { MemoryStore } from '../../src/checkpoint/memory.js'

// Stored values of our format version with one field of the wrong shape, written straight into the
// backend (as another program, an older build or a bit flip would): each is StoreError('corrupt') on
// get and on put, and stays as it was. And the other side of it: a put a later get would reject is
// refused up front, so a key can never be bricked by a put that "succeeded".

let run = 0
const unique = (name: string) => `${name}-${Date.now()}-${run++}`

const BAD_FIELDS: readonly [string, Record<string, unknown>][] = [
  ['meta a string (would read back as {0:…, 1:…})', { meta: 'abc' }],
  ['meta a number', { meta: 5 }],
  ['meta null', { meta: null }],
  ['meta true', { meta: true }],
  ['meta with a number value', { meta: { a: 1 } }],
  ['committedAt a string', { committedAt: 'yesterday' }],
  ['sequence a string', { sequence: '1' }],
  ['sequence negative', { sequence: -1 }],
  ['sequence not an integer', { sequence: 1.5 }],
  ['sequence past 2^53', { sequence: 2 ** 60 }],
  ['cursor missing', { cursor: undefined }],
]

interface Backend {
  store(): CheckpointStore
  write(key: string, value: object): Promise<void>
  read(key: string): Promise<unknown>
}

function indexedDB(): Backend {
  const dbName = unique('shapes')
  const raw = createStore(dbName, 'checkpoints')
  return { store: () => new IndexedDBStore({ dbName }), write: (key, value) => set(key, value, raw), read: (key) => get(key, raw) }
}

function localStorageBackend(): Backend {
  const prefix = `${unique('shapes')}:`
  return {
    store: () => new LocalStorageStore({ prefix }),
    write: async (key, value) => localStorage.setItem(prefix + key, JSON.stringify(value)),
    read: async (key) => localStorage.getItem(prefix + key),
  }
}

describe.each([
  ['IndexedDBStore', indexedDB],
  ['LocalStorageStore', localStorageBackend],
] as const)('%s reading a stored value with one field of the wrong shape', (_name, backend) => {
  it.each(BAD_FIELDS)('%s: StoreError("corrupt") on get and put, and the value stays', async (_what, bad) => {
    const { store, write, read } = backend()
    const value = { v: 1, sequence: 1, cursor: 'c1', ...bad }
    for (const [k, v] of Object.entries(value)) if (v === undefined) delete (value as Record<string, unknown>)[k]
    await write('k', value)
    const before = await read('k')
    await expect(store().get('k')).rejects.toMatchObject({ name: 'StoreError', reason: 'corrupt' })
    await expect(store().put('k', { sequence: 2, cursor: 'c2' })).rejects.toMatchObject({ name: 'StoreError', reason: 'corrupt' })
    expect(await read('k')).toEqual(before)
  })
})

describe.each([
  ['IndexedDBStore', indexedDB],
  ['LocalStorageStore', localStorageBackend],
] as const)('%s: an unreadable checkpoint says what to do about it', (_name, backend) => {
  it.each([
    ['not JSON / not an object', 'garbage', 'corrupt'],
    ['no format version', { sequence: 1, cursor: 'c1' }, 'corrupt'],
    ['a malformed field', { v: 1, sequence: -1, cursor: 'c1' }, 'corrupt'],
    ['another format version', { v: 2, sequence: 1, cursor: 'c1' }, 'version'],
  ] as const)('%s: the error names store.delete(key) and store.clear()', async (_what, raw, reason) => {
    const { store, write } = backend()
    if (typeof raw === 'string') await write('k', raw as unknown as object)
    else await write('k', raw)
    const error = await store().get('k').then(() => undefined, (e: unknown) => e as Error & { reason: string })
    expect(error).toMatchObject({ name: 'StoreError', reason })
    expect(error?.message).toMatch(/store\.delete\(key\).*store\.clear\(\)/)
  })
})

describe.each([
  ['IndexedDBStore', indexedDB],
  ['LocalStorageStore', localStorageBackend],
] as const)('%s: a huge wrong field', (_name, backend) => {
  it('is StoreError("corrupt") with a message of ordinary length (the value is not quoted)', async () => {
    const { store, write } = backend()
    await write('k', { v: 1, sequence: 'x'.repeat(1_000_000), cursor: 'c1' })
    const error = await store().get('k').then(() => undefined, (e: unknown) => e as Error)
    expect(error).toMatchObject({ name: 'StoreError', reason: 'corrupt' })
    expect(error?.message.length).toBeLessThan(1000)
  })
})

describe.each([
  ['IndexedDBStore', indexedDB],
  ['LocalStorageStore', localStorageBackend],
] as const)('%s reading a committedAt of null', (_name, backend) => {
  it('reads it as absent (what JSON made of a NaN an earlier version let through), and the key keeps working', async () => {
    const { store, write } = backend()
    await write('k', { v: 1, sequence: 1, cursor: 'c1', committedAt: null })
    expect(await store().get('k')).toEqual({ sequence: 1, cursor: 'c1' })
    await store().put('k', { sequence: 2, cursor: 'c2', committedAt: 7 })
    expect(await store().get('k')).toEqual({ sequence: 2, cursor: 'c2', committedAt: 7 })
  })
})

describe.each([
  ['MemoryStore', () => new MemoryStore()],
  ['IndexedDBStore', () => new IndexedDBStore({ dbName: unique('shapes') })],
  ['LocalStorageStore', () => new LocalStorageStore({ prefix: `${unique('shapes')}:` })],
] as const)('%s refuses a put that its get could not read back', (_name, make) => {
  it.each([
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['a string', 'yesterday'],
    ['a Date', new Date(0)],
  ])('committedAt %s: StoreError("invalid"), the stored checkpoint stays and the key keeps working', async (_what, committedAt) => {
    const store = make()
    await store.put('k', { sequence: 1, cursor: 'c1', committedAt: 5 })
    await expect(store.put('k', { sequence: 2, cursor: 'c2', committedAt } as unknown as Checkpoint)).rejects.toMatchObject({ name: 'StoreError', reason: 'invalid' })
    expect(await store.get('k')).toEqual({ sequence: 1, cursor: 'c1', committedAt: 5 })
    await store.put('k', { sequence: 3, cursor: 'c3' })
    expect(await store.get('k')).toEqual({ sequence: 3, cursor: 'c3' })
  })
})
