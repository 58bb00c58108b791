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
  start(name: string, options: Record<string, unknown>, how?: { slow?: number; breakAfter?: number; signal?: boolean; headersThrowAt?: number }): string
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

  it('a fatal HTTP error on the leader reaches every tab, after every event before it', async () => {
    // 30 events, the connection drops, and the reconnect is refused for good (404).
    const { sid, url } = feed({ plan: [{ events: 30, then: 'drop' }, { status: 404 }] })
    const pages = [await open(), await open(), await open()]
    try {
      await startAll(pages, 'f', { url })
      await until('every tab to end', async () => (await Promise.all(pages.map((p) => lab(p, 'view', 'f')))).every((v) => v.ended !== undefined))
      const views = await Promise.all(pages.map((p) => lab(p, 'view', 'f')))
      expect(views.map((v) => v.role).sort()).toEqual(['follower', 'follower', 'leader'])
      for (const [i, view] of views.entries()) {
        expectContiguous(view.events, sid, `page ${i}`, 1)
        expect(view.events.at(-1)!.n, `page ${i}`).toBe(30)
        // An HttpError in every tab, with its status: an app's `error.status === 401` check works anywhere.
        expect(view.ended, `page ${i}`).toBe('HttpError:http:404')
        expect(view.status, `page ${i}`).toBe('closed')
        expect(view.statuses.at(-1), `page ${i}`).toEqual(['closed', 'error', 'http'])
      }
      expect(server.log(sid)).toHaveLength(2)
    } finally {
      await Promise.all(pages.map((p) => p.close()))
    }
  })

  it('two subscriptions (two feeds) in the same tabs each share their own connection and never mix', async () => {
    const a = feed()
    const b = feed()
    const pages = [await open(), await open()]
    try {
      await startAll(pages, 'a', { url: a.url })
      // The second feed leads from the other tab: each tab leads one and follows the other.
      await startAll([pages[1]!, pages[0]!], 'b', { url: b.url })
      await waitForMore(pages, 'a', 20)
      await waitForMore(pages, 'b', 20)
      expect(await roleOf(pages, 'a')).toEqual(['leader', 'follower'])
      expect(await roleOf(pages, 'b')).toEqual(['follower', 'leader'])
      for (const [i, page] of pages.entries()) {
        expectContiguous((await lab(page, 'view', 'a')).events, a.sid, `feed a, page ${i}`)
        expectContiguous((await lab(page, 'view', 'b')).events, b.sid, `feed b, page ${i}`)
      }
      await expectConnections(a.sid, 1)
      await expectConnections(b.sid, 1)
    } finally {
      await Promise.all(pages.map((p) => p.close()))
    }
  })

  it('the same URL with different fingerprints (two users) never shares: a connection each', async () => {
    const { sid, url } = feed()
    const pages = [await open(), await open(), await open()]
    try {
      await lab(pages[0]!, 'start', 'u', { url, fingerprint: 'user-1' })
      await lab(pages[1]!, 'start', 'u', { url, fingerprint: 'user-2', headers: { 'x-user': '2' } })
      await until('both to see events', async () => (await Promise.all(pages.slice(0, 2).map((p) => lab(p, 'count', 'u')))).every((c) => c > 0))
      await lab(pages[2]!, 'start', 'u', { url, fingerprint: 'user-1' })
      await waitForMore(pages, 'u', 20)
      expect(await roleOf(pages, 'u')).toEqual(['leader', 'leader', 'follower'])
      await expectConnections(sid, 2)
      // user-2's header went on user-2's connection only.
      expect(server.log(sid).map((r) => r.headers['x-user' as 'accept'] ?? null)).toHaveLength(2)
      for (const [i, page] of pages.entries()) expectContiguous((await lab(page, 'view', 'u')).events, sid, `page ${i}`)
    } finally {
      await Promise.all(pages.map((p) => p.close()))
    }
  })

  it('followers leave by close(), by break and by their AbortSignal: the others go on, on the one connection', async () => {
    const { sid, url } = feed()
    const pages = [await open(), await open(), await open(), await open()]
    try {
      await lab(pages[0]!, 'start', 's', { url })
      await until('the leader to see events', async () => (await lab(pages[0]!, 'count', 's')) > 0)
      await lab(pages[1]!, 'start', 's', { url })
      await lab(pages[2]!, 'start', 's', { url }, { breakAfter: 15 })
      await lab(pages[3]!, 'start', 's', { url }, { signal: true })
      // The one that breaks may have its 15 at once (it starts with the leader's whole window).
      await waitForMore([pages[1]!, pages[3]!], 's', 10)
      expect(await roleOf(pages, 's')).toEqual(['leader', 'follower', 'follower', 'follower'])
      await lab(pages[1]!, 'close', 's')
      await lab(pages[3]!, 'abort', 's')
      await until('the three followers to end', async () => (await Promise.all(pages.slice(1).map((p) => lab(p, 'view', 's')))).every((v) => v.ended !== undefined))
      for (const page of pages.slice(1)) {
        const view = await lab(page, 'view', 's')
        expect(view.ended).toBe('done')
        expect(view.status).toBe('closed')
        expect(view.statuses.at(-1)).toEqual(['closed', 'aborted', null])
      }
      expect((await lab(pages[2]!, 'view', 's')).events).toHaveLength(15)
      // Nobody else noticed: the leader goes on, still the only connection.
      await waitForMore([pages[0]!], 's', 20)
      const leader = await lab(pages[0]!, 'view', 's')
      expect(leader.role).toBe('leader')
      expect(leader.ended).toBeUndefined()
      expectContiguous(leader.events, sid, 'leader')
      await expectConnections(sid, 1)
      expect(server.log(sid)).toHaveLength(1)
    } finally {
      await Promise.all(pages.map((p) => p.close()))
    }
    await expectConnections(sid, 0)
  })

  it('the leader breaks out of for await: a follower takes over (role notice, statuses) with no gap or repeat', async () => {
    const { sid, url } = feed()
    const pages = [await open(), await open()]
    try {
      await lab(pages[0]!, 'start', 'l', { url }, { breakAfter: 40 })
      await until('the leader to see events', async () => (await lab(pages[0]!, 'count', 'l')) > 0)
      await lab(pages[1]!, 'start', 'l', { url })
      await until('the leader to leave', async () => (await lab(pages[0]!, 'view', 'l')).ended !== undefined)
      await until('the follower to lead', async () => (await lab(pages[1]!, 'role', 'l')) === 'leader')
      await waitForMore([pages[1]!], 'l', 20)
      const view = await lab(pages[1]!, 'view', 'l')
      expectContiguous(view.events, sid, 'new leader')
      expect(view.events.at(-1)!.n).toBeGreaterThan(60)
      expect(view.notices).toContain('role:leader')
      expect(view.status).toBe('open')
      // It mirrored the first leader's connection, then showed its own being opened.
      expect(view.statuses[0]).toEqual(['open', null, null])
      expect(view.statuses.slice(-2).map((s) => s[0])).toEqual(['connecting', 'open'])
      await expectConnections(sid, 1)
      expect(server.log(sid)).toHaveLength(2)
    } finally {
      await Promise.all(pages.map((p) => p.close()))
    }
    await expectConnections(sid, 0)
  })

  it("a follower whose checkpoint is older than the leader's window catches up on a short connection of its own", async () => {
    // Like most servers, the feed sends history at once (the catch-up connection) and live events paced.
    const { sid, url } = feed({ interval: 5, plan: [{}, { interval: 0, events: 1000, then: 'hold' }] })
    const pages = [await open(), await open()]
    try {
      // The leader's window holds about 100 events (highWaterSize bounds it in characters).
      await lab(pages[0]!, 'start', 'c', { url, highWaterSize: 3000 })
      await until('the leader to pass 250', async () => (await lab(pages[0]!, 'count', 'c')) > 250)
      await lab(pages[1]!, 'start', 'c', { url, from: { sequence: 5, cursor: '5' } })
      await waitForMore([pages[1]!], 'c', 150)
      expectContiguous((await lab(pages[1]!, 'view', 'c')).events, sid, 'late page', 6)
      expect(await lab(pages[1]!, 'role', 'c')).toBe('follower')
      expect(server.log(sid)[1]?.headers['last-event-id']).toBe('5')
      await expectConnections(sid, 1)
      expect(server.log(sid)).toHaveLength(2)
    } finally {
      await Promise.all(pages.map((p) => p.close()))
    }
  })

  it('a slow follower with a small highWaterSize falls behind and catches up again, losing nothing', async () => {
    const { sid, url } = feed({ interval: 2, size: 200 })
    const pages = [await open(), await open()]
    try {
      await lab(pages[0]!, 'start', 'w', { url, highWaterSize: 4000 })
      await until('the leader to see events', async () => (await lab(pages[0]!, 'count', 'w')) > 0)
      await lab(pages[1]!, 'start', 'w', { url, highWaterSize: 2000 }, { slow: 8 })
      await waitForMore([pages[1]!], 'w', 200)
      expectContiguous((await lab(pages[1]!, 'view', 'w')).events, sid, 'slow follower')
      expectContiguous((await lab(pages[0]!, 'view', 'w')).events, sid, 'leader')
    } finally {
      await Promise.all(pages.map((p) => p.close()))
    }
    await expectConnections(sid, 0)
  })

  it('two subscriptions of one key in one tab (two components) share too; the leading one closes, the other leads', async () => {
    const { sid, url } = feed()
    const pages = [await open(), await open()]
    try {
      await startAll([pages[0]!], 'x1', { url })
      await startAll([pages[0]!], 'x2', { url })
      await startAll([pages[1]!], 'x3', { url })
      await waitForMore([pages[0]!], 'x1', 10)
      expect([await lab(pages[0]!, 'role', 'x1'), await lab(pages[0]!, 'role', 'x2'), await lab(pages[1]!, 'role', 'x3')]).toEqual(['leader', 'follower', 'follower'])
      await lab(pages[0]!, 'close', 'x1')
      await until('the other one in the tab to lead', async () => (await lab(pages[0]!, 'role', 'x2')) === 'leader')
      await waitForMore([pages[0]!], 'x2', 20)
      await waitForMore([pages[1]!], 'x3', 20)
      expectContiguous((await lab(pages[0]!, 'view', 'x2')).events, sid, 'x2')
      expectContiguous((await lab(pages[1]!, 'view', 'x3')).events, sid, 'x3')
      await expectConnections(sid, 1)
    } finally {
      await Promise.all(pages.map((p) => p.close()))
    }
  })

  it('the leader page closes while the next in line is a slow follower far behind: every view stays whole', async () => {
    const { sid, url } = feed({ interval: 2 })
    const pages = [await open(), await open(), await open()]
    try {
      await lab(pages[0]!, 'start', 'h', { url })
      await until('the leader to see events', async () => (await lab(pages[0]!, 'count', 'h')) > 0)
      // Next in the lock's queue: a consumer at a fifth of the feed's pace, 4 events of buffer.
      await lab(pages[1]!, 'start', 'h', { url, highWaterMark: 4 }, { slow: 10 })
      await until('the slow one to see events', async () => (await lab(pages[1]!, 'count', 'h')) > 0)
      await lab(pages[2]!, 'start', 'h', { url })
      await waitForMore([pages[2]!], 'h', 200)
      await pages[0]!.close()
      await until('the slow follower to lead', async () => (await lab(pages[1]!, 'role', 'h')) === 'leader')
      await waitForMore(pages.slice(1), 'h', 100)
      expectContiguous((await lab(pages[1]!, 'view', 'h')).events, sid, 'slow new leader')
      expectContiguous((await lab(pages[2]!, 'view', 'h')).events, sid, 'other follower')
      expect((await lab(pages[2]!, 'view', 'h')).ended).toBeUndefined()
      await expectConnections(sid, 1)
    } finally {
      await Promise.all(pages.map((p) => p.close()))
    }
    await expectConnections(sid, 0)
  })

  it('a follower with onStatus mirrors the leader through a reconnect (backoff, connecting, open)', async () => {
    const { sid, url } = feed({ plan: [{ events: 20, then: 'drop' }] })
    const pages = [await open(), await open()]
    try {
      await startAll(pages, 'm', { url })
      await until('the reconnect', async () => (await lab(pages[1]!, 'count', 'm')) > 40)
      const follower = await lab(pages[1]!, 'view', 'm')
      expect(follower.role).toBe('follower')
      expectContiguous(follower.events, sid, 'follower')
      const leader = await lab(pages[0]!, 'view', 'm')
      expect(follower.statuses.map((s) => s[0])).toEqual(leader.statuses.map((s) => s[0]).slice(leader.statuses.findIndex((s) => s[0] === 'open')))
      expect(follower.statuses.map((s) => s[0])).toEqual(['open', 'backoff', 'connecting', 'open'])
      expect(follower.notices).not.toContain('role:leader')
    } finally {
      await Promise.all(pages.map((p) => p.close()))
    }
  })

  it("the leader's headers() throws something a BroadcastChannel cannot carry (a Response): it retries, and the followers go on", async () => {
    const { sid, url } = feed({ plan: [{ events: 20, then: 'drop' }] })
    const pages = [await open(), await open()]
    try {
      await lab(pages[0]!, 'start', 'q', { url }, { headersThrowAt: 2 })
      await until('the leader to see events', async () => (await lab(pages[0]!, 'count', 'q')) > 0)
      await lab(pages[1]!, 'start', 'q', { url })
      await until('both past the failed reconnect', async () => (await Promise.all(pages.map((p) => lab(p, 'count', 'q')))).every((c) => c > 40))
      for (const [i, page] of pages.entries()) {
        const view = await lab(page, 'view', 'q')
        expectContiguous(view.events, sid, `page ${i}`, 1)
        expect(view.ended, `page ${i}`).toBeUndefined()
        expect(view.statuses.map((s) => s[1]), `page ${i}`).toContain('request')
      }
      await expectConnections(sid, 1)
    } finally {
      await Promise.all(pages.map((p) => p.close()))
    }
  })

  it("a live subscription does not end when a tab replaying the same feed (mode 'replay') reaches the end", async () => {
    const { sid, url } = feed({ total: 100, interval: 5, hold: false })
    const pages = [await open(), await open()]
    try {
      await lab(pages[0]!, 'start', 'v', { url, mode: 'replay' })
      await until('the replay to see events', async () => (await lab(pages[0]!, 'count', 'v')) > 0)
      await lab(pages[1]!, 'start', 'v', { url })
      await until('the replay to end', async () => (await lab(pages[0]!, 'view', 'v')).ended !== undefined)
      await sleep(1000)
      const live = await lab(pages[1]!, 'view', 'v')
      expect(live.ended).toBeUndefined()
      expect(live.status).not.toBe('closed')
      // Not shared: a replay and a live subscription each lead their own connection.
      expect(live.role).toBe('leader')
      expect(live.notices).toContain('role:leader')
      expectContiguous(live.events, sid, 'live tab')
    } finally {
      await Promise.all(pages.map((p) => p.close()))
    }
  })

  it("a follower behind the leader's window on a server that sends history no faster than live keeps its one catch-up connection (no reconnect per lap)", async () => {
    const { sid, url } = feed({ interval: 5 })
    const pages = [await open(), await open()]
    try {
      await lab(pages[0]!, 'start', 'p', { url, highWaterSize: 600 })
      await until('the leader to pass 120', async () => (await lab(pages[0]!, 'count', 'p')) > 120)
      await lab(pages[1]!, 'start', 'p', { url, from: { sequence: 5, cursor: '5' } })
      await waitForMore([pages[1]!], 'p', 200)
      expectContiguous((await lab(pages[1]!, 'view', 'p')).events, sid, 'late page', 6)
      // Its catch-up never reaches the leader: it stays on it rather than reopening one from where it got to.
      expect(server.log(sid)).toHaveLength(2)
    } finally {
      await Promise.all(pages.map((p) => p.close()))
    }
  })
})
