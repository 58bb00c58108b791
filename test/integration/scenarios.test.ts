// The shared scenarios against the built package in Node: the ESM build through `import`, and the
// CommonJS build through Node's own `require` (what `require('resumable-sse')` loads).
import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Lib, scenarios } from '../scenarios/scenarios.js'
import { type SSEServer, startSSEServer } from '../server/sse-server.js'

const DIST = join(import.meta.dirname, '../../dist')

function loadBuilt(): { esm: Promise<Lib>; cjs: () => Lib } {
  if (!existsSync(join(DIST, 'index.js'))) throw new Error('dist/ is missing: run `npx tsup` (npm test builds first)')
  return {
    // A computed URL keeps vite's transform out of it: Node loads dist/index.js itself.
    esm: import(/* @vite-ignore */ pathToFileURL(join(DIST, 'index.js')).href) as Promise<Lib>,
    cjs: () => createRequire(import.meta.url)(join(DIST, 'index.cjs')) as Lib,
  }
}

/** Timers still pending in this process, by count (Node's own view, no instrumentation). */
function pendingTimers(): number {
  return process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length
}

let server: SSEServer
const built = loadBuilt()

beforeAll(async () => {
  server = await startSSEServer()
})

afterAll(async () => {
  await server?.close()
})

for (const [format, load] of [
  ['ESM', () => built.esm],
  ['CommonJS', async () => built.cjs()],
] as const) {
  describe(`scenarios in Node (${format} build)`, () => {
    for (const scenario of scenarios) {
      it(scenario.name, async () => {
        const lib = await load()
        const before = pendingTimers()
        await scenario.run({ lib, server: server.url, tag: `node-${format}` })
        // Every scenario closes its subscription: nothing of the library's may still be scheduled.
        expect(pendingTimers()).toBeLessThanOrEqual(before)
      })
    }
  })
}
