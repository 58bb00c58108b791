// The playground server (`npm run playground`) as a hostile web page or a curious URL meets it: raw
// HTTP requests with the Host, Origin and request target a browser or an attacker can produce. It
// listens on 127.0.0.1 only, but a page on another origin can still reach it (a form POST, DNS
// rebinding), so it must serve only its own files, answer only its own Host and refuse foreign POSTs.
import http from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Playground, startPlayground } from '../../playground/server/main.mjs'

let playground: Playground

beforeAll(async () => {
  playground = await startPlayground({ port: 0 })
})
afterAll(async () => {
  await playground?.close()
})

interface Answer {
  status: number
  headers: http.IncomingHttpHeaders
  body: string
}

/** One raw request: `path` goes on the request line exactly as given (no URL normalisation). */
function request(path: string, options: { method?: string; headers?: Record<string, string> } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port: playground.port, path, method: options.method ?? 'GET', headers: options.headers, agent: false },
      (res) => {
        let body = ''
        res.setEncoding('utf8')
        // The feed streams forever: its first chunk is enough to tell it answered.
        res.on('data', (chunk: string) => {
          body += chunk
          if (res.headers['content-type']?.startsWith('text/event-stream')) res.destroy()
        })
        res.on('close', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }))
      },
    )
    req.on('error', reject)
    req.end()
  })
}

const own = (): string => `127.0.0.1:${playground.port}`

describe('files', () => {
  it('serves its pages and examples', async () => {
    expect((await request('/')).status).toBe(200)
    const example = await request('/examples/deno.ts')
    expect(example.status).toBe(200)
    expect(example.body.length).toBeGreaterThan(0)
  })

  it.each([
    '/examples/..%2fserver%2fauth.mjs',
    '/examples/..%2Fserver%2Ffeed.mjs',
    '/app/..%2fserver%2fmain.mjs',
    '/app/%2e%2e/server/auth.mjs',
    '/examples/..%5cserver%5cauth.mjs',
    '/dist/..%2fpackage.json',
    '/dist/..%2f..%2fplayground%2fserver%2fauth.mjs',
    '/vendor/idb-keyval/..%2f..%2f..%2fpackage.json',
    '/%2e%2e/package.json',
    '/..%2fpackage.json',
  ])('never serves a file outside the allowed folders: %s', async (path) => {
    const answer = await request(path)
    expect(answer.status).toBe(404)
    expect(answer.body).not.toMatch(/randomBytes|import |"dependencies"/)
  })
})

describe('Host (DNS rebinding)', () => {
  it('answers its own Host, by address or as localhost', async () => {
    for (const host of [own(), `localhost:${playground.port}`]) {
      const answer = await request('/token', { method: 'POST', headers: { host } })
      expect(answer.status, host).toBe(200)
      expect(JSON.parse(answer.body)).toEqual({ token: playground.tokens.current })
    }
  })

  it.each(['evil.example', 'evil.example:5173', 'attacker.test:5173', '127.0.0.1:1', '127.0.0.1'])(
    'refuses every route for a foreign Host %s, without the token',
    async (host) => {
      for (const [method, path] of [
        ['POST', '/token'],
        ['GET', '/token'],
        ['GET', '/status'],
        ['GET', `/feed?token=${playground.tokens.current}`],
        ['POST', '/faults/auth'],
        ['GET', '/'],
      ] as const) {
        const answer = await request(path, { method, headers: { host } })
        expect(answer.status, `${method} ${path}`).toBe(403)
        expect(answer.body).not.toContain(playground.tokens.current)
      }
    },
  )
})

describe('Origin (cross-site requests)', () => {
  it('refuses a POST from a foreign Origin, and the fault does not happen', async () => {
    const before = playground.tokens.current
    for (const origin of ['http://evil.example', 'null', `http://localhost:${playground.port + 1}`, `https://${own()}`]) {
      const answer = await request('/faults/auth', { method: 'POST', headers: { origin } })
      expect(answer.status, origin).toBe(403)
      const token = await request('/token', { method: 'POST', headers: { origin } })
      expect(token.status, origin).toBe(403)
      expect(token.body).not.toContain(playground.tokens.current)
    }
    expect(playground.tokens.current).toBe(before)
  })

  it('accepts a POST from its own page, and one without Origin (curl)', async () => {
    const first = playground.tokens.current
    const fromPage = await request('/faults/auth', { method: 'POST', headers: { origin: `http://${own()}` } })
    expect(fromPage.status).toBe(200)
    expect(playground.tokens.current).not.toBe(first)
    const second = playground.tokens.current
    const fromLocalhostPage = await request('/faults/auth', {
      method: 'POST',
      headers: { host: `localhost:${playground.port}`, origin: `http://localhost:${playground.port}` },
    })
    expect(fromLocalhostPage.status).toBe(200)
    const fromCurl = await request('/faults/auth', { method: 'POST' })
    expect(fromCurl.status).toBe(200)
    expect(playground.tokens.current).not.toBe(second)
  })
})

describe('errors', () => {
  it.each(['//%', '//', '/%', '/dist/%E0%A4%A', '//evil.example/token', '/feed%'])('answers %s without a stack trace or a path', async (path) => {
    const answer = await request(path)
    expect(answer.status).toBeGreaterThanOrEqual(400)
    expect(answer.status).toBeLessThan(500)
    expect(answer.body).not.toMatch(/ at |\/work\/|node:|Error|TypeError|\.mjs/)
  })

  it('still streams the feed to its own clients', async () => {
    const answer = await request('/feed', { headers: { authorization: `Bearer ${playground.tokens.current}` } })
    expect(answer.status).toBe(200)
    expect(answer.headers['content-type']).toMatch(/^text\/event-stream/)
  })
})
