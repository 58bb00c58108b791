// The Cloudflare stores inside workerd (miniflare): a bundled Worker with a KV binding and a Durable
// Object runs the exported contract suite from dist/ and returns the results as JSON.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Log, LogLevel, Miniflare } from 'miniflare'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type CaseResult, checkpointStoreContract, createContractRunner } from '../../src/testing/index.js'
import { acrossLifetimes } from '../scenarios/scenarios.js'
import { type SSEServer, startSSEServer } from '../server/sse-server.js'
import { bundleWorker } from './bundle.js'

/** The case names the suite registers, computed here from the source, to compare with the host's. */
function expectedCases(name: string): string[] {
  const runner = createContractRunner()
  checkpointStoreContract(name, () => ({ store: undefined as never }), runner)
  return runner.names()
}

/**
 * A workerd instance; KV in memory, Durable Object storage in memory or persisted in `doDir` (so a
 * later instance sees only what an earlier one made durable). No nodejs_compat flag: plain Workers APIs.
 */
function worker(script: string, doDir?: string): Miniflare {
  return new Miniflare({
    modules: true,
    script,
    compatibilityDate: '2025-04-01',
    kvNamespaces: ['CHECKPOINTS'],
    durableObjects: { STORES: 'StoreObject' },
    ...(doDir === undefined ? {} : { durableObjectsPersist: doDir }),
    log: new Log(LogLevel.WARN),
  })
}

let script: string
let mf: Miniflare
let server: SSEServer

beforeAll(async () => {
  script = await bundleWorker(join(import.meta.dirname, 'fixtures/stores/worker.ts'))
  mf = worker(script)
  server = await startSSEServer()
  await mf.ready
})

afterAll(async () => {
  await mf?.dispose()
  await server?.close()
})

async function get<T>(path: string, instance = mf): Promise<T> {
  const response = await instance.dispatchFetch(`http://worker.test${path}`)
  if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`)
  return (await response.json()) as T
}

describe('Cloudflare stores in workerd', () => {
  it.each([
    ['/contract/kv', 'KVNamespaceStore (workerd)'],
    ['/contract/do', 'DurableObjectStore (workerd)'],
  ])('%s: every contract case passes inside workerd', async (path, name) => {
    const results = await get<CaseResult[]>(path)
    expect(results.filter((r) => !r.ok)).toEqual([])
    expect(results.map((r) => r.name)).toEqual(expectedCases(name))
    expect(results).toHaveLength(14)
  })

  it('KVNamespaceStore writes a burst of 50 puts at most twice, and flush makes the newest durable', async () => {
    const burst = await get<{ newestBeforeFlush: number; writesBeforeFlush: number; writesAfterFlush: number; durable: unknown }>('/burst/kv')
    expect(burst.newestBeforeFlush).toBe(50)
    expect(burst.writesBeforeFlush).toBeGreaterThanOrEqual(1)
    expect(burst.writesBeforeFlush).toBeLessThanOrEqual(2)
    expect(burst.writesAfterFlush).toBe(2) // the first put at once, then the newest of the other 49
    expect(burst.durable).toEqual({ v: 1, sequence: 50, cursor: 'c50' })
  })

  it('KVNamespaceStore: a refused write rejects the put; a refused deferred write rejects flush and the next flush retries it', async () => {
    const outcome = await get<Record<string, unknown>>('/faults/kv')
    const refused = { name: 'StoreError', code: 'store', reason: 'unavailable', cause: 'KV PUT failed: 429 Too Many Requests' }
    expect(outcome).toEqual({
      immediate: expect.objectContaining(refused),
      afterImmediate: { v: 1, sequence: 1, cursor: 'c1' },
      deferred: 'resolved',
      firstFlush: expect.objectContaining(refused),
      seenWhileFailing: 3,
      secondFlush: 'resolved',
      durable: { v: 1, sequence: 3, cursor: 'c3' },
    })
  })

  it('KVNamespaceStore: a put not awaited, then ctx.waitUntil(store.flush()), lands although the response went first', async () => {
    const { key } = await get<{ key: string }>('/race/kv')
    const kv = (await mf.getKVNamespace('CHECKPOINTS')) as unknown as { get(key: string, type: 'text'): Promise<string | null> }
    let stored: unknown
    for (let i = 0; i < 40; i++) {
      stored = JSON.parse((await kv.get(key, 'text')) ?? 'null')
      if ((stored as { sequence?: number } | null)?.sequence === 2) break
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    expect(stored).toEqual({ v: 1, sequence: 2, cursor: 'c2' })
  })

  it("KVNamespaceStore.clear() follows KV's list cursor past one page, drops pending writes, and leaves the app's keys", async () => {
    expect(await get('/clear/kv')).toEqual({ left: 0, app: 'mine' })
  })

  it('a missing or wrong binding is a ConfigError that says so, from the constructor', async () => {
    const outcome = await get<Record<string, { name: string; code: string; message: string }>>('/bindings')
    expect(Object.keys(outcome)).toHaveLength(6)
    for (const [attempt, error] of Object.entries(outcome)) {
      expect(error, attempt).toMatchObject({ name: 'ConfigError', code: 'config' })
      expect(error.message, attempt).toMatch(attempt.includes('prefix') ? /`prefix`/ : /binding/)
    }
    expect(outcome['KVNamespaceStore(undefined)']!.message).toContain('got undefined')
    expect(outcome['KVNamespaceStore(the DO namespace)']!.message).toMatch(/one without put\(\)/)
  })

  it(`${acrossLifetimes.name}: DurableObjectStore, one invocation then the next in a fresh workerd`, async () => {
    const sid = `workerd-do-${Date.now()}`
    const query = `sid=${sid}&server=${encodeURIComponent(server.url)}`
    // Each lifetime in its own workerd process over one persisted Durable Object storage; the first
    // is gone before the second starts, so only what the store made durable carries over.
    const dir = await mkdtemp(join(tmpdir(), 'rsse-do-lifetimes-'))
    try {
      const earlier = worker(script, dir)
      let first: { ok: boolean; key?: string; error?: string; stack?: string }
      try {
        first = await get(`/lifetimes/first?${query}`, earlier)
      } finally {
        await earlier.dispose()
      }
      if (!first.ok) throw new Error(`${first.error}\n${first.stack}`)
      const later = worker(script, dir)
      try {
        const second = await get<{ ok: boolean; error?: string; stack?: string }>(`/lifetimes/second?${query}&key=${first.key}`, later)
        if (!second.ok) throw new Error(`${second.error}\n${second.stack}`)
        expect(second.ok).toBe(true)
      } finally {
        await later.dispose()
      }
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
