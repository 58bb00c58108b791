// Regressions found by a review of the built package as users exercise it (before the 0.x release):
// each test failed before its fix.
import http from 'node:http'
import { afterEach, describe, expect, it } from 'vitest'
import { EventTooLargeError, MemoryStore, StoreError, ConfigError, subscribe, type Checkpoint } from '../../src/index.js'
import { EventSource } from '../../src/eventsource/index.js'
import { consume } from '../support/consume.js'

const SSE = { 'content-type': 'text/event-stream' }
const servers: http.Server[] = []
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))))
})

async function serve(handler: http.RequestListener): Promise<string> {
  const server = http.createServer(handler)
  servers.push(server)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`
}

/** Opens an EventSource and resolves with the first message's data (or the first error). */
function firstMessage(source: EventSource): Promise<string> {
  return new Promise((resolve, reject) => {
    source.onmessage = (event) => {
      source.close()
      resolve(event.data)
    }
    source.onerror = () => {
      if (source.readyState === EventSource.CLOSED) reject(new Error('closed'))
    }
  })
}

describe('EventSource class: what the `eventsource` package and the native class do', () => {
  it('calls a custom fetch as fetch(url, init) with plain-object headers, so an `eventsource`-style wrapper works', async () => {
    const seen: string[] = []
    const url = await serve((req, res) => {
      seen.push(`${req.headers.authorization} ${req.headers.accept}`)
      res.writeHead(200, SSE).end('data: hello\n\n')
    })
    // The wrapper from the `eventsource` package's README.
    const source = new EventSource(url, {
      fetch: (input, init) => fetch(input, { ...init, headers: { ...(init!.headers as Record<string, string>), Authorization: 'Bearer t' } }),
    })
    expect(await firstMessage(source)).toBe('hello')
    expect(seen).toEqual(['Bearer t text/event-stream'])
  })

  it('follows a redirect to another origin, as the native EventSource does (subscribe refuses it by default)', async () => {
    const target = await serve((_, res) => res.writeHead(200, SSE).end('data: moved\n\n'))
    const origin = await serve((_, res) => res.writeHead(302, { location: `${target}/feed` }).end())
    expect(await firstMessage(new EventSource(`${origin}/feed`))).toBe('moved')
  })

  it('has `role`, like a subscription (`solo` outside browsers)', async () => {
    const url = await serve((_, res) => res.writeHead(200, SSE).end('data: x\n\n'))
    const source = new EventSource(url, { shareAcrossTabs: true })
    expect(source.role).toBe('solo')
    source.close()
  })
})

describe('cursors that no server could have sent are refused before any request', () => {
  const storeWith = (checkpoint: Checkpoint) => {
    const store = new MemoryStore()
    store.get = async () => checkpoint
    return store
  }
  for (const cursor of ['a\nb', 'a\rb', 'a\0b', '\ud800x']) {
    it(`a stored cursor ${JSON.stringify(cursor)} is StoreError('corrupt'); as \`from\` it is a ConfigError`, async () => {
      let requests = 0
      const fetch = (async () => {
        requests++
        return new Response('', { headers: SSE })
      }) as typeof globalThis.fetch
      const result = await consume({ url: 'http://feed.test/', fetch, store: storeWith({ sequence: 1, cursor }), maxRetries: 1 })
      expect(result.error).toBeInstanceOf(StoreError)
      expect((result.error as StoreError).reason).toBe('corrupt')
      expect(requests).toBe(0)
      expect(() => subscribe({ url: 'http://feed.test/', fetch, from: { sequence: 1, cursor } })).toThrow(ConfigError)
    })
  }
})

it('an id-only block counts its id toward maxEventSize, as an event does', async () => {
  const url = await serve((_, res) => res.writeHead(200, SSE).end(`id: ${'i'.repeat(200)}\n\ndata: after\n\n`))
  const result = await consume({ url, maxEventSize: 100, mode: 'replay' })
  expect(result.error).toBeInstanceOf(EventTooLargeError)
})

describe('redirects and content types as fetch and the native EventSource read them', () => {
  it('a 301 that turns a POST into a GET drops the body and its Content-Type, as fetch does', async () => {
    const seen: Array<[string | undefined, string | undefined, string | undefined]> = []
    const url = await serve((req, res) => {
      seen.push([req.method, req.url, req.headers['content-type']])
      if (req.url === '/old') return res.writeHead(301, { location: '/new' }).end()
      res.writeHead(200, SSE).end('id: 1\ndata: moved\n\n')
    })
    const r = await consume({ url: `${url}/old`, method: 'POST', body: { q: 1 }, headers: { 'x-api-key': 'K' }, mode: 'replay' })
    expect(r.data).toEqual(['moved'])
    expect(seen).toEqual([
      ['POST', '/old', 'application/json'],
      ['GET', '/new', undefined],
    ])
  })

  it('a 304/305/306 with a Location is not a redirect (fetch follows only 301, 302, 303, 307, 308)', async () => {
    for (const status of [304, 305, 306]) {
      const paths: string[] = []
      const url = await serve((req, res) => {
        paths.push(req.url as string)
        if (req.url === '/new') return res.writeHead(200, SSE).end('data: moved\n\n')
        res.writeHead(status, { location: '/new' }).end()
      })
      const r = await consume({ url: `${url}/old`, mode: 'replay', maxRetries: 0 })
      expect(r.data).toEqual([])
      expect(paths).not.toContain('/new')
    }
  })

  it('only the MIME type text/event-stream is accepted (not text/event-stream-foo), parameters allowed', async () => {
    const bad = await serve((_, res) => res.writeHead(200, { 'content-type': 'text/event-stream-foo' }).end('data: x\n\n'))
    expect((await consume({ url: bad, mode: 'replay' })).error).toBeInstanceOf(Error)
    const good = await serve((_, res) => res.writeHead(200, { 'content-type': 'Text/Event-Stream ; charset=utf-8' }).end('data: x\n\n'))
    const r = await consume({ url: good, mode: 'replay' })
    expect(r.error).toBeUndefined()
    expect(r.data).toEqual(['x'])
  })
})
