/**
 * A security review's findings, tested from outside: the BUILT package (`dist/`, as users import it)
 * against hostile servers on 127.0.0.1, each stopped (sockets too) when its test ends.
 */
import { existsSync } from 'node:fs'
import http from 'node:http'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { describe, expect, it, onTestFinished } from 'vitest'
import type * as Lib from '../../src/index.js'

const DIST = join(import.meta.dirname, '../../dist/index.js')
if (!existsSync(DIST)) throw new Error('dist/ is missing: run `npx tsup` (npm test builds first)')
const lib = (await import(/* @vite-ignore */ pathToFileURL(DIST).href)) as typeof Lib

/** A server answering every request with `handler`; stopped when the test ends. */
async function serve(handler: (req: http.IncomingMessage, res: http.ServerResponse) => void): Promise<string> {
  const server = http.createServer(handler)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  onTestFinished(async () => {
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
  })
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`
}

/** Everything reachable from an error: message, stack and `cause`s, as a logger would print it. */
function printed(error: unknown): string {
  let text = ''
  for (let e = error as { message?: unknown; stack?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 10; e = e.cause as typeof e, depth++) {
    text += `${String(e.message)}\n${String(e.stack)}\n`
  }
  return text
}

describe('security (built package)', () => {
  it('a Durable Streams offset with a line break is a ProtocolError, never a committed checkpoint that blocks every later resume', async () => {
    const url = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      res.end('event: data\ndata: a\n\nevent: control\ndata: {"streamNextOffset":"1\\r\\nX-Injected: 1"}\n\n')
    })
    const store = new lib.MemoryStore()
    const sub = lib.subscribe({ url, dialect: lib.durableStreams(), store })
    const seen: string[] = []
    const error = await sub.forEach((event) => void seen.push(event.data)).then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(lib.isResumableSSEError(error, 'protocol')).toBe(true)
    expect(seen).toEqual([])
    expect(await store.get(sub.key)).toBeUndefined()
  })

  it('a Durable Streams offset with a lone surrogate (sent back as U+FFFD, another offset) is refused too', async () => {
    const url = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      res.end('event: data\ndata: a\n\nevent: control\ndata: {"streamNextOffset":"1\\ud800"}\n\n')
    })
    const store = new lib.MemoryStore()
    const sub = lib.subscribe({ url, dialect: lib.durableStreams(), store })
    await expect(sub.forEach(() => {})).rejects.toMatchObject({ code: 'protocol' })
    expect(await store.get(sub.key)).toBeUndefined()
  })

  it('shareAcrossTabs with an authenticated request needs key or fingerprint, whatever the store: equal keys share one live connection across tabs', async () => {
    const headers = { authorization: 'Bearer user-a' }
    expect(() => lib.subscribe({ url: 'http://127.0.0.1:9/feed', headers, shareAcrossTabs: true })).toThrow(lib.ConfigError)
    expect(() => lib.subscribe({ url: 'http://127.0.0.1:9/feed', headers, store: new lib.MemoryStore(), shareAcrossTabs: true })).toThrow(/fingerprint: 'public'/)
    // Unchanged without sharing (a store of this process only), and with a fingerprint.
    const subs = [
      lib.subscribe({ url: 'http://127.0.0.1:9/feed', headers, signal: AbortSignal.abort() }),
      lib.subscribe({ url: 'http://127.0.0.1:9/feed', headers, shareAcrossTabs: true, fingerprint: 'user-a', signal: AbortSignal.abort() }),
    ]
    for (const sub of subs) await sub.close()
  })

  it("a redirect to a scheme other than http(s) (data:, file:) is refused, with redirect: 'follow' too, as fetch does", async () => {
    const url = await serve((_req, res) => res.writeHead(302, { location: 'data:text/event-stream,data: injected%0A%0A' }).end())
    for (const redirect of ['same-origin', 'follow'] as const) {
      const seen: string[] = []
      const error = await lib.subscribe({ url, redirect, maxRetries: 0 }).forEach((event) => void seen.push(event.data)).then(
        () => undefined,
        (e: unknown) => e,
      )
      expect(seen).toEqual([])
      expect(lib.isResumableSSEError(error, 'protocol')).toBe(true)
    }
  })

  it('a Durable Streams streamCursor too long to send back is a ProtocolError, never committed (it would go out on every resume)', async () => {
    const url = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      res.end(`event: data\ndata: a\n\nevent: control\ndata: {"streamNextOffset":"1","streamCursor":"${'c'.repeat(5000)}"}\n\n`)
    })
    const store = new lib.MemoryStore()
    const sub = lib.subscribe({ url, dialect: lib.durableStreams(), store })
    await expect(sub.forEach(() => {})).rejects.toMatchObject({ code: 'protocol' })
    expect(await store.get(sub.key)).toBeUndefined()
  })

  it('a header value fetch refuses fails the attempt without the value (a token) in any error, status or cause', async () => {
    const url = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      res.end('data: x\n\n')
    })
    const causes: unknown[] = []
    const sub = lib.subscribe({
      url,
      headers: { authorization: 'Bearer TOPSECRET\nX-Injected: 1' },
      maxRetries: 1,
      backoff: { baseDelay: 1, maxDelay: 1 },
      onStatus: (change) => void causes.push(change.cause, change.error),
    })
    const error = await sub.forEach(() => {}).then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(lib.isResumableSSEError(error, 'retries-exhausted')).toBe(true)
    expect((error as Error).cause).toBeInstanceOf(TypeError)
    for (const reported of [error, ...causes]) expect(printed(reported)).not.toContain('TOPSECRET')
  })
})
