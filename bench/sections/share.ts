// Section 7: shareAcrossTabs in headless Chromium. Three pages of one profile share one connection to
// a feed of ~1 000 events/s (the project's SSE test server, `interval=1`); each page records when its
// consumer got each event (performance.timeOrigin + now: one clock across pages). Reported: how much
// later a follower's consumer gets an event than the leader's (p50/p95 over every event both saw), and
// each tab's main-thread busy time (CDP `Performance.getMetrics` TaskDuration) over the measured span,
// next to a tab without Web Locks (solo: a connection of its own) for scale.
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import type { CDPSession, Page } from 'playwright-core'
import { feedUrl, startSSEServer } from '../../test/server/sse-server.js'
import { CHROMIUM_PATH, launchChromium } from '../../test/support/chromium.js'
import type { Section } from '../lib/report.js'
import { fixed, median, quantile } from '../lib/stats.js'

export interface ShareOptions {
  root: string
  /** Measured span, ms (after `warmupMs`). */
  measureMs: number
  warmupMs: number
}

type Harness = { start(url: string): string; role(): string; times(): Array<[number, number]>; count(): number }
const FIXTURES = 'test/browser/fixtures/share'
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

async function busySeconds(cdp: CDPSession): Promise<number> {
  const { metrics } = (await cdp.send('Performance.getMetrics')) as { metrics: Array<{ name: string; value: number }> }
  return metrics.find((m) => m.name === 'TaskDuration')?.value ?? Number.NaN
}

export async function share(options: ShareOptions): Promise<Section> {
  const title = '7. One connection for all tabs (shareAcrossTabs, headless Chromium, 3 tabs at ~1 000 events/s)'
  if (!existsSync(CHROMIUM_PATH)) return { title, tables: [], notes: [`Chromium not found at ${CHROMIUM_PATH}: section skipped.`] }
  if (!existsSync(join(options.root, 'dist/index.js'))) return { title, tables: [], notes: ['dist/ is missing: section skipped.'] }
  const server = await startSSEServer({ staticDir: options.root })
  const browser = await launchChromium()
  try {
    const sid = `bench-share-${Date.now()}`
    const url = feedUrl(server.url, { sid, total: 10_000_000, interval: 1, hold: true })
    const soloUrl = feedUrl(server.url, { sid: `${sid}-solo`, total: 10_000_000, interval: 1, hold: true })
    const pages: Page[] = []
    for (const file of ['tab.html', 'tab.html', 'tab.html', 'no-locks.html']) {
      const page = await browser.context.newPage()
      await page.goto(`${server.url}/static/${FIXTURES}/${file}`)
      await page.waitForFunction(() => 'shareHarness' in window)
      pages.push(page)
    }
    const h = (page: Page) => ({
      start: (u: string) => page.evaluate((x) => (window as unknown as { shareHarness: Harness }).shareHarness.start(x), u),
      role: () => page.evaluate(() => (window as unknown as { shareHarness: Harness }).shareHarness.role()),
      times: () => page.evaluate(() => (window as unknown as { shareHarness: Harness }).shareHarness.times()),
    })
    for (const [i, page] of pages.entries()) {
      await h(page).start(i === 3 ? soloUrl : url)
      await sleep(200)
    }
    const cdps = await Promise.all(pages.map((page) => browser.context.newCDPSession(page)))
    await Promise.all(cdps.map((cdp) => cdp.send('Performance.enable')))
    await sleep(options.warmupMs)
    const busyBefore = await Promise.all(cdps.map(busySeconds))
    const from = Date.now()
    await sleep(options.measureMs)
    const busyAfter = await Promise.all(cdps.map(busySeconds))
    const span = (Date.now() - from) / 1000
    const roles = await Promise.all(pages.map((page) => h(page).role()))
    const times = await Promise.all(pages.map((page) => h(page).times()))
    const connections = server.open(sid)

    const leader = roles.indexOf('leader')
    const leaderAt = new Map(times[leader]!)
    const rows: string[][] = []
    const targets: string[] = []
    for (const [i, role] of roles.entries()) {
      const busy = ((busyAfter[i]! - busyBefore[i]!) / span) * 100
      const seen = times[i]!.length
      if (role === 'follower') {
        const lags = times[i]!.flatMap(([sequence, at]) => {
          const l = leaderAt.get(sequence)
          return l === undefined ? [] : [at - l]
        })
        const p50 = median(lags)
        const p95 = quantile(lags, 0.95)
        rows.push([`tab ${i + 1}: follower`, String(seen), fixed(p50, 2), fixed(p95, 2), fixed(busy, 1)])
        targets.push(`follower tab ${i + 1}: p95 delivery ${fixed(p95, 2)} ms after the leader's — target "within a few ms" ${p95 <= 5 ? 'met' : 'MISSED'}`)
      } else {
        rows.push([`tab ${i + 1}: ${role}${role === 'solo' ? ' (no Web Locks: its own connection)' : ''}`, String(seen), '—', '—', fixed(busy, 1)])
      }
    }
    const rate = times[leader]!.length > 1 ? (times[leader]!.length - 1) / ((times[leader]!.at(-1)![1] - times[leader]![0]![1]) / 1000) : Number.NaN
    return {
      title,
      intro: `Three pages share one feed (the server saw ${connections} open connection${connections === 1 ? '' : 's'} for it); a fourth page without Web Locks runs solo on its own. ${fixed(options.warmupMs / 1000, 0)} s warm-up, then ${fixed(span, 1)} s measured; the leader received ${fixed(rate, 0)} events/s on average.`,
      tables: [
        {
          columns: ['tab', 'events seen', 'p50 ms after leader', 'p95 ms after leader', 'main-thread busy %'],
          numeric: [1, 2, 3, 4],
          rows,
        },
      ],
      targets,
      notes: [
        'Latency: the follower consumer\'s receive time minus the leader consumer\'s, for every sequence both saw (BroadcastChannel hop, structured clone, the follower\'s dedupe and channel).',
        'Main-thread busy: CDP `TaskDuration` delta over the measured span; all four tabs share two cores with the server and the bench process.',
      ],
    }
  } finally {
    await browser.close()
    await server.close()
  }
}
