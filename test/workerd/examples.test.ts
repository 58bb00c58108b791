// playground/examples/worker.ts in workerd, through the same one-line command the README gives
// (`node playground/examples/run-worker.mjs`: esbuild bundle + miniflare, KV persisted on disk),
// against the playground's demo feed. Each Worker request must start right after the event the
// previous request finished, across requests and across workerd processes.
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Playground, startPlayground } from '../../playground/server/main.mjs'

const ROOT = join(import.meta.dirname, '../..')
const run = promisify(execFile)

interface Request {
  resumedFrom: number | undefined
  sequences: number[]
}

let playground: Playground
let kvDir: string

beforeAll(async () => {
  if (!existsSync(join(ROOT, 'dist/kv.js'))) throw new Error('dist/ is missing: run `npx tsup` (npm test builds first)')
  playground = await startPlayground({ port: 0 })
  kvDir = await mkdtemp(join(tmpdir(), 'rsse-worker-example-'))
})

afterAll(async () => {
  await playground?.close()
  if (kvDir) await rm(kvDir, { recursive: true, force: true })
})

/** Runs the example's command; returns what each Worker request printed. */
async function runWorker(runs: number, count: number): Promise<Request[]> {
  const { stdout } = await run(process.execPath, ['playground/examples/run-worker.mjs'], {
    cwd: ROOT,
    env: { ...process.env, FEED_URL: `${playground.url}feed`, KV_DIR: kvDir, RUNS: String(runs), COUNT: String(count) },
    timeout: 45_000,
  })
  const requests = stdout.split(/^(?=request \d+:)/m).filter((part) => part.startsWith('request '))
  expect(requests, stdout).toHaveLength(runs)
  return requests.map((text) => {
    const resumed = /resumed after checkpoint #(\d+) \(KV\)/.exec(text)
    if (!resumed) expect(text).toMatch(/no checkpoint in KV, started live/)
    return {
      resumedFrom: resumed ? Number(resumed[1]) : undefined,
      sequences: [...text.matchAll(/^ {2}#(\d+) /gm)].map((m) => Number(m[1])),
    }
  })
}

function expectContiguous(sequences: number[]): void {
  expect(sequences.slice(1)).toEqual(sequences.slice(0, -1).map((s) => s + 1))
}

describe('examples/worker.ts (workerd via miniflare, KVNamespaceStore)', () => {
  let lastOfFirstProcess: number

  it('starts live, then each request resumes right after the previous one', async () => {
    const [first, second] = await runWorker(2, 3)
    expect(first!.resumedFrom).toBeUndefined()
    expect(first!.sequences).toHaveLength(3)
    expectContiguous(first!.sequences)
    expect(second!.resumedFrom).toBe(first!.sequences.at(-1))
    expect(second!.sequences).toHaveLength(3)
    expect(second!.sequences[0]).toBe(first!.sequences.at(-1)! + 1)
    expectContiguous(second!.sequences)
    lastOfFirstProcess = second!.sequences.at(-1)!
  })

  it('a new workerd process resumes from the checkpoint KV kept on disk', async () => {
    const [next] = await runWorker(1, 2)
    expect(next!.resumedFrom).toBe(lastOfFirstProcess)
    expect(next!.sequences[0]).toBe(lastOfFirstProcess + 1)
    expectContiguous(next!.sequences)
  })
})
