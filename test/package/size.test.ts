// The byte budget: what `import { subscribe, MemoryStore } from 'resumable-sse'` adds to a user's
// bundle (minified, gzip -9), and the CDN build, measured from dist/ by scripts/size.mjs. Exceeding a
// budget fails `npm test`; raising one is a decision to write down in the commit, not a test to fix.
import { execFile } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { assertBuilt, ROOT } from './pack.js'

const run = promisify(execFile)

interface Size {
  min: number
  gzip: number
}
interface Measured {
  core: Size
  lazy: Record<string, Size>
  stores: Record<string, Size>
  eventsource: Size
  cdn: Size
  peers: Record<string, Size>
}
interface BudgetFile {
  budget: { core: number; cdn: number }
  measured: Partial<Measured>
}

const kB = (n: number) => `${(n / 1000).toFixed(2)} kB`

describe('bundle size', async () => {
  assertBuilt()
  const { stdout } = await run(process.execPath, [join(ROOT, 'scripts/size.mjs'), '--json'], { cwd: ROOT })
  const measured = JSON.parse(stdout) as Measured
  const file = JSON.parse(await readFile(join(ROOT, 'test/package/size-budget.json'), 'utf8')) as BudgetFile

  console.log(
    [
      `core (subscribe + MemoryStore): ${kB(measured.core.gzip)} min+gz, budget ${kB(file.budget.core)}`,
      ...Object.entries(measured.lazy).map(([name, s]) => `  + ${name} (lazy chunk): +${kB(s.gzip)}`),
      ...Object.entries(measured.stores).map(([name, s]) => `  + ${name}: +${kB(s.gzip)}`),
      `  + eventsource (the EventSource class): +${kB(measured.eventsource.gzip)}`,
      `CDN build: ${kB(measured.cdn.gzip)} min+gz, budget ${kB(file.budget.cdn)}`,
      ...Object.entries(measured.peers).map(([name, s]) => `  peer ${name}: ${kB(s.gzip)}`),
    ].join('\n'),
  )

  it(`the core entry stays within its budget (${kB(file.budget.core)} min+gz)`, () => {
    expect(measured.core.gzip).toBeLessThanOrEqual(file.budget.core)
  })

  it(`the CDN build stays within its budget (${kB(file.budget.cdn)} min+gz)`, () => {
    expect(measured.cdn.gzip).toBeLessThanOrEqual(file.budget.cdn)
  })

  it('resumable-sse/eventsource adds at most 1.5 kB min+gz over the core, and only when imported', () => {
    expect(measured.eventsource.gzip).toBeGreaterThan(0)
    expect(measured.eventsource.gzip).toBeLessThanOrEqual(1500)
  })

  it('each lazy chunk (shareAcrossTabs, the Retry-After date parser) stays out of the core until used', () => {
    // A chunk that a static import pulled into the core would cost nothing extra here.
    expect(Object.keys(measured.lazy).sort()).toEqual(['retry-after', 'share'])
    for (const [name, size] of Object.entries(measured.lazy)) {
      expect(size.gzip, `${name} adds nothing: is it bundled into the core?`).toBeGreaterThan(0)
    }
  })

  it('each store subpath costs extra only when imported (tree-shaken out of the core)', () => {
    // A store that leaked into the core entry would cost nothing extra here.
    for (const [name, size] of Object.entries(measured.stores)) {
      expect(size.gzip, `${name} adds nothing: is it bundled into the core entry?`).toBeGreaterThan(0)
    }
  })
})
