// One process lifetime for test/deno/eventsource.test.ts: `first` dispatches two events and exits;
// `second` is a new process that must start after them, from localStorage alone. Prints the messages
// as JSON `[data, lastEventId][]`.
import { EventSource } from '../../dist/eventsource.js'
import { LocalStorageStore } from '../../dist/local-storage.js'

const [which, url] = Deno.args
// A persistent store needs an identity (key or fingerprint): this feed is the same for everyone.
const es = new EventSource(url!, { store: new LocalStorageStore(), fingerprint: 'public' })
const seen: [string, string][] = []
await new Promise<void>((resolve) => {
  es.onmessage = (event) => {
    seen.push([event.data, event.lastEventId])
    if (which === 'first' && seen.length === 2) resolve()
  }
  es.onerror = () => {
    if (es.readyState === EventSource.CLOSED) resolve()
  }
})
es.close()
// close() writes the last checkpoint in the background; localStorage writes are synchronous, so one
// turn of the event loop is enough before the process exits.
await new Promise((resolve) => setTimeout(resolve, 50))
console.log(JSON.stringify(seen))
Deno.exit(0)
