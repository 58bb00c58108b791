// resumable-sse/eventsource in headless Chromium, where the browser's own EventSource is the reference:
//  1. the shared EventSource scenarios (web-platform-tests' eventsource/ behaviours) against this class,
//     and the standard ones against the native EventSource too (proving the port asserts what
//     browsers do);
//  2. a differential test: the same scripted streams to both, the recorded (type, data, lastEventId,
//     readyState) sequences and the Last-Event-ID headers identical except the documented differences;
//  3. withCredentials across origins (cookies), both classes;
//  4. resume across a page reload from IndexedDB.
import { existsSync } from 'node:fs'
import { mkdir, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { build } from 'esbuild'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Entry, esScenarios, type ScriptEntry } from '../scenarios/eventsource.js'
import { type SSEServer, startSSEServer } from '../server/sse-server.js'
import { type LaunchedChromium, launchChromium } from '../support/chromium.js'

const ROOT = join(import.meta.dirname, '../..')
const OUT = join(ROOT, '.tmp/es-browser')

type Which = 'ours' | 'native' | 'iife'
interface Result {
  ok: boolean
  error?: string
  stack?: string
}
interface Harness {
  names(): string[]
  run(which: Which, name: string, server: string): Promise<Result>
  record(which: Which, server: string, sid: string, conns: ScriptEntry[], init?: Record<string, unknown>): Promise<Entry[]>
  globalIsNative(): boolean
  resumeFirst(url: string): Promise<[string, string][]>
  resumeSecond(url: string): Promise<Entry[]>
}
declare global {
  interface Window {
    esHarness: Harness
  }
}

let server: SSEServer
/** A second origin (another port) for the cross-origin cases. */
let other: SSEServer
let browser: LaunchedChromium
let page: Page
let sidCounter = 0
const newSid = (name: string) => `chromium-diff-${name}-${++sidCounter}-${Date.now()}`

async function compileScenarios(): Promise<void> {
  await mkdir(OUT, { recursive: true })
  const result = await build({ entryPoints: [join(ROOT, 'test/scenarios/eventsource.ts')], bundle: true, write: false, format: 'esm', target: 'es2022', logLevel: 'silent' })
  const temporary = join(OUT, `eventsource.js.${process.pid}`)
  await writeFile(temporary, result.outputFiles[0]!.text)
  await rename(temporary, join(OUT, 'eventsource.js'))
}

async function openPage(): Promise<Page> {
  const opened = await browser.context.newPage()
  const errors: string[] = []
  opened.on('pageerror', (error) => errors.push(String(error)))
  await opened.goto(`${server.url}/static/test/browser/fixtures/eventsource/page.html`)
  await opened.waitForFunction(() => 'esHarness' in window, undefined, { timeout: 10_000 }).catch((error: unknown) => {
    throw new Error(`the harness did not load: ${errors.join('; ') || String(error)}`)
  })
  return opened
}

beforeAll(async () => {
  if (!existsSync(join(ROOT, 'dist/eventsource.js'))) throw new Error('dist/ is missing: run `npx tsup` (npm test builds first)')
  await compileScenarios()
  server = await startSSEServer({ staticDir: ROOT })
  other = await startSSEServer()
  browser = await launchChromium()
  page = await openPage()
})

afterAll(async () => {
  await browser?.close()
  await other?.close()
  await server?.close()
})

/** A hang guard, not a speed check: a source that never closes fails here instead of at the suite timeout. */
function guard<T>(what: string, work: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  return Promise.race([
    work,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no end within 15 s`)), 15_000)
    }),
  ]).finally(() => clearTimeout(timer))
}

function expectOk(result: Result): void {
  if (!result.ok) throw new Error(`${result.error ?? 'failed'}\n--- in the page ---\n${result.stack ?? ''}`)
  expect(result.ok).toBe(true)
}

// Regression (review): the class resolved a relative URL against `location`, ignoring `<base href>`.
it('a relative URL resolves against the document base URL (<base href>), as the native class does', async () => {
  // As a string: vitest would rewrite an `import()` inside a function it serialises for the page.
  const urls = (await page.evaluate(`(async () => {
    const base = document.createElement('base')
    base.href = '/sub/dir/'
    document.head.append(base)
    try {
      const { EventSource: Ours } = await import('/static/dist/eventsource.js')
      const native = new EventSource('feed')
      const ours = new Ours('feed')
      native.close()
      ours.close()
      return [native.url, ours.url]
    } finally {
      base.remove()
    }
  })()`)) as [string, string]
  expect(urls[0]).toMatch(/\/sub\/dir\/feed$/)
  expect(urls[1]).toBe(urls[0])
})

describe('EventSource scenarios in Chromium', () => {
  it('the page carries every scenario, and importing the class leaves window.EventSource the native one', async () => {
    expect(await page.evaluate(() => window.esHarness.names())).toEqual(esScenarios.map((s) => s.name))
    expect(await page.evaluate(() => window.esHarness.globalIsNative())).toBe(true)
  })

  for (const scenario of esScenarios) {
    it(`this class: ${scenario.name}`, async () => {
      expectOk(await page.evaluate(([n, u]) => window.esHarness.run('ours', n, u), [scenario.name, server.url] as const))
    })
    it(`CDN build (ResumableSSE.EventSource): ${scenario.name}`, async () => {
      expectOk(await page.evaluate(([n, u]) => window.esHarness.run('iife', n, u), [scenario.name, server.url] as const))
    })
    if (scenario.standard) {
      it(`native EventSource (the reference): ${scenario.name}`, async () => {
        expectOk(await page.evaluate(([n, u]) => window.esHarness.run('native', n, u), [scenario.name, server.url] as const))
      })
    }
  }
})

/** Every stream starts with a short reconnection time, so reconnects take milliseconds. */
const R = 'retry: 20\n\n'
const once = (...chunks: string[]): ScriptEntry[] => [{ chunks: [R, ...chunks] }]

interface Stream {
  name: string
  conns: ScriptEntry[]
  /**
   * A documented difference (README, "browser EventSource vs this class"): what this class records
   * (and the Last-Event-ID headers it sends), given what the native EventSource did.
   */
  difference?: (native: Entry[]) => { log: Entry[]; headers?: (string | null)[] }
}

/** The scripted streams of the differential test. */
const STREAMS: Stream[] = [
  { name: 'LF line endings', conns: once('data: a\n\ndata: b\n\n') },
  { name: 'CRLF line endings', conns: once('data: a\r\n\r\ndata: b\r\n\r\n') },
  { name: 'CR line endings', conns: once('data: a\r\rdata: b\r\r') },
  { name: 'mixed line endings split across chunks (CR | LF)', conns: once('data: a\r', '\ndata: b\r', '\r', 'data: c\n', '\r\n') },
  { name: 'a leading BOM, and a BOM later', conns: [{ chunks: ['\uFEFFdata: a\n\n\uFEFFdata: b\n\n', R, 'data: c\n\n'] }] },
  { name: 'comments and unknown fields', conns: once(':c\n\nfoo: bar\ndata: a\n:c\nDATA: no\ndata\n\n:\n\n') },
  { name: 'multi-line data, spaces after the colon', conns: once('data:a\ndata: b\ndata:  c\ndata:\n\n') },
  { name: 'empty data, and a block without data', conns: once('data:\n\nevent: x\n\ndata: a\n\n') },
  { name: 'named events, empty event name', conns: once('event: tick\ndata: a\n\nevent:\ndata: b\n\nevent: other\ndata: c\n\n') },
  { name: 'ids persist and change', conns: once('id: 1\ndata: a\n\ndata: b\n\nid: 2\ndata: c\n\n') },
  { name: 'opaque ids', conns: once('id: x-1\ndata: a\n\nid: abc\ndata: b\n\n') },
  { name: 'an empty id resets', conns: once('id: 1\ndata: a\n\nid:\ndata: b\n\n') },
  { name: 'an id-only block', conns: once('id: 1\ndata: a\n\nid: 9\n\ndata: b\n\n') },
  { name: 'an id with NUL is ignored', conns: once('id: 1\ndata: a\n\nid: 2\u00003\ndata: b\n\n') },
  { name: 'retry: bogus values ignored', conns: once('retry: 1.5\n\nretry: x\n\ndata: a\n\n') },
  { name: 'an event without the final blank line', conns: once('data: a\n\ndata: b') },
  {
    name: 'a charset other than UTF-8',
    conns: [{ contentType: 'text/event-stream; charset=iso-8859-1', chunks: [R, 'data: € ☃ 😀\n\n'] }],
    // Documented: Chromium fails the connection; the standard ignores the parameter and reads UTF-8.
    difference: () => ({ log: [['open', 1], ['message', '€ ☃ 😀', '', 1], ['error', 0], ['error', 2]], headers: [null, null] }),
  },
  {
    name: 'end of stream and a reconnect with Last-Event-ID',
    conns: [{ chunks: [R, 'id: 1\ndata: a\n\n'] }, { chunks: ['id: 2\ndata: b\n\n'] }, { chunks: ['data: c\n\n'] }],
  },
  { name: 'a dropped connection and a reconnect', conns: [{ chunks: [R, 'id: 5\ndata: a\n\n'], then: 'drop' }, { chunks: ['id: 6\ndata: b\n\n'] }] },
  { name: 'a drop in the middle of an event', conns: [{ chunks: [R, 'id: 5\ndata: a\n\nid: 6\ndata: b'], then: 'drop' }, { chunks: ['data: c\n\n'] }] },
  { name: '204 at the start', conns: [{ status: 204 }] },
  { name: '500 at the start', conns: [{ status: 500 }] },
  { name: '503 after a reconnect', conns: [{ chunks: [R, 'data: a\n\n'] }, { status: 503 }] },
  { name: '404', conns: [{ status: 404 }] },
  { name: 'a wrong content type', conns: [{ contentType: 'text/plain', chunks: ['data: a\n\n'] }] },
  { name: 'a content type that only starts with text/event-stream', conns: [{ contentType: 'text/event-stream-foo', chunks: ['data: a\n\n'] }] },
  { name: 'the content type in other case, with a parameter after spaces', conns: [{ contentType: 'Text/Event-Stream ; charset=utf-8', chunks: ['data: a\n\n'] }] },
  { name: 'a wrong content type after a reconnect', conns: [{ chunks: [R, 'data: a\n\n'] }, { contentType: 'application/json', chunks: ['data: b\n\n'] }] },
  // More of the standard's parsing rules, each where a reader could plausibly differ from a browser.
  { name: 'two BOMs at the very start: the second is part of the first line', conns: [{ chunks: ['\uFEFF\uFEFFdata: a\n\ndata: b\n\n' + R] }] },
  { name: 'a BOM alone in the first chunk, then a second BOM', conns: [{ chunks: ['\uFEFF', '\uFEFFdata: a\n\ndata: b\n\n' + R] }] },
  { name: 'a BOM split across chunks', conns: [{ bytes: true, chunks: ['\xEF', '\xBB', '\xBFdata: a\n\n' + R] }] },
  { name: 'the characters "ï»¿" (not a BOM) at the start', conns: [{ chunks: ['\u00EF\u00BB\u00BFdata: a\n\ndata: b\n\n' + R] }] },
  { name: 'invalid UTF-8 bytes', conns: [{ bytes: true, chunks: [R, 'data: a\xFFb\xC0\xAFc\xED\xA0\x80d\n\n'] }] },
  { name: 'a UTF-8 sequence split across chunks', conns: [{ bytes: true, chunks: [R, 'data: \xE2', '\x82', '\xAC \xF0\x9F', '\x98\x80\n\n'] }] },
  { name: 'a truncated UTF-8 sequence at a chunk end', conns: [{ bytes: true, chunks: [R, 'data: a\xE2\x82', 'b\n\ndata: c\xF0', '\n\n'] }] },
  { name: 'CRLF split between chunks at the blank line', conns: once('data: a\r\n\r', '\ndata: b\r\n\r', '\n') },
  { name: 'lone CRs mixed with LF and CRLF', conns: once('data: a\rdata: b\n\rdata: c\r\n\r\n') },
  { name: 'data without a colon', conns: once('data\n\ndata\ndata\n\ndata: a\n\n') },
  { name: 'empty data twice', conns: once('data:\ndata:\n\n') },
  { name: 'field names with a trailing or leading space are unknown', conns: once('data : x\n\n data: y\n\nid : 5\ndata: a\n\nevent : tick\ndata: b\n\n') },
  { name: 'NUL in data', conns: once('data: a\u0000b\n\n') },
  { name: 'an id with a leading space', conns: once('id:  7\ndata: a\n\n') },
  { name: 'retry: non-digits ignored (a reconnect stays fast)', conns: [{ chunks: [R, 'retry: 99999x\n\nretry:  99999\n\nretry: -99999\n\nretry: +99999\n\nretry: 9e9\n\nretry\n\ndata: a\n\n'] }, { chunks: ['data: b\n\n'] }] },
  { name: 'retry: with a leading zero', conns: [{ chunks: ['retry: 020\n\ndata: a\n\n'] }, { chunks: ['data: b\n\n'] }] },
  { name: 'event: and id: without data', conns: once('event: tick\nid: 3\n\ndata: a\n\n') },
  { name: 'comments only', conns: once(':a\n:b\n\n:c\n') },
  { name: 'a comment directly before the end', conns: once('data: a\n\n:') },
  { name: 'a comment with text before the end, no line break', conns: once('data: a\n\n: bye') },
  { name: 'the last event ends with one LF only', conns: once('data: a\n\ndata: b\n') },
  { name: 'the last event ends with one CR only', conns: once('data: a\n\ndata: b\r') },
  { name: 'a blank line of one CR at the very end', conns: once('data: a\n\r') },
  { name: 'a long line split over many chunks', conns: once('data: ', ...Array.from({ length: 60 }, (_, i) => String(i % 10).repeat(150)), '\n', 'data: end\r', '\n\r', '\n') },
  {
    name: 'an id with NUL is ignored for the reconnect too',
    conns: [{ chunks: [R, 'id: 1\ndata: a\n\nid: 2\u0000\n\n'] }, { chunks: ['data: b\n\n'] }],
  },
  { name: 'an empty id, then a reconnect: no Last-Event-ID', conns: [{ chunks: [R, 'id: 1\ndata: a\n\nid:\ndata: b\n\n'] }, { chunks: ['data: c\n\n'] }] },
  { name: 'an id field without a colon resets, then a reconnect', conns: [{ chunks: [R, 'id: 1\ndata: a\n\nid\n\n'] }, { chunks: ['data: c\n\n'] }] },
  { name: 'an id-only block, then a reconnect', conns: [{ chunks: [R, 'id: 1\ndata: a\n\nid: 7\n\n'] }, { chunks: ['data: b\n\n'] }] },
  { name: 'an empty id, a new id, then a reconnect', conns: [{ chunks: [R, 'id: 5\ndata: a\n\nid:\n\nid: 2\ndata: b\n\n'] }, { chunks: ['data: c\n\n'] }] },
  { name: 'a non-ASCII id and invalid bytes in an id, sent back', conns: [{ chunks: [R, 'id: é€😀\ndata: a\n\n'] }, { bytes: true, chunks: ['id: x\xFFy\ndata: b\n\n'] }, { chunks: ['data: c\n\n'] }] },
  { name: 'events named error and open are MessageEvents to those listeners', conns: once('event: error\ndata: a\n\nevent: open\ndata: b\n\nevent: message\ndata: c\n\n') },
  { name: 'no content type at all', conns: [{ contentType: null, chunks: ['data: a\n\n'] }] },
  { name: 'the content type with a parameter and no space', conns: [{ contentType: 'text/event-stream;charset=utf-8', chunks: [R, 'data: a\n\n'] }] },
  {
    name: 'a replayed numeric id, then events without an id and a reconnect',
    conns: [{ chunks: [R, 'id: 5\ndata: a\n\nid: 3\ndata: b\n\ndata: c\n\n'] }, { chunks: ['data: d\n\n'] }],
    // Documented: the replay `b` is dropped, and its id is no last event ID: lastEventId and
    // Last-Event-ID stay 5, the position a reconnect resumes from.
    difference: (native) => ({
      log: native.filter((entry) => entry[1] !== 'b').map((entry): Entry => (entry.length === 4 && entry[1] !== 'a' ? [entry[0], entry[1], '5', entry[3]] : entry)),
      headers: [null, '5', '5'],
    }),
  },
  {
    name: 'an id longer than 4096 bytes',
    conns: [{ chunks: [R, `id: 1\ndata: a\n\nid: ${'x'.repeat(5000)}\ndata: b\n\ndata: c\n\n`] }, { chunks: ['data: d\n\n'] }],
    // Documented: it is never a position (a server would answer the oversized header with 431 on every
    // reconnect), so lastEventId stays the last id that fits, the one sent back.
    difference: (native) => ({
      log: native.map((entry): Entry => (entry.length === 4 && entry[1] !== 'a' ? [entry[0], entry[1], '1', entry[3]] : entry)),
      headers: [null, '1', '1'],
    }),
  },
  {
    name: 'a numeric id at or below the last one (a replay)',
    conns: once('id: 2\ndata: a\n\nid: 1\ndata: b\n\nid: 3\ndata: c\n\n'),
    // Documented: a numeric id at or below one already dispatched is a replay and is dropped (dedupe).
    difference: (native) => ({ log: native.filter((entry) => !(entry[0] === 'message' && entry[1] === 'b')) }),
  },
]

describe('differential: the same streams to the native EventSource and to this class', () => {
  it(`has at least 20 streams (${STREAMS.length})`, () => {
    expect(STREAMS.length).toBeGreaterThanOrEqual(20)
  })

  for (const stream of STREAMS) {
    it(stream.name, async () => {
      const record = (which: Which) => {
        const sid = newSid(stream.name.replace(/\W+/g, '-'))
        return guard(which, page.evaluate(([w, u, s, c]) => window.esHarness.record(w, u, s, c), [which, server.url, sid, stream.conns] as const)).then((log) => ({ log, headers: server.log(sid).map((r) => r.headers['last-event-id'] ?? null) }))
      }
      const native = await record('native')
      const ours = await record('ours')
      const expected = stream.difference?.(native.log)
      expect(ours.log).toEqual(expected?.log ?? native.log)
      expect(ours.headers).toEqual(expected?.headers ?? native.headers)
    })
  }
})

/** A stream that allows credentials, then a 204 that does too (so both classes end cleanly). */
const CREDENTIALED: ScriptEntry[] = [{ chunks: [R, 'data: a\n\n'], credentials: true }, { status: 204, credentials: true }]

describe('withCredentials across origins', () => {
  for (const withCredentials of [true, false]) {
    it(`withCredentials: ${withCredentials} sends the cookie exactly when the native EventSource does`, async () => {
      await page.evaluate(() => {
        document.cookie = 'es-cookie=1; path=/'
      })
      const cookies: Record<'ours' | 'native', (string | null)[]> = { ours: [], native: [] }
      for (const which of ['native', 'ours'] as const satisfies Which[]) {
        const sid = newSid(`credentials-${withCredentials}`)
        const log = await guard(
          `${which} with withCredentials: ${withCredentials}`,
          page.evaluate(
            ([w, u, s, c, init]) => window.esHarness.record(w, u, s, c, init),
            [which, other.url, sid, CREDENTIALED, { withCredentials }] as const,
          ),
        )
        expect(log.filter((entry) => entry[0] === 'message')).toEqual([['message', 'a', '', 1]])
        cookies[which] = other.log(sid).map((r) => r.headers.cookie ?? null)
      }
      expect(cookies.ours).toEqual(cookies.native)
      // Another port is another origin but the same site: the cookie goes exactly with credentials.
      expect(cookies.ours).toEqual(withCredentials ? ['es-cookie=1', 'es-cookie=1'] : [null, null])
    })
  }
})

describe('resume across a page reload (IndexedDB)', () => {
  it('after a reload, the first event is the one after the last event dispatched before it', async () => {
    const sid = newSid('reload')
    const url = new URL('/script', server.url)
    url.searchParams.set('sid', sid)
    url.searchParams.set('conns', JSON.stringify([{ chunks: [R, 'id: 1\ndata: a\n\nid: 2\ndata: b\n\n'], then: 'hold' }, { chunks: [R, 'id: 3\ndata: c\n\n'] }]))
    const reloading = await openPage()
    try {
      expect(await reloading.evaluate((u) => window.esHarness.resumeFirst(u), url.href)).toEqual([
        ['a', '1'],
        ['b', '2'],
      ])
      // A reload is a new JavaScript realm, and it cuts the open connection: only IndexedDB remembers.
      await reloading.reload()
      await reloading.waitForFunction(() => 'esHarness' in window, undefined, { timeout: 10_000 })
      const second = await reloading.evaluate((u) => window.esHarness.resumeSecond(u), url.href)
      expect(second.filter((entry) => entry[0] === 'message')).toEqual([['message', 'c', '3', 1]])
      expect(server.log(sid).map((r) => r.headers['last-event-id'] ?? null)).toEqual([null, '2', '3'])
    } finally {
      await reloading.close()
    }
  })
})
