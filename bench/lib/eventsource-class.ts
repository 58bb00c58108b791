// The `resumable-sse/eventsource` class as a bench client, read exactly like the `eventsource` peer
// (same listener, same close after the last expected event), so the throughput table has the row
// "this class vs the eventsource package on the same bytes". Loaded from the built dist/ on first use.
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import type { EventSource as EventSourceClass } from '../../src/eventsource/index.js'
import { type Client, readWithEventSource } from './clients.js'

const built = join(fileURLToPath(new URL('../..', import.meta.url)), 'dist/eventsource.js')
let loaded: Promise<typeof EventSourceClass> | undefined

export const eventSourceClass: Client = {
  id: 'rsse-eventsource',
  label: 'resumable-sse/eventsource (the EventSource class)',
  kind: 'ours',
  note: 'read like the `eventsource` row: custom `fetch`, one listener, closed after the last expected event',
  async consume(target) {
    if (!existsSync(built)) throw new Error('not yet available in dist/ (dist/eventsource.js)')
    loaded ??= import(pathToFileURL(built).href).then((m: { EventSource: typeof EventSourceClass }) => m.EventSource)
    const EventSource = await loaded
    return readWithEventSource(EventSource as never, target, 'EventSource class')
  },
}
