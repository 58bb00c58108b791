import type { Checkpoint, CheckpointStore } from '../checkpoint/contract.js'
import type { MaybePromise } from '../types.js'
import { check, checkCheckpoint, checkRejectsWith } from './assert.js'

export type { MaybePromise }

/** What the suite needs from the store under test. A new harness is made for every case. */
export interface StoreHarness {
  store: CheckpointStore
  /**
   * Writes `raw` under `key` straight into the backend, bypassing the store, the way an older or
   * newer library version, another program or a bit flip would. String-valued backends (localStorage,
   * KV) write a string `raw` as is and anything else as `JSON.stringify(raw)`; structured-clone
   * backends (IndexedDB, Durable Objects) write `raw` itself. Required: rule 4 is part of the contract,
   * so the corrupt-data cases fail without it.
   */
  corrupt?(key: string, raw: unknown): Promise<void>
  /**
   * Another handle on the same backend: another tab's store, another store instance in the Worker.
   * Without it the concurrency case races puts through the one handle.
   */
  another?(): CheckpointStore
  /**
   * The application's own entries in the same backend (the same KV namespace, Durable Object storage,
   * `localStorage`; for IndexedDB the page's own database): `write` puts `value` under the raw name
   * `name`, bypassing the store, and `read` returns what is there. Required: `delete` and `clear` must
   * never remove an entry the store did not write, so that case fails without it.
   */
  neighbour?: { write(name: string, value: string): Promise<void>; read(name: string): Promise<unknown> }
}

/** `describe`/`it` as vitest, `node:test`, Mocha, Jest and Deno's BDD module spell them. */
export interface ContractTestApi {
  describe(name: string, body: () => void): unknown
  it(name: string, body: () => Promise<void>): unknown
}

/**
 * Registers the checkpoint store contract as test cases: every store in this package passes it in its
 * real runtime, and yours can too.
 *
 * @example
 * import { describe, it } from 'vitest'
 * import { checkpointStoreContract } from 'resumable-sse/testing'
 * checkpointStoreContract('RedisStore', async () => ({
 *   store: new RedisStore(client),
 *   neighbour: { write: (name, value) => client.set(name, value), read: (name) => client.get(name) },
 * }), { describe, it })
 *
 * Keys are unique per case and run, so a persistent backend need not be emptied between runs. The
 * `clear()` case checks the optional `clear` member when the store has it or is `persistent`; it removes everything
 * the store wrote, so give each case's harness its own prefix or database.
 */
export function checkpointStoreContract(name: string, factory: () => MaybePromise<StoreHarness>, t: ContractTestApi): void {
  t.describe(`${name} honours the checkpoint store contract`, () => {
    for (const [title, body] of CASES) {
      t.it(title, async () => {
        const harness = await factory()
        const handles: CheckpointStore[] = [harness.store]
        const another = () => {
          const handle = harness.another ? harness.another() : harness.store
          handles.push(handle)
          return handle
        }
        try {
          await body({ ...harness, another, key: uniqueKey(title) })
        } finally {
          // Nothing a case wrote may still be pending when the next one starts (KV coalescing).
          for (const handle of new Set(handles)) await handle.flush?.()
        }
      })
    }
  })
}

interface CaseContext extends StoreHarness {
  another(): CheckpointStore
  key: string
}

const cp = (sequence: number, cursor = `c${sequence}`, extra: Partial<Checkpoint> = {}): Checkpoint => ({ sequence, cursor, ...extra })

/** Raw values no store may read back as a checkpoint (format version 1 is the current one). */
const GARBAGE: readonly unknown[] = [
  '{"v":1,"sequence":', //                    truncated JSON
  'definitely not a checkpoint', //            not JSON at all
  { sequence: 3, cursor: 'c3' }, //             no format version
  { v: 1, sequence: -1, cursor: 42 }, //        our version, impossible fields
  { v: 1, sequence: 3, cursor: 'c3', meta: 'x' }, // our version, a meta that is not an object of strings
]

const CASES: readonly [string, (c: CaseContext) => Promise<void>][] = [
  [
    'get resolves undefined for a key never written',
    async ({ store, key }) => {
      checkCheckpoint(await store.get(key), undefined, 'get of a missing key')
    },
  ],
  [
    'put then get returns the checkpoint, to this handle and to another',
    async ({ store, key, another }) => {
      const full = cp(0, 'cursor-0', { meta: { streamCursor: 'abc', 'ünïcode': '✓' }, committedAt: 1_700_000_000_000 })
      await store.put(key, full)
      checkCheckpoint(await store.get(key), full, 'get after put (sequence 0, meta, committedAt)')
      const bare = cp(Number.MAX_SAFE_INTEGER, 'c-max')
      await store.put(key, bare)
      checkCheckpoint(await store.get(key), bare, 'get after a higher put without meta')
      await store.flush?.()
      checkCheckpoint(await another().get(key), bare, 'get from another handle after put and flush')
    },
  ],
  [
    'a lower put is a silent no-op',
    async ({ store, key }) => {
      await store.put(key, cp(10))
      await store.put(key, cp(9))
      await store.put(key, cp(0))
      checkCheckpoint(await store.get(key), cp(10), 'get after lower puts')
    },
  ],
  [
    'an equal put is a silent no-op, even with another cursor',
    async ({ store, key }) => {
      await store.put(key, cp(10, 'first'))
      await store.put(key, cp(10, 'second', { meta: { x: 'y' } }))
      checkCheckpoint(await store.get(key), cp(10, 'first'), 'get after an equal put')
    },
  ],
  [
    'puts are strictly monotonic over a mixed sequence',
    async ({ store, key }) => {
      let highest = -1
      for (const sequence of [1, 4, 2, 4, 7, 3, 8, 8, 0, 9]) {
        await store.put(key, cp(sequence))
        highest = Math.max(highest, sequence)
        checkCheckpoint(await store.get(key), cp(highest), `get after put(${sequence})`)
      }
    },
  ],
  [
    'delete then a lower put works',
    async ({ store, key }) => {
      await store.delete(key) // deleting a missing key resolves too
      await store.put(key, cp(10))
      await store.put(key, cp(11)) // a coalescing store may hold this one back: delete drops it too
      await store.delete(key)
      await store.flush?.()
      checkCheckpoint(await store.get(key), undefined, 'get after delete (and flush: no write held back may bring it back)')
      await store.put(key, cp(3))
      checkCheckpoint(await store.get(key), cp(3), 'get after delete then a lower put')
    },
  ],
  [
    'a rejected put (invalid checkpoint) leaves the state unchanged',
    async ({ store, key }) => {
      await store.put(key, cp(5))
      const invalid: unknown[] = [
        null,
        { cursor: 'no-sequence' },
        cp(-1),
        cp(6.5),
        cp(Number.NaN),
        cp(Number.MAX_SAFE_INTEGER + 2),
        { sequence: '7', cursor: 'c7' },
        { sequence: 8, cursor: 8 },
        cp(9, 'c9', { meta: { n: 1 } as unknown as Record<string, string> }),
      ]
      for (const value of invalid) {
        await checkRejectsWith(store.put(key, value as Checkpoint), 'invalid', `put(${JSON.stringify(value)})`)
        checkCheckpoint(await store.get(key), cp(5), `get after the rejected put(${JSON.stringify(value)})`)
      }
    },
  ],
  [
    'concurrent puts from several handles converge to the highest and never go backwards',
    async ({ store, key, another }) => {
      const handles = [store, another(), another(), another()]
      // A fixed shuffle of 1..40, dealt round-robin to the handles and fired all at once.
      const sequences = Array.from({ length: 40 }, (_, i) => ((i * 17) % 40) + 1)
      let seen = -1
      const watcher = async () => {
        for (let i = 0; i < 20; i++) {
          const now = await store.get(key)
          const sequence = now?.sequence ?? -1
          check(sequence >= seen, `a reader saw the checkpoint move backwards from ${seen} to ${sequence}`)
          // Whole checkpoints only: a new sequence beside an old cursor would skip an event on resume.
          if (now) checkCheckpoint(now, cp(sequence), 'a reader during the race (a torn write)')
          seen = sequence
        }
      }
      await Promise.all([
        watcher(),
        ...handles.map(async (handle, h) => {
          for (let i = h; i < sequences.length; i += handles.length) await handle.put(key, cp(sequences[i]!))
        }),
      ])
      for (const handle of handles) await handle.flush?.()
      for (const [h, handle] of handles.entries()) {
        checkCheckpoint(await handle.get(key), cp(40), `get from handle ${h} after the race`)
        await handle.put(key, cp(39))
      }
      checkCheckpoint(await store.get(key), cp(40), 'get after lower puts from every handle')
    },
  ],
  [
    'keys are isolated',
    async ({ store, key }) => {
      const keys = [key, `${key}:2`, `${key}/ä ✓`, key.slice(0, -1)]
      for (const [i, k] of keys.entries()) await store.put(k, cp(10 * (i + 1), `cursor-of-${i}`))
      for (const [i, k] of keys.entries()) checkCheckpoint(await store.get(k), cp(10 * (i + 1), `cursor-of-${i}`), `get(${k})`)
      await store.delete(keys[0]!)
      checkCheckpoint(await store.get(keys[0]!), undefined, 'get of the deleted key')
      checkCheckpoint(await store.get(keys[1]!), cp(20, 'cursor-of-1'), 'get of a neighbour after delete')
      for (const k of keys.slice(1)) await store.delete(k)
    },
  ],
  [
    'corrupt stored data is a StoreError("corrupt") on get and put, and is not overwritten',
    async ({ store, key, corrupt }) => {
      check(corrupt !== undefined, 'the harness has no corrupt(key, raw): it is needed to check rule 4')
      for (const [i, raw] of GARBAGE.entries()) {
        const k = `${key}:${i}`
        await corrupt(k, raw)
        await checkRejectsWith(store.get(k), 'corrupt', `get over ${JSON.stringify(raw)}`)
        await checkRejectsWith(store.put(k, cp(1)), 'corrupt', `put over ${JSON.stringify(raw)}`)
        await store.flush?.()
        await checkRejectsWith(store.get(k), 'corrupt', `get after the rejected put over ${JSON.stringify(raw)}`)
        await store.delete(k)
        await store.put(k, cp(1))
        checkCheckpoint(await store.get(k), cp(1), 'get after delete and put over corrupt data')
        await store.delete(k)
      }
    },
  ],
  [
    'a checkpoint written by another format version is a StoreError("version") and is not overwritten',
    async ({ store, key, corrupt }) => {
      check(corrupt !== undefined, 'the harness has no corrupt(key, raw): it is needed to check rule 4')
      await corrupt(key, { v: 999, sequence: 1, cursor: 'from-the-future' })
      await checkRejectsWith(store.get(key), 'version', 'get over format version 999')
      await checkRejectsWith(store.put(key, cp(2)), 'version', 'put over format version 999')
      await store.flush?.()
      await checkRejectsWith(store.get(key), 'version', 'get after the rejected put')
      await store.delete(key)
      checkCheckpoint(await store.get(key), undefined, 'get after delete')
    },
  ],
  [
    'clear() deletes every checkpoint, pending ones too, through every handle; the store works after it',
    async ({ store, key, another }) => {
      // Optional for a store that forgets anyway; one whose checkpoints outlive the process needs it.
      if (store.clear === undefined && !store.persistent) return
      check(store.clear !== undefined, 'a persistent store has no clear(): users need it to forget every checkpoint (logout)')
      const keys = [key, `${key}:2`, `${key}/ä ✓`, `${key}:other`]
      const other = another()
      for (const [i, k] of keys.entries()) await (i === 3 ? other : store).put(k, cp(10 + i))
      await store.put(key, cp(20)) // may still be pending (coalescing stores): clear covers it too
      await store.clear!()
      for (const k of keys) checkCheckpoint(await store.get(k), undefined, `get(${k}) after clear`)
      for (const handle of [store, other]) await handle.flush?.()
      for (const k of keys) checkCheckpoint(await other.get(k), undefined, `get(${k}) from another handle after clear and flush`)
      await store.put(key, cp(1))
      checkCheckpoint(await store.get(key), cp(1), 'get after clear then a lower put')
      await store.clear!()
      await store.clear!() // clearing an empty store resolves too
      checkCheckpoint(await store.get(key), undefined, 'get after clearing twice')
    },
  ],
  [
    "an application's own entry under the same name survives put, delete and clear",
    async ({ store, key, neighbour }) => {
      check(neighbour !== undefined, 'the harness has no neighbour: it is needed to check that delete and clear touch only what the store wrote')
      await neighbour.write(key, 'the application’s own value')
      const survives = async (after: string) =>
        check((await neighbour.read(key)) === 'the application’s own value', `the application's own entry "${key}" is gone or changed after ${after}`)
      await store.put(key, cp(1))
      checkCheckpoint(await store.get(key), cp(1), 'get after put beside the application entry')
      await store.flush?.()
      await survives('put')
      await store.delete(key)
      await survives('delete')
      await store.put(key, cp(2))
      await store.flush?.()
      await store.clear?.()
      await survives('clear')
    },
  ],
  [
    'checkpoints are copied in and out',
    async ({ store, key }) => {
      const mine = { sequence: 4, cursor: 'c4', meta: { a: 'b' } }
      await store.put(key, mine)
      mine.cursor = 'changed'
      mine.meta.a = 'changed'
      const got = (await store.get(key)) as { cursor: string; meta?: Record<string, string> } | undefined
      checkCheckpoint(got as Checkpoint | undefined, cp(4, 'c4', { meta: { a: 'b' } }), 'get after mutating the object given to put')
      check(got !== undefined && got.meta !== undefined, 'get returned no meta')
      got.cursor = 'mutated'
      got.meta.a = 'mutated'
      checkCheckpoint(await store.get(key), cp(4, 'c4', { meta: { a: 'b' } }), 'get after mutating a returned object')
    },
  ],
]

function uniqueKey(title: string): string {
  const slug = title.replace(/[^a-z0-9]+/gi, '-').slice(0, 40)
  return `contract:${slug}:${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`
}
