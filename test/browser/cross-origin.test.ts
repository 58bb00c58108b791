// Issue 15: every cross-origin subscription paid a CORS preflight, because the library set a
// `cache-control` request header (not CORS-safelisted). Servers that send
// `Access-Control-Allow-Origin: *` but have no OPTIONS route (aviso-server is one) then never answer
// the subscription. Here a page on one origin subscribes to two such servers on another origin (the
// default dialect and aviso), with the built IIFE package, in headless Chromium.
import { readFile } from 'node:fs/promises'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { type AvisoServer, startAvisoServer } from '../server/aviso-server.js'
import { type LaunchedChromium, launchChromium } from '../support/chromium.js'

const ROOT = join(import.meta.dirname, '../..')
let chromium: LaunchedChromium
let page: Page
let aviso: AvisoServer
const servers: http.Server[] = []
let pageOrigin = ''
let feedOrigin = ''
const methods: string[] = []
let elsewhere = ''
const elsewhereSaw: string[] = []

async function listen(server: http.Server): Promise<string> {
  servers.push(server)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

beforeAll(async () => {
  const script = await readFile(join(ROOT, 'dist/resumable-sse.global.js'), 'utf8')
  pageOrigin = await listen(
    http.createServer((req, res) => {
      if (req.url === '/rsse.js') return res.writeHead(200, { 'content-type': 'text/javascript' }).end(script)
      res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><script src="/rsse.js"></script>')
    }),
  )
  // A plain SSE feed readable from any origin, with no OPTIONS route: a preflight fails.
  feedOrigin = await listen(
    http.createServer((req, res) => {
      methods.push(req.method ?? '')
      if (req.method !== 'GET') return res.writeHead(405).end()
      // Redirects: within this origin, and to another one.
      if (req.url === '/moved') return res.writeHead(307, { location: '/events', 'access-control-allow-origin': '*' }).end()
      if (req.url === '/away') return res.writeHead(307, { location: `${elsewhere}/events`, 'access-control-allow-origin': '*' }).end()
      res.writeHead(200, { 'content-type': 'text/event-stream', 'access-control-allow-origin': '*' })
      res.end('id: 1\ndata: one\n\nid: 2\ndata: two\n\n')
    }),
  )
  elsewhere = await listen(
    http.createServer((req, res) => {
      elsewhereSaw.push(req.method ?? '')
      res.writeHead(200, { 'content-type': 'text/event-stream', 'access-control-allow-origin': '*' }).end('id: 1\ndata: elsewhere\n\n')
    }),
  )
  aviso = await startAvisoServer()
  chromium = await launchChromium()
  page = await chromium.context.newPage()
  await page.goto(`${pageOrigin}/`)
})

afterAll(async () => {
  await chromium?.close()
  await aviso?.close()
  for (const server of servers) {
    server.closeAllConnections()
    server.close()
  }
})

/** Runs a replay subscription in the page; returns the data or the error's code and message. */
function replay(page: Page, url: string, dialect: 'default' | 'aviso') {
  return page.evaluate(
    async ({ url, dialect }) => {
      const { subscribe, aviso } = (globalThis as unknown as { ResumableSSE: typeof import('../../src/index.js') }).ResumableSSE
      const options = dialect === 'aviso' ? { dialect: aviso({ eventType: 'mars', identifier: { class: 'od' }, fromDate: 0 }) } : {}
      const data: string[] = []
      try {
        for await (const event of subscribe({ url, mode: 'replay', maxRetries: 1, backoff: { baseDelay: 10 }, ...options })) data.push(event.data)
        return { data }
      } catch (error) {
        return { data, error: `${(error as { code?: string }).code}: ${(error as Error).message}` }
      }
    },
    { url, dialect },
  )
}

it('the default dialect reads a cross-origin feed that answers no preflight', async () => {
  const result = await replay(page, `${feedOrigin}/events`, 'default')
  expect(result).toEqual({ data: ['one', 'two'] })
  expect(methods).not.toContain('OPTIONS')
})

it('aviso replays from a cross-origin aviso-server (no OPTIONS route)', async () => {
  aviso.publish('mars', { class: 'od' }, { n: 1 })
  aviso.publish('mars', { class: 'od' }, { n: 2 })
  const result = await replay(page, aviso.url, 'aviso')
  expect(result.error).toBeUndefined()
  expect(result.data.map((d) => JSON.parse(d).data.payload)).toEqual([{ n: 1 }, { n: 2 }])
  expect(aviso.requests.map((r) => r.method)).not.toContain('OPTIONS')
})

// Browsers hide a redirect's target from script (an opaqueredirect): the library lets the browser
// follow it and judges where the response came from.
it('a same-origin redirect is followed in the browser', async () => {
  expect(await replay(page, `${feedOrigin}/moved`, 'default')).toEqual({ data: ['one', 'two'] })
})

it('a redirect to another origin is refused in the browser (ProtocolError)', async () => {
  const refused = await replay(page, `${feedOrigin}/away`, 'default')
  expect(refused.data).toEqual([])
  expect(refused.error).toMatch(/^protocol: Refused a redirect/)
  expect(refused.error).toContain(`${elsewhere}/events`)
})
