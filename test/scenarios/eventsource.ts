// The EventSource behaviours of web-platform-tests (`eventsource/`), ported onto the project's own test
// server (`/script`: exact bytes per connection) and written once for Node, Deno, workerd and Chromium,
// like scenarios.ts. Each receives the built `resumable-sse/eventsource` class as `ctx.lib.EventSource`;
// it imports nothing, so every runtime loads it as is. In Chromium the same scenarios also run against
// the native EventSource where the behaviour is the standard's (see test/browser/eventsource.test.ts).

export interface CheckpointStore {
  get(key: string): Promise<{ sequence: number; cursor: string } | undefined>
  put(key: string, checkpoint: { sequence: number; cursor: string }): Promise<void>
  delete(key: string): Promise<void>
}

export interface ES extends EventTarget {
  readonly readyState: number
  readonly url: string
  readonly withCredentials: boolean
  readonly CONNECTING: number
  readonly OPEN: number
  readonly CLOSED: number
  onopen: ((event: Event) => unknown) | null
  onmessage: ((event: MessageEvent) => unknown) | null
  onerror: ((event: Event) => unknown) | null
  close(): void
}

export interface ESConstructor {
  new (url: string | URL, init?: Record<string, unknown>): ES
  readonly CONNECTING: number
  readonly OPEN: number
  readonly CLOSED: number
}

export interface ESLib {
  EventSource: ESConstructor
  MemoryStore: new () => CheckpointStore
}

export interface ESContext {
  lib: ESLib
  server: string
  tag: string
}

export interface ESScenario {
  name: string
  run(ctx: ESContext): Promise<void>
}

/** One connection of the server's `/script` route (see test/server/README.md). */
export interface ScriptEntry {
  status?: number
  contentType?: string | null
  chunks?: string[]
  /** Each chunk's characters are its bytes (see the server's ScriptEntry). */
  bytes?: boolean
  then?: 'end' | 'hold' | 'drop'
  credentials?: boolean
  redirect?: number
}

export class ScenarioFailure extends Error {
  override name = 'ScenarioFailure'
}

function fail(message: string): never {
  throw new ScenarioFailure(message)
}

const show = (value: unknown): string => JSON.stringify(value)

export function equal<T>(actual: T, expected: T, what: string): void {
  if (show(actual) !== show(expected)) fail(`${what}:\n  expected ${show(expected)}\n  got      ${show(actual)}`)
}

function ok(condition: unknown, what: string): asserts condition {
  if (!condition) fail(what)
}

/** A hang guard, not a speed check; the timer is always cleared (Deno's sanitizer). */
async function within<T>(ms: number, what: string, work: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const guard = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ScenarioFailure(`${what}: did not happen within ${ms} ms`)), ms)
  })
  try {
    return await Promise.race([work, guard])
  } finally {
    clearTimeout(timer)
  }
}

let counter = 0

export function sid(ctx: ESContext, name: string): string {
  counter += 1
  return `${ctx.tag}-es-${name}-${counter}-${Math.random().toString(36).slice(2, 8)}`
}

export function scriptUrl(server: string, id: string, conns: ScriptEntry[]): string {
  const url = new URL('/script', server)
  url.searchParams.set('sid', id)
  url.searchParams.set('conns', JSON.stringify(conns))
  return url.href
}

export interface LogRecord {
  n: number
  headers: { 'last-event-id'?: string; accept?: string; cookie?: string; origin?: string; authorization?: string }
}

export async function serverLog(server: string, id: string): Promise<LogRecord[]> {
  const response = await fetch(new URL(`/_log?sid=${encodeURIComponent(id)}`, server))
  return (await response.json()) as LogRecord[]
}

/** One observed event: `[type, readyState]` for open/error, `[type, data, lastEventId, readyState]` for messages. */
export type Entry = [string, number] | [string, string, string, number]

/**
 * Records what `es` dispatches (open, error, message and the named `types`) until `done` says so (by
 * default: an `error` with readyState CLOSED, i.e. the connection failed for good), then closes it.
 */
export function record(es: ES, types: string[] = [], done: (log: Entry[]) => boolean = closedForGood): Promise<Entry[]> {
  const log: Entry[] = []
  return new Promise((resolve) => {
    const check = () => {
      if (done(log)) {
        es.close()
        resolve(log)
      }
    }
    for (const type of ['open', 'error']) {
      es.addEventListener(type, () => {
        log.push([type, es.readyState])
        check()
      })
    }
    for (const type of ['message', ...types]) {
      es.addEventListener(type, (event) => {
        const message = event as MessageEvent
        log.push([type, String(message.data), message.lastEventId, es.readyState])
        check()
      })
    }
  })
}

export const closedForGood = (log: Entry[]): boolean => {
  const last = log[log.length - 1]
  return last !== undefined && last[0] === 'error' && last[last.length - 1] === 2
}

/** The messages alone, as `[data, lastEventId]`. */
function messages(log: Entry[], type = 'message'): [string, string][] {
  return log.filter((entry) => entry[0] === type && entry.length === 4).map((entry) => [entry[1], entry[2]] as [string, string])
}

/** Streams the chunks on one connection, then ends it (the next connection gets 204: closed for good). */
async function run(ctx: ESContext, name: string, conns: ScriptEntry[], types: string[] = [], init?: Record<string, unknown>): Promise<{ log: Entry[]; id: string }> {
  const id = sid(ctx, name)
  const es = new ctx.lib.EventSource(scriptUrl(ctx.server, id, conns), init)
  const log = await within(10_000, name, record(es, types))
  return { log, id }
}

/** Every stream starts with a short reconnection time, so a reconnect never waits the default 3 s. */
const R = 'retry: 20\n\n'
const stream = (...chunks: string[]): ScriptEntry => ({ chunks: [R, ...chunks] })

/**
 * The shared list. The `standard` flag marks what the HTML standard defines (the browser test runs
 * those against the native EventSource as well); the others exercise this class's extras.
 */
export const esScenarios: (ESScenario & { standard: boolean })[] = [
  {
    name: 'format: a leading BOM is skipped once; a second BOM makes the line an unknown field',
    standard: true,
    async run(ctx) {
      const { log } = await run(ctx, 'bom', [{ chunks: ['\uFEFFdata: 1\n\n\uFEFFdata: 2\n\n', R, 'data: 3\n\n'] }])
      equal(messages(log), [['1', ''], ['3', '']], 'messages')
    },
  },
  {
    name: 'format: CR, LF and CRLF line endings, mixed and split across chunks',
    standard: true,
    async run(ctx) {
      const { log } = await run(ctx, 'newlines', [stream('data:a\r\rdata:b\n\ndata:c\r\n\r\ndata:d\r', '\n\r', '\ndata:e\r\r')])
      equal(messages(log), [['a', ''], ['b', ''], ['c', ''], ['d', ''], ['e', '']], 'messages')
    },
  },
  {
    name: 'format: comments are ignored and one space after the colon is removed',
    standard: true,
    async run(ctx) {
      const { log } = await run(ctx, 'comments', [stream(':hi\n\n: x\ndata:  two spaces\n:mid\ndata:tail\n\n:\n\n')])
      equal(messages(log), [[' two spaces\ntail', '']], 'messages')
    },
  },
  {
    name: 'format: data fields join with LF (`data:` alone is an empty message); a block without data dispatches nothing',
    standard: true,
    async run(ctx) {
      const { log } = await run(ctx, 'data', [stream('data:\n\ndata\ndata\n\nevent: nothing\n\ndata:test\n\nfoo:bar\n\n')])
      equal(messages(log), [['', ''], ['\n', ''], ['test', '']], 'messages')
    },
  },
  {
    name: 'format: an event without the final blank line is discarded at the end of the stream',
    standard: true,
    async run(ctx) {
      const { log } = await run(ctx, 'unterminated', [stream('data: 1\n\ndata: 2')])
      equal(messages(log), [['1', '']], 'messages')
    },
  },
  {
    name: 'format: `event:` names the event; an empty name is `message`',
    standard: true,
    async run(ctx) {
      const { log } = await run(ctx, 'event', [stream('event: tick\ndata: a\n\nevent:\ndata: b\n\nevent: message\ndata: c\n\n')], ['tick'])
      equal(messages(log, 'tick'), [['a', '']], 'tick events')
      equal(messages(log), [['b', ''], ['c', '']], 'message events')
    },
  },
  {
    name: 'format: UTF-8, with a charset parameter',
    standard: true,
    async run(ctx) {
      // Chromium fails a stream whose charset is not UTF-8 (a documented difference, see the
      // differential test); the bytes are read as UTF-8 whatever the parameter says.
      const { log } = await run(ctx, 'utf8', [{ contentType: 'text/event-stream;charset=UTF-8', chunks: [R, 'data: ok € ☃ 😀\n\n'] }])
      equal(messages(log), [['ok € ☃ 😀', '']], 'messages')
    },
  },
  {
    name: 'id: lastEventId persists to events without an id and changes with the next id',
    standard: true,
    async run(ctx) {
      const { log } = await run(ctx, 'id-persists', [stream('id: 1\ndata: a\n\ndata: b\n\nid: 2\ndata: c\n\ndata: d\n\n')])
      equal(messages(log), [['a', '1'], ['b', '1'], ['c', '2'], ['d', '2']], 'messages')
    },
  },
  {
    name: 'id: an empty id resets lastEventId to ""',
    standard: true,
    async run(ctx) {
      const { log } = await run(ctx, 'id-reset', [stream('id: 1\ndata: a\n\nid\ndata: b\n\ndata: c\n\n')])
      equal(messages(log), [['a', '1'], ['b', ''], ['c', '']], 'messages')
    },
  },
  {
    name: 'id: an id-only block (no data) sets lastEventId for the next event',
    standard: true,
    async run(ctx) {
      const { log } = await run(ctx, 'id-only', [stream('id: 1\ndata: a\n\nid: 5\n\ndata: b\n\n')])
      equal(messages(log), [['a', '1'], ['b', '5']], 'messages')
    },
  },
  {
    name: 'id: an id containing NUL is ignored',
    standard: true,
    async run(ctx) {
      const { log } = await run(ctx, 'id-nul', [stream('id: 1\ndata: a\n\nid: x\u0000y\ndata: b\n\n')])
      equal(messages(log), [['a', '1'], ['b', '1']], 'messages')
    },
  },
  {
    name: 'reconnection: after the stream ends, reconnects with Last-Event-ID and fires error (CONNECTING) then open',
    standard: true,
    async run(ctx) {
      const { log, id } = await run(ctx, 'reconnect', [stream('id: 7\ndata: a\n\n'), stream('id: 8\ndata: b\n\n')])
      equal(
        log,
        [['open', 1], ['message', 'a', '7', 1], ['error', 0], ['open', 1], ['message', 'b', '8', 1], ['error', 0], ['error', 2]],
        'events and readyState',
      )
      const requests = await serverLog(ctx.server, id)
      equal(requests.map((r) => r.headers['last-event-id'] ?? null), [null, '7', '8'], 'Last-Event-ID per connection')
    },
  },
  {
    name: 'reconnection: a dropped connection reconnects too; `retry:` with a bogus value is ignored',
    standard: true,
    async run(ctx) {
      const { log } = await run(ctx, 'drop', [{ chunks: [R, 'retry: 1x\n\nid: 1\ndata: a\n\n'], then: 'drop' }, stream('data: b\n\n')])
      equal(log, [['open', 1], ['message', 'a', '1', 1], ['error', 0], ['open', 1], ['message', 'b', '1', 1], ['error', 0], ['error', 2]], 'events')
    },
  },
  {
    name: 'request: sends Accept: text/event-stream, and no Last-Event-ID on the first connection',
    standard: true,
    async run(ctx) {
      const { id } = await run(ctx, 'accept', [stream('data: a\n\n')])
      const [first] = await serverLog(ctx.server, id)
      ok(first !== undefined, 'the server saw the request')
      equal(first.headers.accept, 'text/event-stream', 'Accept')
      equal(first.headers['last-event-id'], undefined, 'Last-Event-ID')
    },
  },
  ...[301, 302, 303, 307, 308].map((redirect) => ({
    name: `request: a ${redirect} redirect is followed`,
    standard: true,
    async run(ctx: ESContext) {
      const { log, id } = await run(ctx, `redirect-${redirect}`, [{ redirect }, stream('data: a\n\n')])
      equal(log, [['open', 1], ['message', 'a', '', 1], ['error', 0], ['error', 2]], 'events')
      equal((await serverLog(ctx.server, id)).length, 3, 'connections (the redirect, the stream, the 204)')
    },
  })),
  ...[204, 205, 210, 299, 404, 410, 500, 503].map((status) => ({
    name: `status: ${status} fails the connection for good (error, CLOSED, no reconnect)`,
    standard: true,
    async run(ctx: ESContext) {
      const { log, id } = await run(ctx, `status-${status}`, [{ status }])
      equal(log, [['error', 2]], 'events')
      equal((await serverLog(ctx.server, id)).length, 1, 'connections')
    },
  })),
  {
    name: 'status: a 500 after a reconnect fails for good as well',
    standard: true,
    async run(ctx) {
      const { log } = await run(ctx, 'status-later', [stream('data: a\n\n'), { status: 500 }])
      equal(log, [['open', 1], ['message', 'a', '', 1], ['error', 0], ['error', 2]], 'events')
    },
  },
  ...['text/plain', 'text/x-bogus', null].map((contentType) => ({
    name: `content type: ${contentType ?? 'none'} fails the connection for good`,
    standard: true,
    async run(ctx: ESContext) {
      const { log } = await run(ctx, 'mime', [{ contentType, chunks: ['data: a\n\n'] }])
      equal(log, [['error', 2]], 'events')
    },
  })),
  {
    name: 'close(): while connecting, nothing is dispatched; inside onopen, no message follows',
    standard: true,
    async run(ctx) {
      const early = new ctx.lib.EventSource(scriptUrl(ctx.server, sid(ctx, 'close-early'), [stream('data: a\n\n')]))
      const seen: string[] = []
      for (const type of ['open', 'message', 'error']) early.addEventListener(type, () => seen.push(type))
      early.close()
      equal(early.readyState, 2, 'readyState right after close()')
      // A second source that opens, gets a message and is closed in onopen: by then the first one
      // would have had time to dispatch, and it must not have.
      const es = new ctx.lib.EventSource(scriptUrl(ctx.server, sid(ctx, 'close-open'), [{ chunks: ['data: a\n\n'], then: 'hold' }]))
      await within(
        10_000,
        'open',
        new Promise<void>((resolve) => {
          es.onopen = () => {
            es.close()
            resolve()
          }
          es.onmessage = () => seen.push('message after close')
        }),
      )
      // One more complete stream before looking: a late dispatch would have happened by now.
      await run(ctx, 'close-after', [stream('data: z\n\n')])
      equal(es.readyState, 2, 'readyState after close() in onopen')
      equal(seen, [], 'events dispatched after close()')
    },
  },
  {
    name: 'interface: constants, readyState, url, withCredentials, EventTarget and handler attributes',
    standard: true,
    async run(ctx) {
      const { EventSource } = ctx.lib
      equal([EventSource.CONNECTING, EventSource.OPEN, EventSource.CLOSED], [0, 1, 2], 'constants on the class')
      const id = sid(ctx, 'interface')
      const url = scriptUrl(ctx.server, id, [{ chunks: ['data: a\n\n'], then: 'hold' }])
      const es = new EventSource(url)
      equal([es.CONNECTING, es.OPEN, es.CLOSED, es.readyState], [0, 1, 2, 0], 'constants on the instance and readyState')
      equal([es.url, es.withCredentials], [url, false], 'url and withCredentials')
      ok(es instanceof EventTarget, 'an EventTarget')
      // The URL argument is stringified, as WebIDL does for a USVString.
      const otherUrl = scriptUrl(ctx.server, sid(ctx, 'stringify'), [])
      const stringified = new EventSource({ toString: () => otherUrl } as unknown as string)
      stringified.close()
      equal(stringified.url, otherUrl, 'url from an object with toString()')
      const order: string[] = []
      es.onmessage = () => order.push('replaced')
      es.addEventListener('message', () => order.push('listener'))
      es.onmessage = () => order.push('handler') // keeps the first handler's place
      const removed = () => order.push('removed')
      es.addEventListener('message', removed)
      es.removeEventListener('message', removed)
      es.dispatchEvent(new Event('custom'))
      const event = await within(
        10_000,
        'message',
        new Promise<MessageEvent>((resolve) => es.addEventListener('message', (e) => resolve(e as MessageEvent))),
      )
      es.close()
      equal(order, ['handler', 'listener'], 'listener order')
      ok(event instanceof MessageEvent, 'a MessageEvent')
      equal([event.data, event.origin, event.bubbles, event.cancelable], ['a', new URL(ctx.server).origin, false, false], 'data, origin, bubbles, cancelable')
      equal(es.onerror, null, 'an unset handler is null')
    },
  },
  {
    name: 'interface: an invalid URL throws a SyntaxError DOMException',
    standard: true,
    async run(ctx) {
      let thrown: unknown
      try {
        new ctx.lib.EventSource('http://[bad')
      } catch (error) {
        thrown = error
      }
      ok(thrown instanceof DOMException && thrown.name === 'SyntaxError', `expected a SyntaxError DOMException, got ${String(thrown)}`)
    },
  },
  {
    name: 'interface: WebIDL details (a missing URL, the init argument, read-only attributes, the toString tag, a non-callable handler)',
    standard: true,
    async run(ctx) {
      const { EventSource } = ctx.lib
      const Loose = EventSource as unknown as new (...args: unknown[]) => ES
      const thrown = (make: () => unknown): string => {
        try {
          make()
          return 'nothing'
        } catch (error) {
          return error instanceof TypeError ? 'TypeError' : String(error)
        }
      }
      // Not the page's own URL (or "undefined" resolved against it): the argument is required.
      equal(thrown(() => new Loose()), 'TypeError', 'new EventSource() without a URL')
      const url = scriptUrl(ctx.server, sid(ctx, 'webidl'), [{ chunks: [R, 'data: a\n\n'], then: 'hold' }])
      equal(thrown(() => new Loose(url, 5)), 'TypeError', 'a number as the init dictionary')
      const es = new Loose(url, null)
      equal(Object.prototype.toString.call(es), '[object EventSource]', 'the toString tag')
      equal([Reflect.set(es, 'url', 'x'), Reflect.set(es, 'withCredentials', true), es.url, es.withCredentials], [false, false, url, false], 'url and withCredentials are read-only')
      equal(Object.keys(es), [], 'own enumerable properties')
      // Kept and read back, but skipped when the event comes (and nothing is reported).
      const handler = { handleEvent: () => fail('a non-callable handler object was called') }
      es.onmessage = handler as unknown as ES['onmessage']
      ok(es.onmessage === (handler as unknown), 'a handler object is read back')
      const data = await within(10_000, 'message', new Promise((resolve) => es.addEventListener('message', (event) => resolve((event as MessageEvent).data))))
      es.close()
      equal(data, 'a', 'the message, to the listener after the handler object')
    },
  },
  {
    name: 'withCredentials: reflected, and a stream that allows credentials is read',
    standard: true,
    async run(ctx) {
      const id = sid(ctx, 'credentials')
      const es = new ctx.lib.EventSource(scriptUrl(ctx.server, id, [{ chunks: [R, 'data: a\n\n'], credentials: true }]), { withCredentials: true })
      equal(es.withCredentials, true, 'withCredentials')
      const log = await within(10_000, 'credentials', record(es))
      equal(messages(log), [['a', '']], 'messages')
    },
  },
  {
    name: 'store: a new instance on the same store resumes after the last dispatched event',
    standard: false,
    async run(ctx) {
      const store = new ctx.lib.MemoryStore()
      const id = sid(ctx, 'resume')
      const url = scriptUrl(ctx.server, id, [stream('id: 1\ndata: a\n\nid: 2\ndata: b\n\n'), stream('id: 3\ndata: c\n\n')])
      const first = await within(10_000, 'first', record(new ctx.lib.EventSource(url, { store }), [], (log) => messages(log).length === 2))
      equal(messages(first), [['a', '1'], ['b', '2']], 'first instance')
      const second = await within(10_000, 'second', record(new ctx.lib.EventSource(url, { store })))
      equal(messages(second), [['c', '3']], 'second instance')
      equal((await serverLog(ctx.server, id)).map((r) => r.headers['last-event-id'] ?? null), [null, '2', '3'], 'Last-Event-ID per connection')
    },
  },
  {
    // The usual way to stop: close() in the handler of the last event wanted. That event was
    // dispatched, so it counts as done; the ones after it in the same chunk were not.
    name: 'store: close() inside onmessage keeps that event done: a new instance resumes right after it',
    standard: false,
    async run(ctx) {
      const store = new ctx.lib.MemoryStore()
      const id = sid(ctx, 'close-resume')
      // The scripted server answers by connection, not by Last-Event-ID: the header is what tells.
      const url = scriptUrl(ctx.server, id, [{ chunks: [R, 'id: 1\ndata: a\n\nid: 2\ndata: b\n\nid: 3\ndata: c\n\n'], then: 'hold' }, stream('id: 3\ndata: c\n\n')])
      const first = new ctx.lib.EventSource(url, { store })
      const seen: string[] = []
      await within(
        10_000,
        'first',
        new Promise<void>((resolve) => {
          first.onmessage = (event: MessageEvent) => {
            seen.push(event.data as string)
            if (event.data === 'b') {
              first.close()
              resolve()
            }
          }
        }),
      )
      const second = await within(10_000, 'second', record(new ctx.lib.EventSource(url, { store })))
      equal(seen, ['a', 'b'], 'first instance')
      equal(messages(second), [['c', '3']], 'second instance')
      equal((await serverLog(ctx.server, id)).map((r) => r.headers['last-event-id'] ?? null), [null, '2', '3'], 'Last-Event-ID per connection')
    },
  },
  {
    name: 'retryHttpErrors: a 503 is retried (error, CONNECTING) instead of failing for good',
    standard: false,
    async run(ctx) {
      const { log } = await run(ctx, 'retry-http', [{ status: 503 }, stream('data: a\n\n')], [], { retryHttpErrors: true, backoff: { baseDelay: 20 } })
      equal(log, [['error', 0], ['open', 1], ['message', 'a', '', 1], ['error', 0], ['error', 2]], 'events')
    },
  },
  {
    name: 'headers: init headers (also a function) are sent on every connection',
    standard: false,
    async run(ctx) {
      const id = sid(ctx, 'headers')
      const es = new ctx.lib.EventSource(scriptUrl(ctx.server, id, [stream('data: a\n\n'), stream('data: b\n\n')]), {
        headers: () => ({ authorization: 'Bearer t' }),
      })
      const log = await within(10_000, 'headers', record(es))
      equal(messages(log), [['a', ''], ['b', '']], 'messages')
      equal((await serverLog(ctx.server, id)).map((r) => r.headers.authorization ?? null), ['Bearer t', 'Bearer t', 'Bearer t'], 'header on each connection')
    },
  },
]
