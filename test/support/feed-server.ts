import { afterAll, beforeAll } from 'vitest'
import { type FeedQuery, type SSEServer, feedUrl, startSSEServer } from '../server/sse-server.js'

/**
 * Starts the project's fault-injecting SSE server for the calling test file (127.0.0.1, stopped in
 * afterAll) and hands out feed URLs, each with its own `sid` so per-connection fault plans and request
 * logs never mix between tests.
 */
export function useFeedServer(prefix: string) {
  let server: SSEServer | undefined
  let sids = 0
  beforeAll(async () => {
    server = await startSSEServer()
  })
  afterAll(async () => {
    await server?.close()
  })
  const running = (): SSEServer => {
    if (!server) throw new Error('the feed server starts in beforeAll')
    return server
  }
  return {
    /** What the server saw for one feed: the requests of each of its connections. */
    log: (sid: string) => running().log(sid),
    feed(query: Omit<FeedQuery, 'sid'>) {
      const sid = `${prefix}${++sids}`
      return { sid, url: feedUrl(running().url, { sid, ...query }) }
    },
  }
}
