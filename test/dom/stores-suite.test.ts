import { describe, expect, it } from 'vitest'
import {
  assertValidCheckpoint,
  type Checkpoint,
  type CheckpointStore,
  decodeCheckpoint,
  encodeCheckpoint,
  supersedes,
} from '../../src/checkpoint/contract.js'
import { type CaseResult, checkpointStoreContract, createContractRunner, type StoreHarness } from '../../src/testing/index.js'

// The contract suite is only worth something if it fails broken stores. A small reference store over
// a Map of JSON strings passes; each deliberately broken variant must fail the case for its rule.

type Flaw =
  | 'none'
  | 'not-monotonic'
  | 'garbage-is-missing'
  | 'validates-after-write'
  | 'shares-objects'
  | 'lost-delete'
  | 'no-prefix'
  | 'clear-forgets-nothing'
  | 'clear-takes-everything'
  | 'torn-write'
  | 'coalescing'
  | 'delete-keeps-pending'

/** Per shared map, the tail of each key's puts: 'torn-write' serialises its puts, so only its torn state shows. */
const queues = new WeakMap<Map<string, string>, Map<string, Promise<unknown>>>()

/** The reference store keeps its entries under this prefix of the shared map, beside the app's. */
const PREFIX = 'ref:'

class MapStore implements CheckpointStore {
  readonly persistent = true
  readonly #last = new Map<string, Checkpoint>()
  readonly raw: Map<string, string>
  readonly #shared: Map<string, string>
  constructor(
    shared: Map<string, string>,
    readonly flaw: Flaw,
  ) {
    this.#shared = shared
    // The store's view: its own prefix in the shared map (none with the 'no-prefix' flaw).
    const prefix = flaw === 'no-prefix' ? '' : PREFIX
    this.raw = {
      get: (key: string) => shared.get(prefix + key),
      set: (key: string, value: string) => shared.set(prefix + key, value),
      delete: (key: string) => shared.delete(prefix + key),
    } as Map<string, string>
    this.clear = async () => {
      if (flaw === 'clear-forgets-nothing') return
      this.#pending.clear()
      for (const key of [...shared.keys()]) if (flaw === 'clear-takes-everything' || key.startsWith(prefix)) shared.delete(key)
    }
  }

  readonly clear: () => Promise<void>

  /**
   * 'coalescing' (correct) and 'delete-keeps-pending' write a key's first put through and keep later
   * ones pending until `flush()`, as KVNamespaceStore does within its write interval.
   */
  readonly #pending = new Map<string, Checkpoint>()
  readonly #written = new Set<string>()
  get #coalescing(): boolean {
    return this.flaw === 'coalescing' || this.flaw === 'delete-keeps-pending'
  }

  async flush(): Promise<void> {
    for (const [key, checkpoint] of this.#pending) {
      this.#pending.delete(key)
      const text = this.raw.get(key)
      if (supersedes(checkpoint, text === undefined ? undefined : decodeCheckpoint(text, key))) this.raw.set(key, encodeCheckpoint(checkpoint))
    }
  }

  async get(key: string): Promise<Checkpoint | undefined> {
    if (this.#coalescing) {
      const text = this.raw.get(key)
      const stored = text === undefined ? undefined : decodeCheckpoint(text, key)
      const pending = this.#pending.get(key)
      return pending && supersedes(pending, stored) ? decodeCheckpoint(encodeCheckpoint(pending), key) : stored
    }
    const text = this.raw.get(key)
    if (text === undefined) return undefined
    if (this.flaw === 'shares-objects' && this.#last.has(key)) return this.#last.get(key)
    try {
      return decodeCheckpoint(text, key)
    } catch (error) {
      if (this.flaw === 'garbage-is-missing') return undefined
      throw error
    }
  }

  async put(key: string, checkpoint: Checkpoint): Promise<void> {
    if (this.#coalescing) {
      assertValidCheckpoint(checkpoint)
      if (!supersedes(checkpoint, await this.get(key))) return
      if (this.#written.has(key)) this.#pending.set(key, decodeCheckpoint(encodeCheckpoint(checkpoint), key))
      else this.raw.set(key, encodeCheckpoint(checkpoint))
      this.#written.add(key)
      return
    }
    if (this.flaw === 'torn-write') {
      // Monotonic and one put at a time per key across handles, but written in two steps: the new
      // sequence first, beside the old cursor, and the cursor a moment later. Resuming from the torn
      // state would skip an event (its sequence is taken as finished, its cursor asks for it again).
      const tails = queues.get(this.#shared) ?? new Map<string, Promise<unknown>>()
      queues.set(this.#shared, tails)
      const run = (tails.get(key) ?? Promise.resolve()).then(async () => {
        assertValidCheckpoint(checkpoint)
        const text = this.raw.get(key)
        const current = text === undefined ? undefined : decodeCheckpoint(text, key)
        if (!supersedes(checkpoint, current)) return
        this.raw.set(key, encodeCheckpoint({ sequence: checkpoint.sequence, cursor: current?.cursor ?? '' }))
        await new Promise((resolve) => setTimeout(resolve, 1))
        this.raw.set(key, encodeCheckpoint(checkpoint))
      })
      tails.set(key, run.catch(() => {}))
      return run
    }
    if (this.flaw === 'validates-after-write') this.raw.set(key, JSON.stringify({ v: 1, ...checkpoint }))
    assertValidCheckpoint(checkpoint)
    const text = this.raw.get(key)
    const current = text === undefined ? undefined : decodeCheckpoint(text, key)
    if (this.flaw === 'not-monotonic' || supersedes(checkpoint, current)) {
      this.raw.set(key, encodeCheckpoint(checkpoint))
      this.#last.set(key, checkpoint)
    }
  }

  async delete(key: string): Promise<void> {
    if (this.flaw !== 'delete-keeps-pending') this.#pending.delete(key)
    if (this.flaw !== 'lost-delete') this.raw.delete(key)
    this.#last.delete(key)
  }
}

async function runAgainst(flaw: Flaw): Promise<CaseResult[]> {
  const runner = createContractRunner()
  const harness = (): StoreHarness => {
    const raw = new Map<string, string>()
    return {
      store: new MapStore(raw, flaw),
      another: () => new MapStore(raw, flaw),
      corrupt: async (key, value) => void raw.set(PREFIX + key, typeof value === 'string' ? value : JSON.stringify(value)),
      neighbour: { write: async (name, value) => void raw.set(name, value), read: async (name) => raw.get(name) },
    }
  }
  checkpointStoreContract(`MapStore(${flaw})`, harness, runner)
  return runner.run()
}

const failed = (results: CaseResult[]) => results.filter((r) => !r.ok).map((r) => r.name.split(' > ')[1])

describe('the exported contract suite', () => {
  it('registers fourteen cases and passes a correct store', async () => {
    const results = await runAgainst('none')
    expect(results).toHaveLength(14)
    expect(results.filter((r) => !r.ok)).toEqual([])
  })

  it('passes a correct store that coalesces puts until flush (as KVNamespaceStore does)', async () => {
    const results = await runAgainst('coalescing')
    expect(results.filter((r) => !r.ok)).toEqual([])
  })

  it.each([
    ['not-monotonic', ['a lower put is a silent no-op', 'an equal put is a silent no-op, even with another cursor', 'puts are strictly monotonic over a mixed sequence']],
    ['garbage-is-missing', ['corrupt stored data is a StoreError("corrupt") on get and put, and is not overwritten', 'a checkpoint written by another format version is a StoreError("version") and is not overwritten']],
    ['validates-after-write', ['a rejected put (invalid checkpoint) leaves the state unchanged']],
    ['shares-objects', ['checkpoints are copied in and out']],
    ['lost-delete', ['delete then a lower put works']],
    ['no-prefix', ["an application's own entry under the same name survives put, delete and clear"]],
    ['clear-forgets-nothing', ['clear() deletes every checkpoint, pending ones too, through every handle; the store works after it']],
    ['clear-takes-everything', ["an application's own entry under the same name survives put, delete and clear"]],
    ['torn-write', ['concurrent puts from several handles converge to the highest and never go backwards']],
    ['delete-keeps-pending', ['delete then a lower put works']],
  ] as const)('fails a store that is %s in the cases for that rule', async (flaw, cases) => {
    const results = await runAgainst(flaw)
    expect(failed(results)).toEqual(expect.arrayContaining([...cases]))
    expect(results).toHaveLength(14)
  })

  it('fails every rule-4 case when the harness cannot corrupt the backend', async () => {
    const runner = createContractRunner()
    checkpointStoreContract('no corrupt()', () => ({ store: new MapStore(new Map(), 'none') }), runner)
    const results = await runner.run()
    expect(failed(results)).toEqual([
      'corrupt stored data is a StoreError("corrupt") on get and put, and is not overwritten',
      'a checkpoint written by another format version is a StoreError("version") and is not overwritten',
      "an application's own entry under the same name survives put, delete and clear",
    ])
    expect(results.find((r) => !r.ok)?.error).toContain('corrupt(key, raw)')
  })
})
