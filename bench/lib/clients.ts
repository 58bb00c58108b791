// Every client the bench compares, behind one shape: consume the stream at `target`, hand back what was
// delivered. Each consumer does the same minimal work per event (count it, read `data.length`), so the
// difference between rows is the client, not the consumer.
import { fetchEventSource } from '@microsoft/fetch-event-source'
import { EventSource } from 'eventsource'
import { createParser } from 'eventsource-parser'
import { events as fetchEventStream } from 'fetch-event-stream'
import type { CheckpointStore, SubscribeOptions, Subscription } from '../../src/index.js'
import { countingStore } from './counting-store.js'

export interface Target {
  url: string
  fetch: typeof fetch
  /** The SSE `event:` type the stream uses (EventSource only delivers the types it listens to). */
  eventType: string | undefined
  /** Events in the stream; clients that reconnect on EOF stop after this many. */
  expected: number
}

export interface Tally {
  events: number
  dataChars: number
  /** Durable writes the store saw (resumable-sse rows with a counting store). */
  puts?: number
}

/** Reads a subscription to its end with `for await`, counting what arrived (the same work in every row). */
async function drain(subscription: AsyncIterable<{ data: string }>): Promise<Tally> {
  const tally: Tally = { events: 0, dataChars: 0 }
  for await (const event of subscription) {
    tally.events++
    tally.dataChars += event.data.length
  }
  return tally
}

export type ClientKind = 'ours' | 'peer' | 'floor'

export interface Client {
  id: string
  label: string
  kind: ClientKind
  /** Stated next to the figures (shims, caveats). */
  note?: string
  consume(target: Target): Promise<Tally>
}

/** The part of the built package the bench uses (typed from src/, loaded from dist/). */
export interface ResumableSSE {
  subscribe(options: SubscribeOptions): Subscription
  MemoryStore: new () => CheckpointStore
}

// ---------------------------------------------------------------------------------------------------
// resumable-sse

export function resumableClients(lib: ResumableSSE): Client[] {
  const base = (target: Target): SubscribeOptions => ({
    url: target.url,
    fetch: target.fetch,
    heartbeatTimeout: false,
    mode: 'replay',
  })
  return [
    {
      id: 'rsse',
      label: 'resumable-sse (for await, default store)',
      kind: 'ours',
      async consume(target) {
        return drain(lib.subscribe(base(target)))
      },
    },
    {
      id: 'rsse-memory',
      label: 'resumable-sse (for await, MemoryStore, commit every event)',
      kind: 'ours',
      async consume(target) {
        const store = countingStore(new lib.MemoryStore())
        const subscription = lib.subscribe({ ...base(target), store })
        const tally = await drain(subscription)
        await subscription.flush()
        tally.puts = store.puts
        return tally
      },
    },
    {
      // Diagnostic: a store whose put takes 1 ms (like a disk, KV or IndexedDB write) lets the
      // committer coalesce, so the gap to the MemoryStore row is the per-event commit cost.
      id: 'rsse-slow-store',
      label: 'resumable-sse (for await, store with 1 ms put latency; diagnostic)',
      kind: 'ours',
      async consume(target) {
        const store = countingStore(delayed(new lib.MemoryStore(), 1))
        const subscription = lib.subscribe({ ...base(target), store })
        const tally = await drain(subscription)
        await subscription.flush()
        tally.puts = store.puts
        return tally
      },
    },
    {
      id: 'rsse-foreach',
      label: 'resumable-sse (forEach handler, MemoryStore)',
      kind: 'ours',
      async consume(target) {
        const store = countingStore(new lib.MemoryStore())
        const tally: Tally = { events: 0, dataChars: 0 }
        const subscription = lib.subscribe({ ...base(target), store })
        await subscription.forEach((event) => {
          tally.events++
          tally.dataChars += event.data.length
        })
        await subscription.flush()
        tally.puts = store.puts
        return tally
      },
    },
  ]
}

/** `inner` with every `put` resolving `ms` later: a stand-in for a durable store's write latency. */
function delayed(inner: CheckpointStore, ms: number): CheckpointStore {
  return {
    get: (key) => inner.get(key),
    put: (key, checkpoint) => new Promise<void>((resolve, reject) => setTimeout(() => inner.put(key, checkpoint).then(resolve, reject), ms)),
    delete: (key) => inner.delete(key),
  }
}

// ---------------------------------------------------------------------------------------------------
// Peers

/** The shape both EventSource rows need: the `eventsource` package and our `resumable-sse/eventsource`. */
interface EventSourceLike {
  addEventListener(type: string, listener: (event: { data: string; message?: string }) => void): void
  close(): void
}

/**
 * Reads a feed with an EventSource-style class: one listener, closed after the last expected event (an
 * EventSource reconnects on EOF by design). Shared so the two EventSource rows are read the same way.
 */
export function readWithEventSource(Source: new (url: string, init: { fetch: typeof fetch }) => EventSourceLike, target: Parameters<Client['consume']>[0], name: string): Promise<Tally> {
  return new Promise<Tally>((resolve, reject) => {
    const tally: Tally = { events: 0, dataChars: 0 }
    const source = new Source(target.url, { fetch: target.fetch })
    source.addEventListener(target.eventType ?? 'message', (event) => {
      tally.events++
      tally.dataChars += event.data.length
      if (tally.events === target.expected) {
        source.close()
        resolve(tally)
      }
    })
    source.addEventListener('error', (event) => {
      if (tally.events < target.expected) {
        source.close()
        reject(new Error(`${name} error after ${tally.events} events: ${String(event.message ?? '')}`))
      }
    })
  })
}

const eventsource: Client = {
  id: 'eventsource',
  label: 'eventsource v4',
  kind: 'peer',
  note: 'custom `fetch` option; closed after the last expected event (it reconnects on EOF by design)',
  consume: (target) => readWithEventSource(EventSource, target, 'eventsource'),
}

/**
 * fetch-event-source reads `window` and `document` unconditionally. With `openWhenHidden: true` it never
 * adds a visibility listener, and on completion it only calls `document.removeEventListener` and
 * `window.clearTimeout`, so that is all the shim provides. It is installed only for the duration of each
 * run, because other clients (eventsource) change behaviour when they see a `window`.
 */
const SHIM_NOTE = 'Node shim: `window = { setTimeout, clearTimeout }`, `document = { hidden: false, removeEventListener() {} }`, `openWhenHidden: true`'

function withBrowserShim<T>(run: () => Promise<T>): Promise<T> {
  const g = globalThis as Record<string, unknown>
  const hadWindow = 'window' in g
  const hadDocument = 'document' in g
  if (!hadWindow) g.window = { setTimeout, clearTimeout }
  if (!hadDocument) g.document = { hidden: false, addEventListener() {}, removeEventListener() {} }
  return run().finally(() => {
    if (!hadWindow) delete g.window
    if (!hadDocument) delete g.document
  })
}

const microsoft: Client = {
  id: 'fetch-event-source',
  label: '@microsoft/fetch-event-source',
  kind: 'peer',
  note: SHIM_NOTE,
  consume(target) {
    return withBrowserShim(async () => {
      const tally: Tally = { events: 0, dataChars: 0 }
      await fetchEventSource(target.url, {
        fetch: target.fetch,
        openWhenHidden: true,
        onmessage(message) {
          tally.events++
          tally.dataChars += message.data.length
        },
        onerror(error: unknown) {
          throw error // no retry: one pass over the stream is one run
        },
      })
      return tally
    })
  },
}

const fetchEventStreamClient: Client = {
  id: 'fetch-event-stream',
  label: 'fetch-event-stream',
  kind: 'peer',
  async consume(target) {
    const tally: Tally = { events: 0, dataChars: 0 }
    const response = await target.fetch(target.url, { headers: { accept: 'text/event-stream' } })
    for await (const message of fetchEventStream(response)) {
      tally.events++
      tally.dataChars += message.data?.length ?? 0
    }
    return tally
  },
}

export const PEERS: readonly Client[] = [eventsource, microsoft, fetchEventStreamClient]

// ---------------------------------------------------------------------------------------------------
// Floors: what any client must at least do. They read the same Response body the same way.

async function readText(target: Target, onText: (text: string) => void): Promise<void> {
  const response = await target.fetch(target.url, { headers: { accept: 'text/event-stream' } })
  const reader = response.body!.getReader()
  const decoder = new TextDecoder()
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    onText(decoder.decode(value, { stream: true }))
  }
  const rest = decoder.decode()
  if (rest) onText(rest)
}

const parserFloor: Client = {
  id: 'floor-parser',
  label: 'floor: bare eventsource-parser',
  kind: 'floor',
  note: 'reader + TextDecoder + createParser().feed(), callback per event',
  async consume(target) {
    const tally: Tally = { events: 0, dataChars: 0 }
    const parser = createParser({
      onEvent(message) {
        tally.events++
        tally.dataChars += message.data.length
      },
    })
    await readText(target, (text) => parser.feed(text))
    return tally
  },
}

/**
 * The same parser behind an async generator, one `yield` per event, consumed with `for await`. Not a
 * floor: a generator pays for its own machinery (a promise and a resumption per yield) on top of what
 * `for await` needs; the hand-written iterator below is the floor.
 */
const generatorReference: Client = {
  id: 'floor-parser-iterable',
  label: 'eventsource-parser → async generator → for await (reference)',
  kind: 'floor',
  note: 'the parser floor plus one async-generator yield per event; a generator costs more than an iterator needs to, so this row is a reference, not a floor',
  async consume(target) {
    async function* messages(): AsyncGenerator<{ data: string }> {
      const response = await target.fetch(target.url, { headers: { accept: 'text/event-stream' } })
      const reader = response.body!.getReader()
      const decoder = new TextDecoder()
      const ready: { data: string }[] = []
      const parser = createParser({ onEvent: (message) => void ready.push(message) })
      for (;;) {
        const { done, value } = await reader.read()
        if (done) break
        parser.feed(decoder.decode(value, { stream: true }))
        for (const message of ready) yield message
        ready.length = 0
      }
    }
    const tally: Tally = { events: 0, dataChars: 0 }
    for await (const message of messages()) {
      tally.events++
      tally.dataChars += message.data.length
    }
    return tally
  },
}

/**
 * The floor for `for await` delivery (resumable-sse's shape): the same parser behind a hand-written
 * async iterator. `next()` hands out a parsed event as an already-resolved promise and reads the body
 * only when none is left: one promise per event, which `for await` cannot do without.
 */
class ParsedEvents implements AsyncIterableIterator<{ data: string }> {
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>
  readonly #decoder = new TextDecoder()
  readonly #ready: { data: string }[] = []
  readonly #parser = createParser({ onEvent: (message) => void this.#ready.push(message) })
  #at = 0

  constructor(body: ReadableStream<Uint8Array>) {
    this.#reader = body.getReader()
  }

  [Symbol.asyncIterator](): this {
    return this
  }

  next(): Promise<IteratorResult<{ data: string }>> {
    if (this.#at < this.#ready.length) return Promise.resolve({ value: this.#ready[this.#at++]!, done: false })
    return this.#pull()
  }

  async #pull(): Promise<IteratorResult<{ data: string }>> {
    this.#ready.length = 0
    this.#at = 0
    for (;;) {
      const { done, value } = await this.#reader.read()
      if (done) return { value: undefined, done: true }
      this.#parser.feed(this.#decoder.decode(value, { stream: true }))
      if (this.#ready.length > 0) return { value: this.#ready[this.#at++]!, done: false }
    }
  }
}

const iteratorFloor: Client = {
  id: 'floor-parser-iterator',
  label: 'floor: eventsource-parser → hand-written async iterator → for await',
  kind: 'floor',
  note: 'the parser floor plus one resolved promise per event through a hand-written `next()`: the least a `for await` client pays',
  async consume(target) {
    const response = await target.fetch(target.url, { headers: { accept: 'text/event-stream' } })
    const tally: Tally = { events: 0, dataChars: 0 }
    for await (const message of new ParsedEvents(response.body!)) {
      tally.events++
      tally.dataChars += message.data.length
    }
    return tally
  },
}

/**
 * The physical limit: decode, split lines, collect `data`, dispatch on a blank line. It handles LF and
 * CRLF (also CRLF split across chunks) but not bare CR, ignores every field but `data`, and allocates
 * nothing per event beyond the data string.
 */
const lineFloor: Client = {
  id: 'floor-lines',
  label: 'floor: TextDecoder + line split',
  kind: 'floor',
  note: 'LF/CRLF only, `data` field only',
  async consume(target) {
    const tally: Tally = { events: 0, dataChars: 0 }
    // A line that spans chunks is kept as pieces and joined once, so a 64 kB line cut into eight
    // chunks is copied once, not re-scanned eight times.
    const pieces: string[] = []
    let data = ''
    let hasData = false
    const line = (raw: string) => {
      const text = raw.charCodeAt(raw.length - 1) === 13 ? raw.slice(0, -1) : raw
      if (text.length === 0) {
        if (hasData) {
          tally.events++
          tally.dataChars += data.length
        }
        data = ''
        hasData = false
      } else if (text.startsWith('data:')) {
        const value = text.charCodeAt(5) === 32 ? text.slice(6) : text.slice(5)
        data = hasData ? `${data}\n${value}` : value
        hasData = true
      }
    }
    await readText(target, (text) => {
      let start = 0
      let lf = text.indexOf('\n')
      while (lf !== -1) {
        const piece = text.slice(start, lf)
        if (pieces.length > 0) {
          pieces.push(piece)
          line(pieces.join(''))
          pieces.length = 0
        } else {
          line(piece)
        }
        start = lf + 1
        lf = text.indexOf('\n', start)
      }
      if (start < text.length) pieces.push(text.slice(start))
    })
    return tally
  },
}

export const FLOORS: readonly Client[] = [parserFloor, iteratorFloor, generatorReference, lineFloor]
