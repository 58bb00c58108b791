// The playground with two tabs (shareAcrossTabs), used like a person would: the first tab says it
// leads and invites a second; the second says it follows and lists the same events; closing the
// leader tab makes the follower lead, and its timeline shows the hand-off.
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Playground, startPlayground } from '../../playground/server/main.mjs'
import { type LaunchedChromium, launchChromium } from '../support/chromium.js'

const root = fileURLToPath(new URL('../..', import.meta.url))
const WAIT = { timeout: 25_000, interval: 100 }

let playground: Playground
let browser: LaunchedChromium

beforeAll(async () => {
  if (!existsSync(`${root}dist/index.js`)) throw new Error('dist/ is missing: run `npx tsup` (npm test builds first)')
  playground = await startPlayground({ port: 0 })
  browser = await launchChromium()
})

afterAll(async () => {
  await browser?.close()
  await playground?.close()
})

const sequences = (page: Page) => page.$$eval('#events li[data-seq]', (items) => items.reverse().map((li) => Number((li as HTMLElement).dataset.seq)))
const role = (page: Page) => page.getAttribute('#role', 'data-role')

describe('playground: one connection for two tabs', () => {
  it('shows each tab its role, invites a second tab, and shows the hand-off when the leader goes', async () => {
    const first = await browser.context.newPage()
    await first.goto(playground.url)
    await expect.poll(() => role(first), WAIT).toBe('leader')
    expect(await first.textContent('#role-invite')).toMatch(/open a second tab/)

    const second = await browser.context.newPage()
    await second.goto(playground.url)
    await expect.poll(async () => (await sequences(second)).length, WAIT).toBeGreaterThanOrEqual(3)
    expect(await role(second)).toBe('follower')
    expect(await second.getAttribute('#status-pill', 'data-status')).toBe('open')

    await first.close()
    await expect.poll(() => role(second), WAIT).toBe('leader')
    const notices = await second.$$eval('#timeline li[data-kind="notice"] .detail', (items) => items.map((li) => li.textContent ?? ''))
    expect(notices.some((text) => /this tab leads/.test(text))).toBe(true)
    // And it goes on streaming on its own connection, nothing lost or repeated across the hand-off.
    const before = (await sequences(second)).length
    await expect.poll(async () => (await sequences(second)).length, WAIT).toBeGreaterThan(before + 3)
    const seqs = await sequences(second)
    expect(seqs.flatMap((seq, i) => (i > 0 && seq !== seqs[i - 1]! + 1 ? [`${seqs[i - 1]} → ${seq}`] : []))).toEqual([])
    await second.close()
  })
})
