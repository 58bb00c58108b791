import { describe, expect, it } from 'vitest'
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
