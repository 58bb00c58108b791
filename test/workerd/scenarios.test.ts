// The shared scenarios inside workerd (miniflare), against the built package bundled into a Worker.
// Each scenario runs inside one Worker request and fetches the test server on 127.0.0.1 from there.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Log, LogLevel, Miniflare } from 'miniflare'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { acrossLifetimes, scenarios } from '../scenarios/scenarios.js'
import { type SSEServer, startSSEServer } from '../server/sse-server.js'
import { bundleWorker } from './bundle.js'


interface Result {
  ok: boolean
  error?: string
  stack?: string
  key?: string
}

/**
 * A workerd instance with KV persisted in `kvDir`. No `nodejs_compat` flag: the library must run on
 * plain Workers APIs.
 */
function worker(script: string, kvDir: string, compatibilityDate = '2025-04-01'): Miniflare {
  return new Miniflare({
    modules: true,
    script,
    compatibilityDate,
    kvNamespaces: ['CHECKPOINTS'],
    kvPersist: kvDir,
    log: new Log(LogLevel.WARN),
  })
}

async function call(mf: Miniflare, path: string, params: Record<string, string>): Promise<Result> {
  const url = new URL(path, 'http://worker.test')
  for (const [name, value] of Object.entries(params)) url.searchParams.set(name, value)
  const response = await mf.dispatchFetch(url.href)
  return (await response.json()) as Result
}

function expectOk(result: Result): void {
  if (!result.ok) throw new Error(`${result.error ?? 'failed'}\n--- inside the Worker ---\n${result.stack ?? ''}`)
  expect(result.ok).toBe(true)
}

let server: SSEServer
let script: string
let kvDir: string
let mf: Miniflare

beforeAll(async () => {
  server = await startSSEServer()
  script = await bundleWorker(join(import.meta.dirname, 'fixtures/scenarios/worker.ts'))
  kvDir = await mkdtemp(join(tmpdir(), 'rsse-kv-'))
  mf = worker(script, kvDir)
  await mf.ready
})

afterAll(async () => {
  await mf?.dispose()
  await server?.close()
  if (kvDir) await rm(kvDir, { recursive: true, force: true })
})

describe('scenarios in workerd (Cloudflare Workers runtime)', () => {
  it('the Worker bundle loads in workerd and carries every shared scenario', async () => {
    const names = (await (await mf.dispatchFetch('http://worker.test/list')).json()) as string[]
    expect(names).toEqual(scenarios.map((s) => s.name))
  })

  for (const scenario of scenarios) {
    it(scenario.name, async () => {
      expectOk(await call(mf, '/run', { name: scenario.name, server: server.url }))
    })
  }

  it(`${acrossLifetimes.name}: KV, one invocation then the next in a fresh workerd`, async () => {
    const sid = `workerd-kv-${Date.now()}`
    const first = await call(mf, '/lifetimes/first', { sid, server: server.url })
    expectOk(first)
    // A new workerd process over the same persisted KV: nothing survives but what KV holds.
    const next = worker(script, kvDir)
    try {
      expectOk(await call(next, '/lifetimes/second', { sid, server: server.url, key: first.key ?? '' }))
    } finally {
      await next.dispose()
    }
  })

  it('on a compatibility date before the `cache` request field, a dropped connection still resumes', async () => {
    // Such Workers reject `cache: 'no-store'`; the request falls back to a Cache-Control header.
    const old = worker(script, kvDir, '2024-01-01')
    try {
      expectOk(await call(old, '/run', { name: 'resumes after the server drops the connection, with no event lost or repeated', server: server.url }))
    } finally {
      await old.dispose()
    }
  })
})
