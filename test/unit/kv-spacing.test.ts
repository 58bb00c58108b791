import { describe, expect, it } from 'vitest'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { type KVNamespaceLike, KVNamespaceStore } from '../../src/checkpoint/kv-namespace.js'

// The KV store's write spacing runs on the injected clock and timers (the committer's write-behind),
// not on Date.now/setTimeout. The real binding is exercised in workerd (test/workerd/stores.test.ts).

function mapNamespace() {
  const data = new Map<string, string>()
  const puts: string[] = []
  const binding: KVNamespaceLike = {
    get: async (key) => data.get(key) ?? null,
    put: async (key, value) => void (puts.push(value), data.set(key, value)),
    delete: async (key) => void data.delete(key),
    list: async ({ prefix }) => ({ keys: [...data.keys()].filter((k) => k.startsWith(prefix)).map((name) => ({ name })), list_complete: true }),
  }
  return { binding, data, puts }
}

describe('KVNamespaceStore write spacing', () => {
  it('defers puts inside minWriteInterval on the injected timers and writes the newest when they fire', async () => {
    let now = 5_000
    const timers: Array<{ fn: () => void; ms: number }> = []
    const runtime = { now: () => now, setTimeout: (fn: () => void, ms: number) => timers.push({ fn, ms }), clearTimeout: () => {} }
    const { binding, data, puts } = mapNamespace()
    const store = new KVNamespaceStore(binding, { runtime })
    await store.put('k', { sequence: 1, cursor: 'c1' })
    for (let s = 2; s <= 5; s++) await store.put('k', { sequence: s, cursor: `c${s}` })
    expect(puts).toHaveLength(1)
    expect(timers.map((t) => t.ms)).toEqual([1000])
    expect((await store.get('k'))?.sequence).toBe(5)
    now += 1000
    timers.shift()!.fn()
    await store.flush()
    expect(puts).toHaveLength(2)
    expect(JSON.parse(data.get('resumable-sse:k')!)).toMatchObject({ sequence: 5 })
  })
})

// A Worker isolate lives on across requests and users: what the store keeps per key must go once
// the key has nothing pending and its spacing no longer matters, or it grows with every user served.
describe('KVNamespaceStore in a long-lived isolate', () => {
  /** A clock the test moves; its timers run when the test says (`fire`). */
  function fakeClock() {
    const clock = { now: 0, timers: [] as Array<() => void> }
    const runtime = { now: () => clock.now, setTimeout: (fn: () => void) => clock.timers.push(fn), clearTimeout: () => {} }
    const fire = () => {
      for (const fn of clock.timers.splice(0)) fn()
    }
    return { clock, runtime, fire }
  }
  const checkpoint = (sequence: number) => ({ sequence, cursor: `c${sequence}` })
  const later = 10 * 60_000 // long after any interval

  /** `global.gc` without a command-line flag. */
  function collectGarbage(): () => void {
    setFlagsFromString('--expose-gc')
    return runInNewContext('gc') as () => void
  }

  it('lets go of a key (and the handle that wrote it) once its write is done and its interval over', async () => {
    const gc = collectGarbage()
    const { clock, runtime } = fakeClock()
    const { binding, puts } = mapNamespace()
    // One handle per request, as a Worker makes them; each request writes its user's key and flushes.
    const request = async (user: number) => {
      const store = new KVNamespaceStore(binding, { runtime })
      await store.put(`user-${user}`, checkpoint(1))
      await store.flush()
      return new WeakRef(store)
    }
    const earlier: WeakRef<KVNamespaceStore>[] = []
    for (let user = 0; user < 300; user++) earlier.push(await request(user))
    clock.now += later
    for (let user = 300; user < 310; user++) await request(user)
    await new Promise((resolve) => setTimeout(resolve, 0)) // WeakRefs hold their target until the task ends
    gc()
    expect(earlier.filter((ref) => ref.deref() !== undefined)).toHaveLength(0)
    expect(puts).toHaveLength(310)
  })

  it("clear() long after does not delete again every key the isolate ever wrote (each is a KV operation)", async () => {
    const { clock, runtime } = fakeClock()
    const { binding } = mapNamespace()
    const deleted: string[] = []
    const counting: KVNamespaceLike = { ...binding, delete: (key) => (deleted.push(key), binding.delete(key)) }
    const store = new KVNamespaceStore(counting, { runtime })
    for (let user = 0; user < 100; user++) await store.put(`user-${user}`, checkpoint(1))
    await store.clear()
    expect(deleted).toHaveLength(100)
    clock.now += later
    await store.clear()
    expect(deleted).toHaveLength(100)
  })

  it("clear() still deletes a key written here a moment ago that KV's list does not show yet", async () => {
    const { clock, runtime } = fakeClock()
    const { binding, data } = mapNamespace()
    const lagging: KVNamespaceLike = { ...binding, list: async () => ({ keys: [], list_complete: true }) }
    const store = new KVNamespaceStore(lagging, { runtime })
    await store.put('k', checkpoint(1))
    clock.now += 5_000
    for (let user = 0; user < 300; user++) await store.put(`user-${user}`, checkpoint(1)) // forgetting runs meanwhile
    await store.flush()
    await store.clear()
    expect(data.has('resumable-sse:k')).toBe(false)
  })

  it('a key forgotten meanwhile is still written at most once per minWriteInterval, the newest last', async () => {
    const { clock, runtime, fire } = fakeClock()
    const { binding, data, puts } = mapNamespace()
    const store = new KVNamespaceStore(binding, { runtime })
    await store.put('k', checkpoint(1))
    // Many other keys and flushes in between: whatever the store forgets, it keeps k's spacing.
    for (let user = 0; user < 300; user++) {
      await store.put(`user-${user}`, checkpoint(1))
      await store.flush()
    }
    clock.now += 500
    await store.put('k', checkpoint(2))
    await store.put('k', checkpoint(3))
    expect(puts).toHaveLength(301) // k's second write waits for its interval
    expect((await store.get('k'))?.sequence).toBe(3)
    clock.now += 500
    fire()
    await store.flush()
    expect(JSON.parse(data.get('resumable-sse:k')!)).toMatchObject({ sequence: 3 })
    expect(puts).toHaveLength(302)
    // Long after, a put of k is written at once, and a lower one is still refused.
    clock.now += later
    await store.put('k', checkpoint(4))
    expect(puts).toHaveLength(303)
    await store.put('k', checkpoint(2))
    expect((await store.get('k'))?.sequence).toBe(4)
    expect(puts).toHaveLength(303)
  })

  it('a put racing the forgetting of its key (other keys added meanwhile) still keeps its spacing', async () => {
    const { clock, runtime, fire } = fakeClock()
    const { binding, data } = mapNamespace()
    const writesOfK: string[] = []
    const counting: KVNamespaceLike = { ...binding, put: (key, value) => (key.endsWith(':k') && writesOfK.push(value), binding.put(key, value)) }
    const store = new KVNamespaceStore(counting, { runtime })
    await store.put('k', checkpoint(1))
    clock.now += later
    // Not awaited: while k's put reads KV, 100 new keys arrive and the store forgets idle keys.
    const racing = [store.put('k', checkpoint(2)), ...Array.from({ length: 100 }, (_, user) => store.put(`user-${user}`, checkpoint(1)))]
    await Promise.all(racing)
    await store.put('k', checkpoint(3)) // inside k's interval: deferred, not a second write at once
    expect(writesOfK).toHaveLength(2)
    expect((await store.get('k'))?.sequence).toBe(3)
    clock.now += 1000
    fire()
    await store.flush()
    expect(writesOfK).toHaveLength(3)
    expect(JSON.parse(data.get('resumable-sse:k')!)).toMatchObject({ sequence: 3 })
  })

  it('a failed put changes nothing, and the key is forgotten afterwards like any other', async () => {
    const { clock, runtime } = fakeClock()
    const { binding, data } = mapNamespace()
    let fail = true
    const flaky: KVNamespaceLike = { ...binding, put: async (key, value) => (fail ? Promise.reject(new Error('429')) : binding.put(key, value)) }
    const store = new KVNamespaceStore(flaky, { runtime })
    await expect(store.put('k', checkpoint(1))).rejects.toMatchObject({ name: 'StoreError' })
    expect(await store.get('k')).toBeUndefined()
    fail = false
    clock.now += later
    await store.flush()
    await store.put('k', checkpoint(2))
    expect(JSON.parse(data.get('resumable-sse:k')!)).toMatchObject({ sequence: 2 })
  })
})

// KV is eventually consistent: a read may be served from a cache up to ~60 s stale, even in the
// isolate that wrote. The store remembers what it wrote, so one isolate still sees its own writes.
describe('KVNamespaceStore over a KV that reads stale', () => {
  /** A binding whose `get` keeps answering what it answered first for each key (a stale cache). */
  function staleNamespace() {
    const { binding, data } = mapNamespace()
    const cache = new Map<string, string | null>()
    const stale: KVNamespaceLike = {
      ...binding,
      get: async (key) => {
        if (!cache.has(key)) cache.set(key, data.get(key) ?? null)
        return cache.get(key)!
      },
    }
    return { binding: stale, data }
  }
  const runtime = { now: () => 0, setTimeout: () => 0, clearTimeout: () => {} }

  it('get returns the checkpoint this isolate wrote, not the stale one KV reads', async () => {
    const { binding, data } = staleNamespace()
    const store = new KVNamespaceStore(binding, { runtime, minWriteInterval: 0 })
    await store.put('k', { sequence: 1, cursor: 'c1' })
    await store.put('k', { sequence: 2, cursor: 'c2' })
    expect(JSON.parse(data.get('resumable-sse:k')!)).toMatchObject({ sequence: 2 })
    expect(await store.get('k')).toMatchObject({ sequence: 2, cursor: 'c2' })
    // A lower put is refused against what this isolate wrote, though KV still reads sequence 1.
    await store.put('k', { sequence: 2, cursor: 'again' })
    expect(JSON.parse(data.get('resumable-sse:k')!)).toMatchObject({ sequence: 2, cursor: 'c2' })
  })

  it('after a delete here, a stale read does not bring the deleted checkpoint back nor refuse a lower put', async () => {
    const { binding, data } = staleNamespace()
    const store = new KVNamespaceStore(binding, { runtime, minWriteInterval: 0 })
    data.set('resumable-sse:k', JSON.stringify({ v: 1, sequence: 5, cursor: 'c5' }))
    expect(await store.get('k')).toMatchObject({ sequence: 5 }) // KV's cache now holds sequence 5
    await store.delete('k')
    expect(await store.get('k')).toBeUndefined()
    await store.put('k', { sequence: 1, cursor: 'new' }) // a new history (the committer's reset)
    expect(JSON.parse(data.get('resumable-sse:k')!)).toMatchObject({ sequence: 1, cursor: 'new' })
    expect(await store.get('k')).toMatchObject({ sequence: 1, cursor: 'new' })
  })
})
