import { describe, expect, it } from 'vitest'
import { Committer, WriteBehind } from '../../src/checkpoint/committer.js'
import type { Checkpoint, CheckpointStore } from '../../src/checkpoint/contract.js'
import { MemoryStore } from '../../src/checkpoint/memory.js'
import { StoreError } from '../../src/errors.js'
import { subscribe } from '../../src/subscribe.js'

/** A MemoryStore whose puts wait for the test to release them, and that counts them. */
class GatedStore implements CheckpointStore {
  readonly inner = new MemoryStore()
  puts: Checkpoint[] = []
  gates: Array<() => void> = []
  failNext = 0
  get = (key: string) => this.inner.get(key)
  delete = (key: string) => this.inner.delete(key)
  async put(key: string, checkpoint: Checkpoint) {
    this.puts.push(checkpoint)
    await new Promise<void>((resolve) => this.gates.push(resolve))
    if (this.failNext > 0) {
      this.failNext--
      throw Object.assign(new Error('disk full'), { name: 'QuotaExceededError' })
    }
    await this.inner.put(key, checkpoint)
  }
  release() {
    const gates = this.gates
    this.gates = []
    for (const gate of gates) gate()
  }
}

/** A fixed clock with real timers. */
const clock = (now: number) => ({ now: () => now, setTimeout: (fn: () => void, ms: number) => setTimeout(fn, ms), clearTimeout: (h: unknown) => clearTimeout(h as ReturnType<typeof setTimeout>) })
const pos = (sequence: number) => ({ sequence, cursor: String(sequence) })
const tick = () => new Promise((resolve) => setTimeout(resolve, 0))

describe('committer', () => {
  it('has at most one put in flight and writes only the newest position next', async () => {
    const store = new GatedStore()
    const committer = new Committer(store, 'k', clock(1), 0, () => {})
    for (let i = 1; i <= 100; i++) committer.commit(pos(i))
    expect(store.puts.map((p) => p.sequence)).toEqual([1])
    store.release()
    await tick()
    expect(store.puts.map((p) => p.sequence)).toEqual([1, 100])
    store.release()
    await committer.flush()
    expect((await store.get('k'))?.sequence).toBe(100)
    expect(store.puts).toHaveLength(2)
  })
  it('ignores positions at or below what it already has', async () => {
    const store = new MemoryStore()
    const committer = new Committer(store, 'k', clock(1), 0, () => {}, { sequence: 10, cursor: '10' })
    committer.commit(pos(10))
    committer.commit(pos(3))
    await committer.flush()
    expect(await store.get('k')).toBeUndefined()
    expect(committer.checkpoint?.sequence).toBe(10)
  })
  it('a failed put is reported as a typed StoreError, and the position is retried on flush', async () => {
    const store = new GatedStore()
    const errors: StoreError[] = []
    const committer = new Committer(store, 'k', clock(1), 0, (e) => errors.push(e))
    store.failNext = 1
    committer.commit(pos(5))
    store.release()
    await tick()
    expect(errors).toHaveLength(1)
    expect(errors[0]).toBeInstanceOf(StoreError)
    expect(errors[0]?.reason).toBe('quota')
    expect(await store.get('k')).toBeUndefined()
    const flushed = committer.flush()
    await tick()
    store.release()
    await flushed
    expect((await store.get('k'))?.sequence).toBe(5)
  })
  it('flush rejects when the store keeps failing, and nothing moved', async () => {
    const store: CheckpointStore = {
      get: async () => undefined,
      delete: async () => {},
      put: async () => {
        throw new Error('boom')
      },
    }
    const committer = new Committer(store, 'k', clock(1), 0, () => {})
    committer.commit(pos(1))
    await expect(committer.flush()).rejects.toMatchObject({ code: 'store', reason: 'unavailable' })
  })
  it('flush also flushes a store with its own write-behind', async () => {
    let flushed = 0
    const store = Object.assign(new MemoryStore(), { flush: async () => void flushed++ })
    const committer = new Committer(store, 'k', clock(1), 0, () => {})
    committer.commit(pos(1))
    await committer.flush()
    expect(flushed).toBe(1)
  })
  it('stamps committedAt from the injected clock and carries meta', async () => {
    const store = new MemoryStore()
    const committer = new Committer(store, 'k', clock(1234), 0, () => {})
    committer.commit({ sequence: 2, cursor: 'x', meta: { skip: '1' } })
    await committer.flush()
    expect(await store.get('k')).toEqual({ sequence: 2, cursor: 'x', meta: { skip: '1' }, committedAt: 1234 })
  })
  it('spaces writes at least `interval` apart, writing only the newest position each time', async () => {
    const store = new GatedStore()
    let now = 0
    const timers: Array<{ fn: () => void; at: number }> = []
    const runtime = {
      now: () => now,
      setTimeout: (fn: () => void, ms: number) => timers.push({ fn, at: now + ms }),
      clearTimeout: () => {},
    }
    const committer = new Committer(store, 'k', runtime, 50, () => {})
    committer.commit(pos(1)) // first write goes at once
    expect(store.puts.map((p) => p.sequence)).toEqual([1])
    store.release()
    await tick()
    now = 10
    for (let i = 2; i <= 40; i++) committer.commit(pos(i))
    expect(store.puts).toHaveLength(1) // waits for the interval
    expect(timers.map((t) => t.at)).toEqual([50])
    now = 50
    timers.shift()!.fn()
    expect(store.puts.map((p) => p.sequence)).toEqual([1, 40])
    store.release()
    await tick()
    await committer.flush()
    expect((await store.get('k'))?.sequence).toBe(40)
  })
  it('flush writes at once without waiting for the interval, and leaves no timer behind', async () => {
    const store = new MemoryStore()
    const live = new Set<unknown>()
    const runtime = {
      now: () => Date.now(),
      setTimeout: (fn: () => void, ms: number) => {
        const h = setTimeout(() => {
          live.delete(h)
          fn()
        }, ms)
        live.add(h)
        return h
      },
      clearTimeout: (h: unknown) => {
        live.delete(h)
        clearTimeout(h as ReturnType<typeof setTimeout>)
      },
    }
    const committer = new Committer(store, 'k', runtime, 60_000, () => {})
    committer.commit(pos(1))
    await tick()
    committer.commit(pos(2))
    expect(live.size).toBe(1)
    await committer.flush()
    expect((await store.get('k'))?.sequence).toBe(2)
    expect(live.size).toBe(0)
  })
})

describe('committer hand-over (close before a Worker request ends)', () => {
  it('flush() calls store.put with the newest position before it returns, even beside a spaced write in flight', async () => {
    const store = new GatedStore()
    const committer = new Committer(store, 'k', clock(1), 60_000, () => {})
    committer.commit(pos(1)) // written at once; stays in flight (gated)
    committer.commit(pos(2)) // waits for the interval
    expect(store.puts.map((p) => p.sequence)).toEqual([1])
    const flushed = committer.flush()
    // Synchronously: a host's `waitUntil(store.flush())` called right after close() must find it.
    expect(store.puts.map((p) => p.sequence)).toEqual([1, 2])
    store.release()
    await flushed
    expect((await store.get('k'))?.sequence).toBe(2)
  })

  it('two flushes share the one write of the newest position', async () => {
    const store = new GatedStore()
    const committer = new Committer(store, 'k', clock(1), 60_000, () => {})
    committer.commit(pos(1))
    const both = Promise.all([committer.flush(), committer.flush()])
    expect(store.puts.map((p) => p.sequence)).toEqual([1])
    store.release()
    await both
    expect(store.puts).toHaveLength(1)
  })
})

describe('WriteBehind (the committer and KVNamespaceStore share it)', () => {
  it('spaced flush waits out the interval on the injected clock; an unspaced one does not', async () => {
    let now = 0
    const timers: Array<{ fn: () => void; ms: number }> = []
    const runtime = { now: () => now, setTimeout: (fn: () => void, ms: number) => timers.push({ fn, ms }), clearTimeout: () => {} }
    const written: number[] = []
    const writes = new WriteBehind<number>(runtime, 1000, async (value) => void written.push(value))
    await writes.offer(1)
    writes.offer(2)
    expect(written).toEqual([1])
    const spaced = writes.flush(true)
    await tick()
    expect(written).toEqual([1]) // still waiting: the sleep is on the injected timers
    now = 1000
    for (const timer of timers.splice(0)) timer.fn()
    await spaced
    expect(written).toEqual([1, 2])
    writes.offer(3)
    await writes.flush(false)
    expect(written).toEqual([1, 2, 3])
  })
})

describe('close() hands the last checkpoint to the store before its first await', () => {
  it('store.put is called with the event in hand before close() returns, even while an earlier put is in flight', async () => {
    const puts: number[] = []
    const store = new MemoryStore()
    const put = store.put.bind(store)
    let releaseFirst!: () => void
    const firstHeld = new Promise<void>((resolve) => (releaseFirst = resolve))
    // The first write hangs (a slow KV or IndexedDB write) while the consumer moves on.
    store.put = async (key, checkpoint) => {
      puts.push(checkpoint.sequence)
      if (checkpoint.sequence === 1) await firstHeld
      return put(key, checkpoint)
    }
    // The stream stays open: the consumer stops after three events, as a Worker answering a batch does.
    const fakeFetch: typeof fetch = async () =>
      new Response(
        new ReadableStream({
          start(controller) {
            controller.enqueue(new TextEncoder().encode('id: 1\ndata: a\n\nid: 2\ndata: b\n\nid: 3\ndata: c\n\n'))
          },
        }),
        { headers: { 'content-type': 'text/event-stream' } },
      )
    const sub = subscribe({ url: 'http://127.0.0.1:9/feed', fetch: fakeFetch, store, key: 'k', commitOnClose: true, commitInterval: 60_000 })
    const events = sub[Symbol.asyncIterator]()
    for (let i = 0; i < 3; i++) await events.next()
    await tick()
    expect(puts).toEqual([1]) // 1 in flight, 2 waits behind it, 3 is in hand
    const closing = sub.close()
    expect(puts).toEqual([1, 3])
    releaseFirst()
    await closing
    expect((await store.get('k'))?.sequence).toBe(3)
  })
})
