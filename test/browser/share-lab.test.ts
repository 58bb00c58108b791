// shareAcrossTabs as an application uses it, in headless Chromium: several pages of one profile, each
// running named shared subscriptions (fixtures/share/lab.js) and recording what its consumer got.
// The assertions are about those views (every event once, in order, the right feed) and about the
// connections the server saw; share.test.ts covers the basic hand-offs, this file the edges.
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type FeedQuery, feedUrl, type SSEServer, startSSEServer } from '../server/sse-server.js'
import { type LaunchedChromium, launchChromium } from '../support/chromium.js'

const ROOT = join(import.meta.dirname, '../..')

interface Got {
  n: number
  sid: string
  sequence: number
}
interface View {
  role: string
  status: string
  events: Got[]
  notices: string[]
  statuses: Array<[string, string | null, string | null]>
  ended: string | undefined
}
interface Lab {
  start(name: string, options: Record<string, unknown>, how?: { slow?: number; breakAfter?: number; signal?: boolean }): string
  view(name: string): View
  count(name: string): number
  role(name: string): string
  close(name: string): Promise<void>
  abort(name: string): void
}
declare global {
  interface Window {
    lab: Lab
  }
}

let server: SSEServer
let browser: LaunchedChromium
let feeds = 0

beforeAll(async () => {
  if (!existsSync(join(ROOT, 'dist/index.js'))) throw new Error('dist/ is missing: run `npx tsup` (npm test builds first)')
  server = await startSSEServer({ staticDir: ROOT })
  browser = await launchChromium()
})

afterAll(async () => {
  await browser?.close()
  await server?.close()
})

/** A feed of its own (its own sid, so its own resume key, lock and channel). Paced and endless by default. */
function feed(query: Omit<FeedQuery, 'sid'> = {}): { sid: string; url: string } {
  const sid = `lab${++feeds}-${process.pid}`
  return { sid, url: feedUrl(server.url, { sid, total: 1_000_000, interval: 10, hold: true, ...query }) }
}

async function open(): Promise<Page> {
  const page = await browser.context.newPage()
  const errors: string[] = []
  page.on('pageerror', (error) => errors.push(String(error)))
  await page.goto(`${server.url}/static/test/browser/fixtures/share/lab.html`)
  await page.waitForFunction(() => 'lab' in window, undefined, { timeout: 10_000 }).catch((error: unknown) => {
    throw new Error(`the lab page did not load: ${errors.join('; ') || String(error)}`)
  })
  return page
}

const lab = <K extends keyof Lab>(page: Page, name: K, ...args: Parameters<Lab[K]>) =>
  page.evaluate(([n, a]) => (window.lab[n as K] as (...x: unknown[]) => unknown)(...(a as unknown[])), [name, args] as const) as Promise<Awaited<ReturnType<Lab[K]>>>

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

async function until(what: string, check: () => Promise<boolean> | boolean, timeout = 15_000): Promise<void> {
  const deadline = Date.now() + timeout
  for (;;) {
    if (await check()) return
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(50)
  }
}

/** Starts `name` in each page in turn, each once the one before sees events (the first leads). */
async function startAll(pages: Page[], name: string, options: Record<string, unknown>): Promise<void> {
  for (const page of pages) {
    await lab(page, 'start', name, options)
    await until(`${name} to see events`, async () => (await lab(page, 'count', name)) > 0)
  }
}

async function waitForMore(pages: Page[], name: string, more: number): Promise<void> {
  const base = await Promise.all(pages.map((p) => lab(p, 'count', name)))
  await until(`${more} more ${name} events in every page`, async () => (await Promise.all(pages.map((p) => lab(p, 'count', name)))).every((c, i) => c >= base[i]! + more))
}

/** One view: only this feed's events, each once, in order, with no gap (from `first` when given). */
function expectContiguous(events: Got[], sid: string, label: string, first?: number): void {
  expect(events.length, `${label} got events`).toBeGreaterThan(0)
  expect(events.filter((e) => e.sid !== sid), `${label}: events of another feed`).toEqual([])
  if (first !== undefined) expect(events[0]!.n, `${label} starts at ${first}`).toBe(first)
  const wrong = events.findIndex((e, i) => e.sequence !== e.n || (i > 0 && e.n !== events[i - 1]!.n + 1))
  expect(wrong, `${label}: event #${wrong} (${events[wrong]?.n}) after ${events[wrong - 1]?.n}`).toBe(-1)
}

async function expectConnections(sid: string, n: number): Promise<void> {
  await until(`${n} open connection(s) of ${sid}`, () => server.open(sid) === n)
  await sleep(300)
  expect(server.open(sid)).toBe(n)
}

const roleOf = async (pages: Page[], name: string) => Promise.all(pages.map((p) => lab(p, 'role', name)))

describe('shareAcrossTabs as applications use it (Chromium, one profile)', () => {
  it('the stream ends for good (replay): every tab gets every event and the end, a slow follower too', async () => {
    const { sid, url } = feed({ total: 300, interval: 1, hold: false })
    const pages = [await open(), await open()]
    try {
      await lab(pages[0]!, 'start', 'r', { url, mode: 'replay' })
      await until('the leader to see events', async () => (await lab(pages[0]!, 'count', 'r')) > 0)
      // A follower whose consumer is far slower than the feed and whose buffer holds 4 events.
      await lab(pages[1]!, 'start', 'r', { url, mode: 'replay', highWaterMark: 4 }, { slow: 5 })
      await until('both tabs to end', async () => (await Promise.all(pages.map((p) => lab(p, 'view', 'r')))).every((v) => v.ended !== undefined), 30_000)
      const [leader, follower] = await Promise.all(pages.map((p) => lab(p, 'view', 'r')))
      expect([leader!.role, follower!.role]).toEqual(['leader', 'follower'])
      for (const [label, view] of [['leader', leader!], ['follower', follower!]] as const) {
        expect(view.ended, label).toBe('done')
        expectContiguous(view.events, sid, label, 1)
        expect(view.events.at(-1)!.n, `${label} got the last event`).toBe(300)
      }
      // The follower lacked the end when the stream ended: it fetched it itself, from where it was.
      const log = server.log(sid)
      expect(log).toHaveLength(2)
      expect(Number(log[1]!.headers['last-event-id'])).toBeGreaterThan(1)
    } finally {
      await Promise.all(pages.map((p) => p.close()))
    }
  })
})
