// The shared scenarios in headless Chromium, in the two ways a page loads the library: (a) the ESM
// build through <script type="module"> and an import map, (b) the IIFE build through a plain
// <script src> and the `ResumableSSE` global. Both pages are served under a strict Content-Security-
// Policy (no 'unsafe-eval', no 'unsafe-inline'; connect-src 'self'), and every violation is reported.
import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { build } from 'esbuild'
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
}
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

/** The shared scenarios as the browser can load them: an ES module and a script-tag IIFE. */
async function compileScenarios(): Promise<void> {
  await mkdir(OUT, { recursive: true })
  const common = { entryPoints: [join(ROOT, 'test/scenarios/scenarios.ts')], bundle: true, write: false, logLevel: 'silent' } as const
  const esm = await build({ ...common, format: 'esm', target: 'es2022' })
  const iife = await build({ ...common, format: 'iife', globalName: 'RSSEScenarios', target: 'es2020' })
  // Write-then-rename: another run of this suite never serves a half-written file.
  for (const [name, text] of [
    ['scenarios.js', esm.outputFiles[0]!.text],
    ['scenarios.global.js', iife.outputFiles[0]!.text],
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

/** Violations other than the harness's own eval probe. */
async function violations(page: Page): Promise<Violation[]> {
  const all = await page.evaluate(() => window.cspViolations)
  return all.filter((v) => !v.source.endsWith('/violations.js'))
}

describe.each([
  ['esm.html', 'ESM build via <script type="module">'],
  ['iife.html', 'IIFE build via <script src> (the CDN tag)'],
] as const)('scenarios in Chromium: %s, %s', (file) => {
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
