// The cursor in the query string, proven where it matters: a cross-origin subscription in Chromium.
// `Last-Event-ID` is not a CORS-safelisted header, so resuming with it makes the browser send an
// OPTIONS preflight first (which many SSE servers never answer); `lastEventId({ queryParam })`
// resumes with a request the browser sends as is. Both resume correctly.
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startMercureHub } from '../server/mercure-hub.js'
import { type SSEServer, feedUrl, startSSEServer } from '../server/sse-server.js'
import { type LaunchedChromium, launchChromium } from '../support/chromium.js'

const ROOT = join(import.meta.dirname, '../..')

interface Harness {
  run(url: string, count: number, queryParam?: string): Promise<{ ids: string[]; error?: string }>
  mercure(url: string, topic: string, from: { sequence: number; cursor: string }, count: number): Promise<string[]>
}
declare global {
  interface Window {
    crossOriginHarness: Harness
  }
}

let site: SSEServer
let feeds: SSEServer
let browser: LaunchedChromium
let page: Page

beforeAll(async () => {
  if (!existsSync(join(ROOT, 'dist/index.js'))) throw new Error('dist/ is missing: run `npx tsup` (npm test builds first)')
  site = await startSSEServer({ staticDir: ROOT })
  feeds = await startSSEServer()
  browser = await launchChromium()
  page = await browser.context.newPage()
  await page.goto(`${site.url}/static/test/browser/fixtures/cross-origin/page.html`)
  await page.waitForFunction(() => 'crossOriginHarness' in window, undefined, { timeout: 10_000 })
})

afterAll(async () => {
  await browser?.close()
  await site?.close()
  await feeds?.close()
})

const run = (url: string, queryParam?: string) => page.evaluate(([u, q]) => window.crossOriginHarness.run(u, 6, q ?? undefined), [url, queryParam ?? null] as const)

// The first connection ends after 3 of 6 events (a clean end: a reset could make Chromium retry the
// request by itself before the page saw a byte), the second delivers the rest and stays open.
describe('a cross-origin subscription in Chromium, reconnecting after 3 of 6 events', () => {
  it('with the Last-Event-ID header: the resume is preceded by a CORS preflight', async () => {
    const url = feedUrl(feeds.url, { sid: 'header', total: 6, hold: true, plan: [{ events: 3, then: 'end' }] })
    expect(new URL(url).origin).not.toBe(site.url)
    const result = await run(url)
    expect(result).toEqual({ ids: ['1', '2', '3', '4', '5', '6'] })
    const log = feeds.log('header')
    expect(log.map((request) => request.method)).toEqual(['GET', 'OPTIONS', 'GET'])
    expect(log[1]?.headers['access-control-request-headers']).toBe('last-event-id')
    expect(log[2]?.headers['last-event-id']).toBe('3')
  })

  it('with `queryParam`: no preflight at all, and the same resume', async () => {
    const url = feedUrl(feeds.url, { sid: 'query', total: 6, hold: true, plan: [{ events: 3, then: 'end' }] })
    const result = await run(url, 'lastEventId')
    expect(result).toEqual({ ids: ['1', '2', '3', '4', '5', '6'] })
    const log = feeds.log('query')
    expect(log.map((request) => request.method)).toEqual(['GET', 'GET'])
    expect(log[1]?.query.lastEventId).toBe('3')
    expect(log[1]?.headers['last-event-id']).toBeUndefined()
  })
})

// A Mercure hub on another origin. The dialect's default (cursor in the query) needs no preflight;
// lost history is seen only if the hub exposes its `Mercure-Last-Event-ID` answer to scripts.
describe('a cross-origin Mercure subscription in Chromium, resuming from an id the hub no longer has', () => {
  const BOOK = 'https://example.com/books/1'
  const gone = { sequence: 4, cursor: 'urn:uuid:00000000-0000-4000-8000-000000000000' }

  async function resume(exposeLastEventId: boolean): Promise<{ seen: string[]; preflights: number; answered: string | undefined }> {
    const hub = await startMercureHub({ exposeLastEventId })
    try {
      const seen = page.evaluate(([u, t, f]) => window.crossOriginHarness.mercure(u, t, f, 1), [hub.url, BOOK, gone] as const)
      await hub.waitForConnection(1)
      hub.publish({ topics: BOOK, data: 'next' })
      return { seen: await seen, preflights: hub.preflights, answered: hub.subscribes[0]?.answered }
    } finally {
      await hub.close()
    }
  }

  it('with the answer exposed: no preflight, and a gap notice before the first event', async () => {
    const { seen, preflights, answered } = await resume(true)
    expect(answered).toBe('earliest')
    expect(seen).toEqual(['notice:gap', 'event:next'])
    expect(preflights).toBe(0)
  })

  it('an id beyond ASCII that the hub still holds: its answer (UTF-8 bytes, as the Go hub writes them) is no loss', async () => {
    const hub = await startMercureHub({ exposeLastEventId: true })
    try {
      const held = hub.publish({ topics: BOOK, data: 'held', id: 'https://example.com/livres/1-\u00e9\u20ac' })
      const seen = page.evaluate(([u, t, f]) => window.crossOriginHarness.mercure(u, t, f, 1), [hub.url, BOOK, { sequence: 4, cursor: held }] as const)
      await hub.waitForConnection(1)
      hub.publish({ topics: BOOK, data: 'next' })
      expect(await seen).toEqual(['event:next'])
      expect(hub.subscribes[0]?.answered).toBe(held)
    } finally {
      await hub.close()
    }
  })

  it('with the answer not exposed (as the reference hub does): the events flow, the loss cannot be seen', async () => {
    const { seen, preflights, answered } = await resume(false)
    expect(answered).toBe('earliest')
    expect(seen).toEqual(['event:next'])
    expect(preflights).toBe(0)
  })
})
