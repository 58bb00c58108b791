// A Cloudflare Worker that reads the feed in batches and keeps its place in Workers KV: each request
// (or cron run) picks up right after the event the previous one finished.
//
//   npm run playground            # in another terminal: the demo feed on http://127.0.0.1:5173/
//   node playground/examples/run-worker.mjs     # runs this Worker in workerd (miniflare), twice
//
// Bindings: FEED_URL (a var) and CHECKPOINTS (a KV namespace). With wrangler that is, in wrangler.toml:
//   [vars] FEED_URL = "https://your.feed/events"    [[kv_namespaces]] binding = "CHECKPOINTS" id = "..."
import { lastEventId, subscribe } from 'resumable-sse'
import { type KVNamespaceLike, KVNamespaceStore } from 'resumable-sse/kv'

export interface Env {
  FEED_URL: string
  CHECKPOINTS: KVNamespaceLike
}

/** The two members of the Workers ExecutionContext used here (no @cloudflare/workers-types needed). */
interface Context {
  waitUntil(promise: Promise<unknown>): void
}

export interface Batch {
  /** The checkpoint this batch resumed after, or null on the very first run. */
  resumedFrom: number | null
  events: { sequence: number; type: string; data: unknown }[]
  /** What KV holds now: the next batch starts after it. */
  checkpoint: number | null
}

/** Reads `count` events after the stored checkpoint and commits each one as it is handled. */
export async function readBatch(env: Env, count: number): Promise<Batch> {
  const feed = new URL(env.FEED_URL)
  const fetchToken = async (signal?: AbortSignal): Promise<string> => {
    const response = await fetch(new URL('/token', feed), { method: 'POST', signal: signal ?? null })
    if (!response.ok) throw new Error(`POST /token answered ${response.status}`)
    return ((await response.json()) as { token: string }).token
  }
  let token = await fetchToken()
  const store = new KVNamespaceStore(env.CHECKPOINTS)
  let resumedFrom: number | null = null

  const sub = subscribe({
    url: feed,
    headers: () => ({ authorization: `Bearer ${token}` }),
    refreshAuth: async ({ signal }) => {
      token = await fetchToken(signal)
    },
    store,
    fingerprint: 'demo-user', // whose checkpoint this is: the request authenticates
    dialect: lastEventId({ contiguous: true }),
    heartbeatTimeout: 3000,
    commitOnClose: true,
    onNotice(notice) {
      if (notice.kind === 'resumed') resumedFrom = notice.checkpoint.sequence
    },
  })

  const events: Batch['events'] = []
  for await (const event of sub) {
    events.push({ sequence: event.sequence, type: event.type, data: event.json() })
    if (events.length >= count) break
  }
  // Leaving the loop closed the subscription, and close() waited for KV to have the checkpoint.
  const checkpoint = (await store.get(sub.key))?.sequence ?? null
  return { resumedFrom, events, checkpoint }
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const count = Number(new URL(request.url).searchParams.get('count') ?? '10')
    return Response.json(await readBatch(env, count))
  },

  /** The same on a schedule (`[triggers] crons = ["* * * * *"]`): one batch a minute. */
  async scheduled(_controller: unknown, env: Env, ctx: Context): Promise<void> {
    ctx.waitUntil(
      readBatch(env, 100).then((batch) => console.log(`read #${batch.events[0]?.sequence}…#${batch.checkpoint}, resumed after #${batch.resumedFrom}`)),
    )
  },
}
