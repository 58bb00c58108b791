// `npm run playground`, used like a person would: open the dashboard in headless Chromium, press
// every fault button, read the status timeline and the event list off the page, reload, and check the
// resume. The page runs the built library (dist/, built by `npm test` before vitest).
import { existsSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Playground, startPlayground } from '../../playground/server/main.mjs'
import { type LaunchedChromium, launchChromium } from '../support/chromium.js'

const root = fileURLToPath(new URL('../..', import.meta.url))
const WAIT = { timeout: 25_000, interval: 100 }

interface Row {
  kind: string
  status?: string
  reason?: string
  delay?: number
  fault?: string
  reconnects?: number
  detail: string
}

let playground: Playground
let browser: LaunchedChromium
let page: Page
const pageErrors: string[] = []

beforeAll(async () => {
  if (!existsSync(`${root}dist/index.js`)) throw new Error('dist/ is missing: run `npx tsup` (npm test builds first)')
  playground = await startPlayground({ port: 0 })
  browser = await launchChromium()
  page = await browser.context.newPage()
  await page.setViewportSize({ width: 1400, height: 900 })
  page.on('pageerror', (error) => pageErrors.push(String(error)))
})

afterAll(async () => {
  await browser?.close()
  await playground?.close()
})

/** The timeline, oldest first, as the page shows it. */
function timeline(): Promise<Row[]> {
  return page.$$eval('#timeline li', (items) =>
    items.reverse().map((li) => {
      const d = (li as HTMLElement).dataset
      return {
        kind: d.kind ?? '',
        status: d.status,
        reason: d.reason,
        delay: d.delay === undefined ? undefined : Number(d.delay),
        fault: d.fault,
        reconnects: d.reconnects === undefined ? undefined : Number(d.reconnects),
        detail: li.querySelector('.detail')?.textContent ?? '',
      }
    }),
  )
}

/** Every event sequence on the page, oldest first. */
function sequences(): Promise<number[]> {
  return page.$$eval('#events li[data-seq]', (items) => items.reverse().map((li) => Number((li as HTMLElement).dataset.seq)))
}

async function counter(id: string): Promise<number> {
  return Number(await page.textContent(`#${id}`))
}

/** What follows the latest press of `fault` on the timeline. */
async function afterFault(fault: string): Promise<Row[]> {
  const rows = await timeline()
  let at = rows.length - 1
  while (at >= 0 && !(rows[at]!.kind === 'fault' && rows[at]!.fault === fault)) at--
  return at === -1 ? [] : rows.slice(at + 1)
}

/** Presses a fault button, waits until the timeline shows `expected` and the stream is open again. */
async function pressFault(fault: string, expected: (row: Row) => boolean): Promise<Row[]> {
  const before = await sequences()
  await page.click(`button[data-fault="${fault}"]`)
  await expect
    .poll(async () => {
      const rows = await afterFault(fault)
      const hit = rows.findIndex(expected)
      return hit !== -1 && rows.slice(hit + 1).some((row) => row.status === 'open')
    }, WAIT)
    .toBe(true)
  // And events flow again: a few more than there were before the fault.
  await expect.poll(async () => (await sequences()).length, WAIT).toBeGreaterThan(before.length + 3)
  return afterFault(fault)
}

/** Nothing missing, nothing repeated: each sequence is the previous plus one (the feed's ids are contiguous). */
async function expectContinuous(): Promise<void> {
  const seqs = await sequences()
  const breaks = seqs.flatMap((seq, i) => (i > 0 && seq !== seqs[i - 1]! + 1 ? [`${seqs[i - 1]} → ${seq}`] : []))
  expect(breaks).toEqual([])
  expect(await counter('gap-count')).toBe(0)
  expect(await counter('repeat-count')).toBe(0)
}

describe('playground dashboard (ESM build + IndexedDB)', () => {
  it('opens the feed and lists live events with their sequences and payloads', async () => {
    await page.goto(playground.url)
    await expect.poll(async () => (await sequences()).length, WAIT).toBeGreaterThanOrEqual(5)
    expect(await page.getAttribute('#status-pill', 'data-status')).toBe('open')
    const first = await page.textContent('#events li[data-seq] .payload')
    expect(first).toMatch(/"(sensor|service)":/)
    // The checkpoint panel follows the stream.
    await expect.poll(async () => page.textContent('#cp-sequence'), WAIT).toMatch(/^#\d+$/)
    expect(await page.textContent('#cp-store')).toBe('IndexedDBStore')
    await expectContinuous()
  })

  it('drop mid-frame: backs off for a lost connection, reconnects, loses and repeats nothing', async () => {
    const rows = await pressFault('drop', (row) => row.status === 'backoff' && row.reason === 'transport')
    expect(rows.find((row) => row.status === 'backoff')?.delay).toBeTypeOf('number')
    await expectContinuous()
  })

  it('503 + Retry-After: waits the 2 s the server asked for, then catches up from history', async () => {
    const rows = await pressFault('503', (row) => row.status === 'backoff' && row.reason === 'http')
    const waits = rows.filter((row) => row.status === 'backoff' && row.reason === 'http').map((row) => row.delay)
    expect(waits.length).toBeGreaterThanOrEqual(1)
    // At least what the server asked for: the 503 follows the fault's dropped connection, so it is the
    // second failure in a row and the jittered backoff is the floor (issue 10).
    for (const delay of waits) expect(delay).toBeGreaterThanOrEqual(2000)
    await expectContinuous()
  })

  it('stall: the 3 s heartbeat timeout notices the silent socket and reconnects', async () => {
    const reconnectsBefore = await counter('reconnects')
    const rows = await pressFault('stall', (row) => row.status === 'backoff' && row.reason === 'starved')
    expect(rows.some((row) => row.status === 'open' && (row.reconnects ?? 0) > reconnectsBefore)).toBe(true)
    expect(await counter('reconnects')).toBeGreaterThan(reconnectsBefore)
    await expectContinuous()
  })

  it('revoked token: a 401 runs refreshAuth, and the next attempt streams with the new token', async () => {
    await pressFault('auth', (row) => row.status === 'refreshing-auth')
    await expectContinuous()
  })

  it('server restart: reconnects once the server is back, resuming from the kept log', async () => {
    await pressFault('restart', (row) => row.status === 'backoff' && row.reason === 'transport')
    await expectContinuous()
    expect(pageErrors).toEqual([])
    await mkdir(`${root}test-results`, { recursive: true })
    await page.screenshot({ path: `${root}test-results/playground.png` })
  })

  it('reload resumes from IndexedDB: the first event after the reload follows the last one before it', async () => {
    const before = await sequences()
    expect(before.length).toBeGreaterThan(0)
    await Promise.all([page.waitForEvent('load'), page.click('#reload')])
    await expect.poll(() => page.getAttribute('#resume-proof', 'data-state'), WAIT).toBe('ok')
    // Read from the page after the reload: the last event it had shown is the one we last saw, or a
    // later one that arrived between our read and the click.
    const lastBefore = Number(await page.getAttribute('#resume-proof', 'data-before'))
    const resumed = Number(await page.getAttribute('#resume-proof', 'data-resumed'))
    const first = Number(await page.getAttribute('#resume-proof', 'data-first'))
    expect(lastBefore).toBeGreaterThanOrEqual(before.at(-1)!)
    expect(resumed).toBe(lastBefore)
    expect(first).toBe(lastBefore + 1)
    expect((await sequences())[0]).toBe(first)
    await expect.poll(async () => (await sequences()).length, WAIT).toBeGreaterThanOrEqual(3)
    await expectContinuous()
    await page.screenshot({ path: `${root}test-results/playground-resumed.png` })
    expect(pageErrors).toEqual([])
  })
})

describe('playground CDN page (IIFE build via <script src>)', () => {
  it('subscribes through the ResumableSSE global and lists contiguous events', async () => {
    const cdn = await browser.context.newPage()
    const errors: string[] = []
    cdn.on('pageerror', (error) => errors.push(String(error)))
    await cdn.goto(`${playground.url}cdn.html`)
    expect(await cdn.evaluate(() => typeof (window as unknown as { ResumableSSE?: { subscribe?: unknown } }).ResumableSSE?.subscribe)).toBe('function')
    const seqs = () => cdn.$$eval('#events li[data-seq]', (items) => items.reverse().map((li) => Number((li as HTMLElement).dataset.seq)))
    await expect.poll(async () => (await seqs()).length, WAIT).toBeGreaterThanOrEqual(5)
    const got = await seqs()
    expect(got.every((seq, i) => i === 0 || seq === got[i - 1]! + 1)).toBe(true)
    expect(await cdn.getAttribute('#status', 'data-status')).toBe('open')
    // The same faults apply: a dropped connection is survived here too.
    await cdn.click('button[data-fault="drop"]')
    await expect.poll(async () => cdn.$$eval('#log li', (items) => items.map((li) => li.textContent ?? '').join('\n')), WAIT).toMatch(/backoff[\s\S]*open/)
    const after = await seqs()
    await expect.poll(async () => (await seqs()).length, WAIT).toBeGreaterThan(after.length + 2)
    const all = await seqs()
    expect(all.every((seq, i) => i === 0 || seq === all[i - 1]! + 1)).toBe(true)
    expect(errors).toEqual([])
    await cdn.close()
  })
})
