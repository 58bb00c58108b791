// The README's Cloudflare Worker examples, exactly as written, in workerd (miniflare): each request
// must leave the checkpoint of the last event it answered with in KV, also when the response goes out
// before the write (`ctx.waitUntil(...)`), and the next request resumes right after it.
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Log, LogLevel, Miniflare } from 'miniflare'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { feedUrl, type SSEServer, startSSEServer } from '../server/sse-server.js'
import { bundleWorker } from './bundle.js'

const ROOT = join(import.meta.dirname, '../..')
let server: SSEServer

beforeAll(async () => {
  server = await startSSEServer()
})
afterAll(async () => {
  await server?.close()
})

/** The ```ts blocks of the README's Workers section, in order. */
async function workerExamples(): Promise<string[]> {
  const readme = await readFile(join(ROOT, 'README.md'), 'utf8')
  const section = /### … a Cloudflare Worker[\s\S]*?(?=\n### )/.exec(readme)?.[0] ?? ''
  return [...section.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!)
}

/** Bundled as wrangler would, with `resumable-sse` resolving to the built dist/. */
const bundle = (code: string): Promise<string> =>
  bundleWorker({ code, resolveDir: ROOT, alias: { 'resumable-sse/kv': join(ROOT, 'dist/kv.js'), 'resumable-sse': join(ROOT, 'dist/index.js') } })

/** Waits (bounded) until KV's checkpoints are exactly at `wanted` (one per key); returns the stored cursors. */
async function kvCursors(mf: Miniflare, wanted: string[]): Promise<string[]> {
  const kv = (await mf.getKVNamespace('CHECKPOINTS')) as unknown as {
    list(): Promise<{ keys: { name: string }[] }>
    get(key: string, type: 'text'): Promise<string | null>
  }
  let cursors: string[] = []
  for (let i = 0; i < 40; i++) {
    const { keys } = await kv.list()
    cursors = await Promise.all(keys.map(async ({ name }) => JSON.parse((await kv.get(name, 'text')) ?? 'null')?.cursor as string))
    if (JSON.stringify([...cursors].sort()) === JSON.stringify([...wanted].sort())) break
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  return cursors.sort()
}

type Batch = { n: number }[]

describe("README's Worker examples in workerd", () => {
  it('the section has the three examples', async () => {
    const examples = await workerExamples()
    expect(examples).toHaveLength(3)
    expect(examples[1]).toContain('ctx.waitUntil(sub.close())')
    expect(examples[2]).toContain('ctx.waitUntil(store.flush())')
  })

  it.each([
    [0, 'break out of for await'],
    [1, 'ctx.waitUntil(sub.close())'],
    [2, 'sub.close() then ctx.waitUntil(store.flush())'],
  ])('example %i (%s) keeps the last checkpoint; the next request resumes after it', async (index, _title) => {
    const code = (await workerExamples())[index]!
    const sid = `readme-worker-${index}-${Date.now()}`
    const url = (topic: string) => feedUrl(server.url, { sid: `${sid}-${topic}`, total: 400, hold: true })
    const mf = new Miniflare({
      modules: true,
      script: await bundle(code),
      compatibilityDate: '2025-04-01',
      bindings: { FEED_URL: url('feed'), NEWS_URL: url('news'), PRICES_URL: url('prices') },
      kvNamespaces: ['CHECKPOINTS'],
      cf: false,
      log: new Log(LogLevel.WARN),
    })
    try {
      const request = async (): Promise<Batch[]> => {
        const response = await mf.dispatchFetch('http://worker.test/')
        expect(response.status).toBe(200)
        const body = (await response.json()) as Batch | Batch[]
        return index === 2 ? (body as Batch[]) : [body as Batch]
      }
      const first = await request()
      const lastOf = (batches: Batch[]) => batches.map((b) => String(b.at(-1)!.n))
      // The response is out; the write may still be pending in the request's waitUntil.
      expect(await kvCursors(mf, lastOf(first))).toEqual(lastOf(first).sort())
      const second = await request()
      for (const [i, batch] of second.entries()) expect(batch[0]!.n).toBe(first[i]!.at(-1)!.n + 1)
      expect(await kvCursors(mf, lastOf(second))).toEqual(lastOf(second).sort())
    } finally {
      await mf.dispose()
    }
  })
})
