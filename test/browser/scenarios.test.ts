// The shared scenarios in headless Chromium, in the two ways a page loads the library: (a) the ESM
// build through <script type="module"> and an import map, (b) the IIFE build through a plain
// <script src> and the `ResumableSSE` global. Both pages are served under a strict Content-Security-
// Policy (no 'unsafe-eval', no 'unsafe-inline'; connect-src 'self'), and every violation is reported.
import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { type BuildOptions, build } from 'esbuild'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { acrossLifetimes, scenarios } from '../scenarios/scenarios.js'
import { type SSEServer, startSSEServer } from '../server/sse-server.js'
import { type LaunchedChromium, launchChromium } from '../support/chromium.js'

const ROOT = join(import.meta.dirname, '../..')
const FIXTURES = 'test/browser/fixtures/scenarios'
/** Where the compiled scenarios go: under the served root, in the git-ignored .tmp/. */
const OUT = join(ROOT, '.tmp/browser-scenarios')

interface Result {
  ok: boolean
  error?: string
  stack?: string
  key?: string
}
interface Harness {
  build: 'esm' | 'iife'
  names(): string[]
  run(name: string, server: string): Promise<Result>
  first(server: string, sid: string): Promise<Result>
  second(server: string, sid: string, key: string): Promise<Result>
  sid(server: string): string
  life(kind: LifeKind, server: string): void
  step(kind: LifeKind, step: string, ...args: unknown[]): Promise<unknown>
}
type LifeKind = 'offline' | 'pauseWhenHidden' | 'keepWhenHidden'
interface Violation {
  directive: string
  blocked: string
  source: string
}
declare global {
  interface Window {
    scenarioHarness: Harness
    cspViolations: Violation[]
    evalBlocked: boolean
  }
}

/** The shared scenarios (+ the browser-life steps) as the browser can load them: an ES module and a script-tag IIFE. */
async function compileScenarios(): Promise<void> {
  await mkdir(OUT, { recursive: true })
  const common: BuildOptions = { entryPoints: [join(ROOT, 'test/scenarios/browser-life.ts')], bundle: true, write: false, logLevel: 'silent' }
  const esm = await build({ ...common, format: 'esm', target: 'es2022' })
  const iife = await build({ ...common, format: 'iife', globalName: 'RSSEScenarios', target: 'es2020' })
  // Write-then-rename: another run of this suite never serves a half-written file.
  for (const [name, text] of [
    ['scenarios.js', esm.outputFiles![0]!.text],
    ['scenarios.global.js', iife.outputFiles![0]!.text],
  ] as const) {
    const temporary = join(OUT, `${name}.${process.pid}`)
    await writeFile(temporary, text)
    await rename(temporary, join(OUT, name))
  }
}

/** A strict policy; the ESM page's one inline element, its import map, is allowed by hash alone. */
async function policyFor(page: string): Promise<string> {
  const html = await readFile(join(ROOT, FIXTURES, page), 'utf8')
  const importMap = /<script type="importmap">([\s\S]*?)<\/script>/.exec(html)?.[1]
  const hashes = importMap === undefined ? '' : ` 'sha256-${createHash('sha256').update(importMap).digest('base64')}'`
  return [
    "default-src 'none'",
    `script-src 'self'${hashes}`,
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "object-src 'none'",
  ].join('; ')
}

let server: SSEServer
let browser: LaunchedChromium

beforeAll(async () => {
  if (!existsSync(join(ROOT, 'dist/index.js'))) throw new Error('dist/ is missing: run `npx tsup` (npm test builds first)')
  await compileScenarios()
  server = await startSSEServer({ staticDir: ROOT })
  browser = await launchChromium()
})

afterAll(async () => {
  await browser?.close()
  await server?.close()
})

async function open(file: string): Promise<Page> {
  const page = await browser.context.newPage()
  const errors: string[] = []
  page.on('pageerror', (error) => errors.push(String(error)))
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text())
  })
  const url = `${server.url}/static/${FIXTURES}/${file}?csp=${encodeURIComponent(await policyFor(file))}`
  const response = await page.goto(url)
  expect(response?.headers()['content-security-policy']).toBe(await policyFor(file))
  await page.waitForFunction(() => 'scenarioHarness' in window, undefined, { timeout: 10_000 }).catch((error: unknown) => {
    throw new Error(`the ${file} harness did not load: ${errors.join('; ') || String(error)}`)
  })
  return page
}

function expectOk(result: Result): void {
  if (!result.ok) throw new Error(`${result.error ?? 'failed'}\n--- in the page ---\n${result.stack ?? ''}`)
  expect(result.ok).toBe(true)
}

/**
 * Headless Chromium keeps every page 'visible' (switching tabs or minimising does not change it), so
 * the page's visibility is emulated the way the browser reports it: the document's state changes,
 * then `visibilitychange` fires on the document.
 */
async function setVisibility(page: Page, state: 'hidden' | 'visible'): Promise<void> {
  await page.evaluate((s) => {
    Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => s })
    Object.defineProperty(document, 'hidden', { configurable: true, get: () => s === 'hidden' })
    document.dispatchEvent(new Event('visibilitychange'))
  }, state)
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Violations other than the harness's own eval probe. */
async function violations(page: Page): Promise<Violation[]> {
  const all = await page.evaluate(() => window.cspViolations)
  return all.filter((v) => !v.source.endsWith('/violations.js'))
}

describe.each([
  ['esm.html', 'ESM build via <script type="module">'],
  ['iife.html', 'IIFE build via <script src> (the CDN tag)'],
] as const)('scenarios in Chromium: %s, %s', (file: 'esm.html' | 'iife.html', _how: string) => {
  let page: Page

  beforeAll(async () => {
    page = await open(file)
  })

  afterAll(async () => {
    await page?.close()
  })

  it('loads under a CSP that really forbids eval, and carries every shared scenario', async () => {
    expect(await page.evaluate(() => window.evalBlocked)).toBe(true)
    expect(await page.evaluate(() => window.scenarioHarness.names())).toEqual(scenarios.map((s) => s.name))
  })

  for (const scenario of scenarios) {
    it(scenario.name, async () => {
      expectOk(await page.evaluate(([name, url]) => window.scenarioHarness.run(name, url), [scenario.name, server.url] as const))
      expect(await violations(page)).toEqual([])
    })
  }

  describe('browser life', () => {
    const step = (kind: LifeKind, name: string, ...args: unknown[]) =>
      page.evaluate(([k, n, a]) => window.scenarioHarness.step(k, n, ...a), [kind, name, args] as const)

    it('offline: parks instead of burning retries, and resumes promptly on `online`', async () => {
      await page.evaluate(([k, u]) => window.scenarioHarness.life(k, u), ['offline', server.url] as const)
      expect(await step('offline', 'start')).toEqual([1, 2])
      await browser.context.setOffline(true)
      try {
        await step('offline', 'parked', 'offline')
        // With 20 ms retry windows a subscription that kept retrying would try dozens of times here.
        await sleep(1000)
        expect(await step('offline', 'attemptsWhileParked')).toBe(0)
      } finally {
        await browser.context.setOffline(false)
      }
      // Parked means no timer at all: only the `online` event can have brought it back.
      expect(await step('offline', 'finish', 3)).toEqual({ events: [3, 4, 5], lastEventIds: [null, '2'] })
    })

    it('pauseWhenHidden: hiding closes the connection, showing resumes from the checkpoint', async () => {
      await page.evaluate(([k, u]) => window.scenarioHarness.life(k, u), ['pauseWhenHidden', server.url] as const)
      expect(await step('pauseWhenHidden', 'start')).toEqual([1, 2])
      await setVisibility(page, 'hidden')
      try {
        await step('pauseWhenHidden', 'parked', 'hidden')
        await sleep(500)
        expect(await step('pauseWhenHidden', 'attemptsWhileParked')).toBe(0)
      } finally {
        await setVisibility(page, 'visible')
      }
      expect(await step('pauseWhenHidden', 'finish', 4)).toEqual({ events: [3, 4, 5, 6], lastEventIds: [null, '2'] })
    })

    it('by default a hidden page keeps its connection and keeps receiving', async () => {
      await page.evaluate(([k, u]) => window.scenarioHarness.life(k, u), ['keepWhenHidden', server.url] as const)
      expect(await step('keepWhenHidden', 'start')).toEqual([1, 2])
      await setVisibility(page, 'hidden')
      try {
        expect(await step('keepWhenHidden', 'finish', 4)).toEqual({ events: [3, 4, 5, 6], lastEventIds: [null] })
      } finally {
        await setVisibility(page, 'visible')
      }
    })
  })

  it(`${acrossLifetimes.name}: one page load, then a reload`, async () => {
    const url = server.url
    const sid = await page.evaluate((u) => window.scenarioHarness.sid(u), url)
    const first = await page.evaluate(([u, s]) => window.scenarioHarness.first(u, s), [url, sid] as const)
    expectOk(first)
    // A reload is a new JavaScript realm: only the browser store survives it.
    await page.reload()
    await page.waitForFunction(() => 'scenarioHarness' in window, undefined, { timeout: 10_000 })
    expectOk(await page.evaluate(([u, s, k]) => window.scenarioHarness.second(u, s, k), [url, sid, first.key ?? ''] as const))
    expect(await violations(page)).toEqual([])
  })
})
