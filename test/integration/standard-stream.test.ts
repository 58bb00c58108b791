// `subscribe` from the BUILT package (dist/, as users import it) reads an event stream the way the HTML
// standard says, over real sockets: the events delivered, `event.id`, `event.cursor` (the standard's
// last event ID) and the `Last-Event-ID` sent on each reconnect. The same streams run against the
// native EventSource in test/browser/eventsource.test.ts (the differential), which is where these
// expectations are checked against a browser.
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { SSEEvent, subscribe as Subscribe } from '../../src/index.js'
import { type ScriptEntry, type SSEServer, startSSEServer } from '../server/sse-server.js'

const DIST = join(import.meta.dirname, '../../dist/index.js')
let subscribe: typeof Subscribe
let server: SSEServer
let sids = 0

beforeAll(async () => {
  if (!existsSync(DIST)) throw new Error('dist/ is missing: run `npx tsup` (npm test builds first)')
  ;({ subscribe } = (await import(/* @vite-ignore */ pathToFileURL(DIST).href)) as { subscribe: typeof Subscribe })
  server = await startSSEServer()
})

afterAll(async () => {
  await server?.close()
})

/** Every stream starts with a short reconnection time, so reconnects take milliseconds. */
const R = 'retry: 5\n\n'

type Seen = [type: string, data: string, id: string | undefined, cursor: string]

/**
 * Runs the scripted connections until the server's 204 after the last one ends the subscription (a
 * fatal HttpError, as the standard fails the connection). Returns what was delivered and the
 * `Last-Event-ID` of every request.
 */
async function read(conns: ScriptEntry[]): Promise<{ seen: Seen[]; sequences: number[]; headers: (string | null)[] }> {
  const sid = `standard-${++sids}`
  const url = new URL('/script', server.url)
  url.searchParams.set('sid', sid)
  url.searchParams.set('conns', JSON.stringify(conns))
  const events: SSEEvent[] = []
  const sub = subscribe({ url: url.href, backoff: { baseDelay: 5, jitter: false } })
  const error = await (async () => {
    for await (const event of sub) events.push(event)
  })().catch((error: unknown) => error)
  expect(error).toMatchObject({ status: 204 })
  return {
    seen: events.map((e) => [e.type, e.data, e.id, e.cursor]),
    sequences: events.map((e) => e.sequence),
    headers: server.log(sid).map((r) => r.headers['last-event-id'] ?? null),
  }
}

const once = (...chunks: string[]): ScriptEntry[] => [{ chunks: [R, ...chunks] }]

describe('subscribe (built) reads an event stream as the HTML standard does', () => {
  it('one BOM at the start is dropped; a second one, or the characters "ï»¿", are part of the first line', async () => {
    expect((await read([{ chunks: ['\uFEFF\uFEFFdata: a\n\ndata: b\n\n' + R] }])).seen).toEqual([['message', 'b', undefined, '']])
    expect((await read([{ chunks: ['\uFEFF', '\uFEFFdata: a\n\ndata: b\n\n' + R] }])).seen).toEqual([['message', 'b', undefined, '']])
    expect((await read([{ chunks: ['\u00EF\u00BB\u00BFdata: a\n\ndata: b\n\n' + R] }])).seen).toEqual([['message', 'b', undefined, '']])
    expect((await read([{ bytes: true, chunks: ['\xEF', '\xBB', '\xBFdata: a\n\n' + R] }])).seen).toEqual([['message', 'a', undefined, '']])
  })

  it('invalid UTF-8 becomes U+FFFD, wherever the chunks split', async () => {
    const { seen } = await read([{ bytes: true, chunks: [R, 'data: a\xFFb\xC0\xAFc\n\n', 'data: \xE2', '\x82', '\xAC x\xE2\x82', 'y\n\n'] }])
    expect(seen.map((e) => e[1])).toEqual(['a\uFFFDb\uFFFD\uFFFDc', '€ x\uFFFDy'])
  })

  it('line endings: CR, LF, CRLF, mixed, and a CRLF split at the blank line', async () => {
    const { seen } = await read(once('data: a\rdata: b\n\rdata: c\r\n\r', '\ndata: d\r\n\r', '\n'))
    expect(seen.map((e) => e[1])).toEqual(['a\nb', 'c', 'd'])
  })

  it('field edge cases: no colon, empty values, spaces around the name, NUL in data', async () => {
    const { seen } = await read(once('data\n\ndata:\ndata:\n\ndata : x\n\n data: y\n\nid : 5\ndata: a\u0000b\n\nevent : tick\ndata: c\n\n'))
    expect(seen).toEqual([
      ['message', '', undefined, ''],
      ['message', '\n', undefined, ''],
      ['message', 'a\u0000b', undefined, ''],
      ['message', 'c', undefined, ''],
    ])
  })

  it('a block without data is not dispatched, and its event type does not carry over; its id does', async () => {
    const { seen } = await read(once('event: tick\n\ndata: a\n\nevent: tick\nid: 3\n\ndata: b\n\n'))
    expect(seen).toEqual([
      ['message', 'a', undefined, ''],
      ['message', 'b', undefined, '3'],
    ])
  })

  it('the last event is not dispatched without its blank line (LF, CR or a comment at the end)', async () => {
    for (const end of ['data: b', 'data: b\n', 'data: b\r', ':', ': bye']) {
      expect((await read(once('data: a\n\n', end))).seen.map((e) => e[1])).toEqual(['a'])
    }
  })

  it('a long line split over many chunks', async () => {
    const parts = Array.from({ length: 40 }, (_, i) => String(i % 10).repeat(250))
    const { seen } = await read(once('data: ', ...parts, '\n', '\n'))
    expect(seen.map((e) => e[1])).toEqual([parts.join('')])
  })

  it('Last-Event-ID on reconnect: the last id dispatched, an id-only block too; an id with NUL is ignored', async () => {
    const r = await read([{ chunks: [R, 'id: 1\ndata: a\n\nid: 7\n\n'] }, { chunks: ['id: 8\ndata: b\n\nid: 9\u0000\n\n'] }, { chunks: ['data: c\n\n'] }])
    expect(r.seen).toEqual([
      ['message', 'a', '1', '1'],
      ['message', 'b', '8', '8'],
      ['message', 'c', undefined, '8'],
    ])
    expect(r.headers).toEqual([null, '7', '8', '8'])
    expect(r.sequences).toEqual([1, 8, 8])
  })

  it('an empty id (`id:` or `id`) resets: no Last-Event-ID on the reconnects after it', async () => {
    for (const reset of ['id:\n\n', 'id\n\n', 'id:\ndata: b\n\n']) {
      const r = await read([{ chunks: [R, 'id: 1\ndata: a\n\n', reset] }, { chunks: ['data: c\n\n'] }])
      expect(r.headers).toEqual([null, null, null])
      expect(r.seen.at(-1)).toEqual(['message', 'c', undefined, ''])
    }
  })

  it('a non-ASCII id and one with invalid bytes go back as their UTF-8 bytes', async () => {
    const r = await read([{ chunks: [R, 'id: é€😀\ndata: a\n\n'] }, { bytes: true, chunks: ['id: x\xFFy\ndata: b\n\n'] }, { chunks: ['data: c\n\n'] }])
    expect(r.seen.map((e) => e[3])).toEqual(['é€😀', 'x\uFFFDy', 'x\uFFFDy'])
    // The server log reads header bytes as Latin-1: each character here is one byte sent.
    const latin1 = (text: string) => Buffer.from(text, 'utf8').toString('latin1')
    expect(r.headers).toEqual([null, latin1('é€😀'), latin1('x\uFFFDy'), latin1('x\uFFFDy')])
  })

  it('retry: only ASCII digits count (a bogus value never slows the reconnect)', async () => {
    const r = await read([{ chunks: [R, 'retry: 99999x\n\nretry:  99999\n\nretry: -99999\n\nretry: +99999\n\nretry: 9e9\n\nretry\n\ndata: a\n\n'] }, { chunks: ['data: b\n\n'] }])
    expect(r.seen.map((e) => e[1])).toEqual(['a', 'b'])
  })

  // Documented difference: a browser's last event ID would be the long id from `b` on, and it would
  // send it back; `event.cursor` stays what is sent back, the last id that fits.
  it('an id longer than 4096 bytes is delivered, but never a position: event.cursor stays the last id sent back', async () => {
    const long = 'x'.repeat(5000)
    const r = await read([{ chunks: [R, `id: 1\ndata: a\n\nid: ${long}\ndata: b\n\ndata: c\n\n`] }, { chunks: ['data: d\n\n'] }])
    expect(r.seen).toEqual([
      ['message', 'a', '1', '1'],
      ['message', 'b', long, '1'],
      ['message', 'c', undefined, '1'],
      ['message', 'd', undefined, '1'],
    ])
    expect(r.headers).toEqual([null, '1', '1'])
  })

  // Regression (rstd): the replayed id became the last event ID of the events after it (`c` said '3')
  // while the resume position stayed 5 ('5' was sent back, and `d` said '5'): event.cursor was not what
  // is sent back. Documented difference: a browser dispatches `b` and its last event ID is '3' from then on.
  it('a replayed numeric id (dropped by dedupe) is no last event ID: event.cursor stays what is sent back', async () => {
    const r = await read([{ chunks: [R, 'id: 5\ndata: a\n\nid: 3\ndata: b\n\ndata: c\n\nid: 2\n\ndata: e\n\n'] }, { chunks: ['data: d\n\n'] }])
    expect(r.seen).toEqual([
      ['message', 'a', '5', '5'],
      ['message', 'c', undefined, '5'],
      ['message', 'e', undefined, '5'],
      ['message', 'd', undefined, '5'],
    ])
    expect(r.headers).toEqual([null, '5', '5'])
  })
})
