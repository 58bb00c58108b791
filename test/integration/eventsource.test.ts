// The EventSource scenarios (a port of web-platform-tests' eventsource/ behaviours) against the built
// `resumable-sse/eventsource` in Node: the ESM build through `import`, the CommonJS build through
// Node's own `require`.
import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { EventSource as TypedEventSource } from '../../src/eventsource/index.js'
import { subscribe } from '../../src/subscribe.js'
import { type ESLib, esScenarios } from '../scenarios/eventsource.js'
import { type SSEServer, startSSEServer } from '../server/sse-server.js'
import { fastTimers } from '../support/consume.js'

const DIST = join(import.meta.dirname, '../../dist')

async function load(format: 'ESM' | 'CommonJS'): Promise<ESLib> {
  if (!existsSync(join(DIST, 'eventsource.js'))) throw new Error('dist/ is missing: run `npx tsup` (npm test builds first)')
  if (format === 'CommonJS') {
    const require = createRequire(import.meta.url)
    return { ...(require(join(DIST, 'eventsource.cjs')) as object), MemoryStore: (require(join(DIST, 'index.cjs')) as ESLib).MemoryStore } as ESLib
  }
  const es = (await import(/* @vite-ignore */ pathToFileURL(join(DIST, 'eventsource.js')).href)) as object
  const core = (await import(/* @vite-ignore */ pathToFileURL(join(DIST, 'index.js')).href)) as ESLib
  return { ...es, MemoryStore: core.MemoryStore } as ESLib
}

let server: SSEServer

beforeAll(async () => {
  server = await startSSEServer()
})

afterAll(async () => {
  await server?.close()
})

for (const format of ['ESM', 'CommonJS'] as const) {
  describe(`EventSource scenarios in Node (${format} build)`, () => {
    for (const scenario of esScenarios) {
      it(scenario.name, async () => {
        await scenario.run({ lib: await load(format), server: server.url, tag: `node-${format}` })
      })
    }

    it('never touches globalThis.EventSource (Node 20 has none)', async () => {
      const before = Object.getOwnPropertyDescriptor(globalThis, 'EventSource')
      await load(format)
      expect(Object.getOwnPropertyDescriptor(globalThis, 'EventSource')).toEqual(before)
    })
  })
}

describe('EventSource types', () => {
  it('types listeners like lib.dom does for the native EventSource (no cast for `data`)', () => {
    // Compile-time: `npx tsc -p tsconfig.test.json` fails if these need a cast.
    const use = (es: TypedEventSource): void => {
      es.onmessage = (event) => void event.data.toUpperCase()
      es.addEventListener('message', (event) => void event.lastEventId.length)
      es.addEventListener('tick', (event) => void event.data.length)
      es.addEventListener('error', (event) => void event.type)
    }
    expect(typeof use).toBe('function')
  })
})

describe('EventSource order at the tightest timing (a body that is complete before it is read)', () => {
  const sse = (text: string) => new Response(text, { headers: { 'content-type': 'text/event-stream' } })

  async function observe(init: Record<string, unknown>): Promise<string[]> {
    const { EventSource } = await load('ESM')
    const es = new EventSource('http://feed.invalid/', init)
    const log: string[] = []
    await new Promise<void>((resolve) => {
      es.onopen = () => log.push(`open ${es.readyState}`)
      es.onmessage = (event) => log.push(`${event.data} ${es.readyState}`)
      es.onerror = () => {
        log.push(`error ${es.readyState}`)
        if (es.readyState === es.CLOSED) resolve()
      }
    })
    return log
  }

  it('messages that arrive with the end of the stream come before the error (CONNECTING)', async () => {
    let n = 0
    const fetch = async () => (++n === 1 ? sse('retry: 0\n\ndata: a\n\ndata: b\n\n') : new Response(null, { status: 204 }))
    expect(await observe({ fetch })).toEqual(['open 1', 'a 1', 'b 1', 'error 0', 'error 2'])
  })

  it('events before a fatal one in the same chunk are dispatched, then error (CLOSED)', async () => {
    const fetch = async () => sse(`data: a\n\ndata: b\n\ndata: ${'x'.repeat(50)}\n\n`)
    expect(await observe({ fetch, maxEventSize: 10 })).toEqual(['open 1', 'a 1', 'b 1', 'error 2'])
  })
})

describe('the `credentials` request option (what withCredentials rides on)', () => {
  async function credentialsSent(options: { credentials?: RequestCredentials }): Promise<RequestCredentials> {
    let seen: Request | undefined
    const sub = subscribe({
      url: 'http://feed.invalid/',
      ...options,
      fetch: async (input) => {
        seen = input as Request
        return new Response('data: a\n\n', { headers: { 'content-type': 'text/event-stream' } })
      },
    })
    for await (const _ of sub) break
    return seen!.credentials
  }

  it("reaches the Request ('include'), and leaves fetch's default alone when not given", async () => {
    expect(await credentialsSent({ credentials: 'include' })).toBe('include')
    expect(await credentialsSent({ credentials: 'omit' })).toBe('omit')
    expect(await credentialsSent({})).toBe('same-origin')
  })
})

// Regression (rstd): the class waited at most `backoff.maxDelay` (30 s) whatever `retry:` said, and
// the standard sets the reconnection time to the value as sent (a browser waits a `retry: 60000`).
describe('the reconnection time is what `retry:` says (the built class)', () => {
  const sse = (text: string) => new Response(text, { headers: { 'content-type': 'text/event-stream' } })

  async function reconnectDelay(retry: string): Promise<number> {
    const { EventSource } = await load('ESM')
    const timers = fastTimers()
    let n = 0
    const fetch = async () => (++n === 1 ? sse(`retry: ${retry}\n\ndata: a\n\n`) : new Response(null, { status: 204 }))
    // Timers are shortened to a few ms (the delays asked for are recorded), so the test does not wait.
    const es = new EventSource('http://feed.invalid/', { fetch, runtime: timers.runtime })
    await new Promise<void>((resolve) => {
      es.onerror = () => es.readyState === es.CLOSED && resolve()
    })
    expect(n).toBe(2)
    return Math.max(...timers.delays)
  }

  it('a minute, as sent; a value past what a timer can wait is clamped to the longest timer, never 0', async () => {
    expect(await reconnectDelay('60000')).toBe(60_000)
    expect(await reconnectDelay('99999999999999999999')).toBe(2 ** 31 - 1)
  })
})
