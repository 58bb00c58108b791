// Redirects to another origin inside workerd (miniflare), against the built package bundled into a
// Worker. workerd's own `redirect: 'follow'` carries Authorization and Cookie to the other origin (Node
// and browsers drop them), so the library follows such a hop itself and drops them everywhere.
import http from 'node:http'
import { join } from 'node:path'
import { Log, LogLevel, Miniflare } from 'miniflare'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bundleWorker } from './bundle.js'

let mf: Miniflare
const servers: http.Server[] = []
/** What the other origin was sent. */
const seen: http.IncomingHttpHeaders[] = []
let from = ''

async function listen(handler: http.RequestListener): Promise<number> {
  const server = http.createServer(handler)
  servers.push(server)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return (server.address() as { port: number }).port
}

beforeAll(async () => {
  const other = await listen((req, res) => {
    seen.push(req.headers)
    res.writeHead(200, { 'content-type': 'text/event-stream' }).end('data: moved\n\n')
  })
  // `localhost` and `127.0.0.1` are two origins on one machine.
  const origin = await listen((_req, res) => res.writeHead(302, { location: `http://localhost:${other}/feed` }).end())
  from = `http://127.0.0.1:${origin}/feed`
  const script = await bundleWorker(join(import.meta.dirname, 'fixtures/redirect/worker.ts'))
  mf = new Miniflare({ modules: true, script, compatibilityDate: '2025-04-01', log: new Log(LogLevel.WARN) })
  await mf.ready
})

afterAll(async () => {
  await mf?.dispose()
  for (const server of servers) {
    server.closeAllConnections()
    server.close()
  }
})

describe('a redirect to another origin in workerd', () => {
  for (const via of ['subscribe', 'eventsource']) {
    it(`${via}: followed without Authorization and Cookie (other headers go along, as in fetch)`, async () => {
      seen.length = 0
      const url = `http://worker.test/?via=${via}&url=${encodeURIComponent(from)}`
      expect(await (await mf.dispatchFetch(url)).text()).toBe('moved')
      expect(seen).toHaveLength(1)
      expect(seen[0]).not.toHaveProperty('authorization')
      expect(seen[0]).not.toHaveProperty('cookie')
      expect(seen[0]!['x-api-key']).toBe('app-key')
    })
  }
})
