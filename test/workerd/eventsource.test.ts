// The EventSource scenarios (web-platform-tests' eventsource/ behaviours) inside workerd (miniflare),
// against the built `resumable-sse/eventsource` bundled into a Worker. Each scenario runs inside one
// Worker request and reads the test server on 127.0.0.1 from there.
import { join } from 'node:path'
import { Log, LogLevel, Miniflare } from 'miniflare'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { esScenarios } from '../scenarios/eventsource.js'
import { type SSEServer, startSSEServer } from '../server/sse-server.js'
import { bundleWorker } from './bundle.js'

interface Result {
  ok: boolean
  error?: string
  stack?: string
  globalIsOurs?: boolean
}

let server: SSEServer
let mf: Miniflare

beforeAll(async () => {
  server = await startSSEServer()
  const script = await bundleWorker(join(import.meta.dirname, 'fixtures/eventsource/worker.ts'))
  // No nodejs_compat: plain Workers APIs only.
  mf = new Miniflare({ modules: true, script, compatibilityDate: '2025-04-01', log: new Log(LogLevel.WARN) })
  await mf.ready
})

afterAll(async () => {
  await mf?.dispose()
  await server?.close()
})

describe('EventSource scenarios in workerd (Cloudflare Workers runtime)', () => {
  it('the Worker bundle carries every scenario', async () => {
    const names = (await (await mf.dispatchFetch('http://worker.test/list')).json()) as string[]
    expect(names).toEqual(esScenarios.map((s) => s.name))
  })

  for (const scenario of esScenarios) {
    it(scenario.name, async () => {
      const url = new URL('http://worker.test/run')
      url.searchParams.set('name', scenario.name)
      url.searchParams.set('server', server.url)
      const result = (await (await mf.dispatchFetch(url.href)).json()) as Result
      if (!result.ok) throw new Error(`${result.error ?? 'failed'}\n--- inside the Worker ---\n${result.stack ?? ''}`)
      // Importing the class never replaces the global EventSource (recent workerd has its own).
      expect(result.globalIsOurs).toBe(false)
    })
  }
})
