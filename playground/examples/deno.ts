// A Deno script that reads a batch of events and remembers where it stopped, in localStorage (which
// Deno keeps on disk per `--location`). Run it twice: the second run resumes right after the first.
//
//   npm run playground            # in another terminal: the demo feed on http://127.0.0.1:5173/
//   npx deno run --allow-net=127.0.0.1 --allow-env --location http://localhost/ playground/examples/deno.ts
//
// FEED_URL (default http://127.0.0.1:5173/feed) and COUNT (default 10) come from the environment.
// Inside this repository `resumable-sse` resolves to the package itself (the built dist/); in your own
// project write `npm:resumable-sse` or add it to package.json.
import { lastEventId, subscribe } from 'resumable-sse'
import { LocalStorageStore } from 'resumable-sse/local-storage'

const feed = new URL(Deno.env.get('FEED_URL') ?? 'http://127.0.0.1:5173/feed')
const count = Number(Deno.env.get('COUNT') ?? '10')

/** The demo feed wants a bearer token; its server hands out the current one at POST /token. */
async function fetchToken(signal?: AbortSignal): Promise<string> {
  const response = await fetch(new URL('/token', feed), { method: 'POST', signal })
  if (!response.ok) throw new Error(`POST /token answered ${response.status}`)
  return ((await response.json()) as { token: string }).token
}

let token = await fetchToken()
const store = new LocalStorageStore({ prefix: 'resumable-sse-example:' })

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
  // Leaving the loop with `break` closes the subscription; commit the event we were holding too, so
  // the next run starts after the last event printed here.
  commitOnClose: true,
  onNotice(notice) {
    if (notice.kind === 'resumed') console.log(`resumed after checkpoint #${notice.checkpoint.sequence} (localStorage)`)
    if (notice.kind === 'gap') console.log(`gap: expected #${notice.expected}, got #${notice.received}`)
  },
  onStatus(change) {
    if (change.status === 'backoff') console.log(`  (${change.reason}: retrying in ${change.delay} ms)`)
  },
})

if ((await store.get(sub.key)) === undefined) console.log('no checkpoint yet: starting with the live feed')

let consumed = 0
for await (const event of sub) {
  const p = event.json<Record<string, unknown>>()
  const what =
    event.type === 'reading' ? `${p.sensor} ${p.metric} = ${p.value} ${p.unit}`
    : event.type === 'deploy' ? `${p.service} ${p.version} ${p.stage} by ${p.by}`
    : `${p.level}: ${p.sensor} ${p.message}`
  console.log(`#${event.sequence} ${event.type.padEnd(7)} ${what}`)
  if (++consumed >= count) break
}
// `break` ended the iteration, which closed the subscription and flushed the checkpoint.
console.log(`consumed ${consumed} events; checkpoint #${(await store.get(sub.key))?.sequence} is in localStorage`)
