import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { feedUrl, type FeedQuery, type SSEServer, startSSEServer } from '../server/sse-server.js'

// These tests speak plain HTTP to the test server (fetch + the raw body), never through the
// library, so a fault proven here is the fault the library's own tests get.

let server: SSEServer
let staticDir: string
let sidCounter = 0
const newSid = (): string => `s${++sidCounter}`

beforeAll(async () => {
  staticDir = await mkdtemp(join(tmpdir(), 'sse-static-'))
  await writeFile(join(staticDir, 'app.js'), 'export const answer = 42\n')
  await writeFile(join(staticDir, 'page.html'), '<!doctype html><p>hi</p>\n')
  server = await startSSEServer({ staticDir })
})
afterAll(async () => {
  await server.close()
  await rm(staticDir, { recursive: true, force: true })
})

const url = (query: Omit<FeedQuery, 'sid'> & { sid?: string }): string => feedUrl(server.url, { sid: newSid(), ...query })

/** Reads a body to its end or its failure; `error` says which. */
async function collect(response: Response): Promise<{ text: string; error?: unknown }> {
  const reader = response.body!.getReader()
  const decoder = new TextDecoder()
  let text = ''
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) return { text }
      text += decoder.decode(value, { stream: true })
    }
  } catch (error) {
    return { text, error }
  }
}

/** Reads until `until(text)` holds; returns the reader so the caller can keep going. */
async function readUntil(response: Response, until: (text: string) => boolean) {
  const reader = response.body!.getReader()
  const decoder = new TextDecoder()
  let text = ''
  while (!until(text)) {
    const { done, value } = await reader.read()
    if (done) throw new Error(`Body ended before the condition held; got ${JSON.stringify(text)}`)
    text += decoder.decode(value, { stream: true })
  }
  return { text, reader, decoder }
}

/** A small frame splitter for assertions (complete frames only). */
function frames(text: string): Array<Record<string, string>> {
  return text
    .split('\n\n')
    .slice(0, -1)
    .map((block) => {
      const fields: Record<string, string> = {}
      for (const line of block.split('\n')) {
        const colon = line.indexOf(':')
        const name = line.slice(0, colon)
        fields[name === '' ? 'comment' : name] = line.slice(colon + 1).replace(/^ /, '')
      }
      return fields
    })
}
const ids = (text: string): number[] => frames(text).filter((f) => f.id !== undefined).map((f) => Number(f.id))

describe('the feed', () => {
  it('sends ids 1..total with JSON data, then ends the response cleanly', async () => {
    const sid = newSid()
    const response = await fetch(feedUrl(server.url, { sid, total: 4 }))
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/)
    const { text, error } = await collect(response)
    expect(error).toBeUndefined()
    expect(frames(text)).toEqual([1, 2, 3, 4].map((n) => ({ id: String(n), data: JSON.stringify({ n, sid }) })))
  })

  it('sets no-cache and CORS headers on every response', async () => {
    for (const target of [url({ total: 1 }), url({ plan: [{ status: 500 }] }), `${server.url}/_log?sid=x`, `${server.url}/nowhere`]) {
      const response = await fetch(target)
      await response.arrayBuffer()
      expect(response.headers.get('cache-control')).toBe('no-cache')
      expect(response.headers.get('access-control-allow-origin')).toBe('*')
      expect(response.headers.get('access-control-allow-headers')).toContain('*')
      expect(response.headers.get('access-control-expose-headers')).toBe('*')
    }
  })

  it('answers an OPTIONS preflight with 204', async () => {
    const response = await fetch(url({}), {
      method: 'OPTIONS',
      headers: { origin: 'http://127.0.0.1:1', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,last-event-id' },
    })
    expect(response.status).toBe(204)
    expect(response.headers.get('access-control-allow-origin')).toBe('*')
    expect(response.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('authorization')
  })

  it('resumes after the Last-Event-ID header', async () => {
    const { text } = await collect(await fetch(url({ total: 5 }), { headers: { 'last-event-id': '3' } }))
    expect(ids(text)).toEqual([4, 5])
  })

  it('resumes after the lastEventId query parameter (for plain EventSource)', async () => {
    const { text } = await collect(await fetch(url({ total: 5, lastEventId: 2 })))
    expect(ids(text)).toEqual([3, 4, 5])
  })

  it('sends nothing when already past total, and ends', async () => {
    const { text, error } = await collect(await fetch(url({ total: 3 }), { headers: { 'last-event-id': '3' } }))
    expect(error).toBeUndefined()
    expect(text).toBe('')
  })

  it('pads data to about `size` bytes, names events with `type`, and starts with `retry:`', async () => {
    const { text } = await collect(await fetch(url({ total: 2, size: 200, type: 'tick', retry: 1500 })))
    expect(text.startsWith('retry: 1500\n\n')).toBe(true)
    const events = frames(text).slice(1)
    expect(events.map((f) => f.event)).toEqual(['tick', 'tick'])
    for (const event of events) {
      expect(Math.abs(event.data!.length - 200)).toBeLessThanOrEqual(2)
      expect(JSON.parse(event.data!)).toMatchObject({ n: Number(event.id), pad: expect.any(String) })
    }
  })

  it('still delivers every event in order when paced with `interval`', async () => {
    const { text } = await collect(await fetch(url({ total: 3, interval: 5 })))
    expect(ids(text)).toEqual([1, 2, 3])
  })
})

describe('the request log', () => {
  it('numbers connections per sid and records method, query, headers and body', async () => {
    const sid = newSid()
    const target = feedUrl(server.url, { sid, total: 1 })
    await collect(await fetch(target))
    await collect(
      await fetch(target, {
        method: 'POST',
        body: '{"filter":1}',
        headers: { 'content-type': 'application/json', authorization: 'Bearer t', 'last-event-id': '1', accept: 'text/event-stream', 'cache-control': 'no-store' },
      }),
    )
    await collect(await fetch(feedUrl(server.url, { sid: newSid(), total: 1 }))) // another sid counts apart
    const records = server.log(sid)
    expect(records.map((r) => r.n)).toEqual([1, 2])
    expect(records[0]).toMatchObject({ method: 'GET', path: '/events', query: { sid, total: '1' }, body: '' })
    expect(records[1]).toEqual({
      n: 2,
      method: 'POST',
      path: '/events',
      query: { sid, total: '1' },
      headers: { 'content-type': 'application/json', authorization: 'Bearer t', 'last-event-id': '1', accept: 'text/event-stream', 'cache-control': 'no-store' },
      body: '{"filter":1}',
    })
    const overHttp = await (await fetch(`${server.url}/_log?sid=${sid}`)).json()
    expect(overHttp).toEqual(records)
  })

  it('is empty for an unknown sid', async () => {
    expect(server.log('never-used')).toEqual([])
    expect(await (await fetch(`${server.url}/_log?sid=never-used`)).json()).toEqual([])
  })
})

describe('the per-connection plan', () => {
  it('answers a status with Retry-After, body and x-request-id, then serves normally beyond the plan', async () => {
    const sid = newSid()
    const target = feedUrl(server.url, { sid, total: 2, plan: [{ status: 503, retryAfter: '7', body: '{"busy":true}', requestId: 'req-1' }] })
    const first = await fetch(target)
    expect(first.status).toBe(503)
    expect(first.headers.get('retry-after')).toBe('7')
    expect(first.headers.get('x-request-id')).toBe('req-1')
    expect(first.headers.get('content-type')).toMatch(/^application\/json/)
    expect(await first.json()).toEqual({ busy: true })
    const second = await fetch(target)
    expect(second.status).toBe(200)
    expect(ids((await collect(second)).text)).toEqual([1, 2])
    expect(server.log(sid).map((r) => r.n)).toEqual([1, 2])
  })

  it('applies entry k to connection k only', async () => {
    const target = url({ total: 1, plan: [{}, { status: 500 }, {}] })
    const statuses: number[] = []
    for (let i = 0; i < 4; i++) {
      const response = await fetch(target)
      await response.arrayBuffer()
      statuses.push(response.status)
    }
    expect(statuses).toEqual([200, 500, 200, 200])
  })

  it('streams with another content type when asked', async () => {
    const response = await fetch(url({ total: 1, plan: [{ contentType: 'text/html' }] }))
    expect(response.headers.get('content-type')).toBe('text/html')
    expect(ids((await collect(response)).text)).toEqual([1])
  })

  it('`events` + `end`: a clean end after that many events', async () => {
    const { text, error } = await collect(await fetch(url({ total: 5, plan: [{ events: 2, then: 'end' }] })))
    expect(error).toBeUndefined()
    expect(ids(text)).toEqual([1, 2])
  })

  it('`events` + `drop`: the body fails after exactly that many events', async () => {
    const { text, error } = await collect(await fetch(url({ total: 5, plan: [{ events: 3, then: 'drop' }] })))
    expect(error).toBeInstanceOf(Error)
    expect(ids(text)).toEqual([1, 2, 3])
    expect(text.endsWith('\n\n')).toBe(true)
  })

  it('`drop` without `events` drops after the remaining events', async () => {
    const { text, error } = await collect(await fetch(url({ total: 2, plan: [{ then: 'drop' }] }), { headers: { 'last-event-id': '1' } }))
    expect(error).toBeInstanceOf(Error)
    expect(ids(text)).toEqual([2])
  })

  it('`drop-mid-frame`: half of the next frame, then a failed body', async () => {
    const sid = newSid()
    const { text, error } = await collect(await fetch(feedUrl(server.url, { sid, total: 9, plan: [{ events: 6, then: 'drop-mid-frame' }] })))
    expect(error).toBeInstanceOf(Error)
    const next = `id: 7\ndata: ${JSON.stringify({ n: 7, sid })}\n\n`
    expect(ids(text)).toEqual([1, 2, 3, 4, 5, 6])
    expect(text.endsWith(`\n\n${next.slice(0, Math.floor(next.length / 2))}`)).toBe(true)
  })

  it('`stall`: the connection stays open with no further byte, heartbeats included', async () => {
    const own = await startSSEServer()
    try {
      const sid = 'stalled'
      const stalled = await fetch(feedUrl(own.url, { sid, total: 5, heartbeat: 10, plan: [{ events: 2, then: 'stall' }] }))
      const { text: before, reader, decoder } = await readUntil(stalled, (text) => ids(text).length === 2)
      let after = ''
      const rest = (async () => {
        try {
          for (;;) {
            const { done, value } = await reader.read()
            if (done) return 'ended'
            after += decoder.decode(value, { stream: true })
          }
        } catch {
          return 'failed'
        }
      })()
      // A held connection on the same heartbeat shows the time in which the stalled one stayed silent.
      const held = await fetch(feedUrl(own.url, { sid: 'held', total: 1, heartbeat: 10, plan: [{ then: 'hold' }] }))
      const { reader: heldReader } = await readUntil(held, (text) => text.split(':hb').length > 3)
      await own.close()
      expect(await rest).toBe('failed') // torn down by close(), never ended by the server
      expect(ids(before)).toEqual([1, 2])
      expect(before.replace(/(id|data): .*\n|\n/g, '')).toBe('') // events only
      expect(after).toBe('')
      await heldReader.cancel().catch(() => {})
    } finally {
      await own.close()
    }
  })

  it('`hold` (and `hold=1`): open after the last event, sending `:hb` comments', async () => {
    for (const query of [{ plan: [{ then: 'hold' as const }] }, { hold: true }]) {
      const response = await fetch(url({ total: 2, heartbeat: 5, ...query }))
      const { text, reader } = await readUntil(response, (t) => t.includes(':hb\n\n'))
      expect(ids(text)).toEqual([1, 2])
      await reader.cancel()
    }
  })

  it('`bigEvent`: one id-less event of exactly that many data bytes comes first', async () => {
    const { text } = await collect(await fetch(url({ total: 1, plan: [{ bigEvent: 100_000 }] })))
    const [big, first] = frames(text)
    expect(big!.id).toBeUndefined()
    expect(new TextEncoder().encode(big!.data).length).toBe(100_000)
    expect(first!.id).toBe('1')
  })

  it('`garbage`: raw text written before the events', async () => {
    const { text } = await collect(await fetch(url({ total: 1, plan: [{ garbage: '<html>oops</html>\n' }] })))
    expect(text.startsWith('<html>oops</html>\nid: 1\n')).toBe(true)
  })

  it('`lie: repeat` sends every id twice', async () => {
    const { text } = await collect(await fetch(url({ total: 3, plan: [{ lie: 'repeat' }] })))
    expect(ids(text)).toEqual([1, 1, 2, 2, 3, 3])
  })

  it('`lie: backwards` goes back two ids before each new one, ending at total', async () => {
    const { text } = await collect(await fetch(url({ total: 5, plan: [{ lie: 'backwards' }] })))
    expect(ids(text)).toEqual([1, 2, 1, 3, 2, 4, 3, 5])
    const resumed = await collect(await fetch(url({ total: 5, plan: [{ lie: 'backwards' }] }), { headers: { 'last-event-id': '2' } }))
    expect(ids(resumed.text)).toEqual([3, 4, 3, 5])
  })

  it('rejects a malformed plan with 400', async () => {
    const response = await fetch(`${server.url}/events?sid=${newSid()}&plan=%7Bnope`)
    expect(response.status).toBe(400)
    expect(await response.text()).toContain('plan')
  })
})

describe('auth', () => {
  it('`token` requires the bearer header and answers 401 with a JSON body otherwise', async () => {
    const target = url({ total: 1, token: 'secret' })
    const missing = await fetch(target)
    expect(missing.status).toBe(401)
    expect(await missing.json()).toMatchObject({ error: 'unauthorized' })
    const wrong = await fetch(target, { headers: { authorization: 'Bearer other' } })
    expect(wrong.status).toBe(401)
    await wrong.arrayBuffer()
    const right = await fetch(target, { headers: { authorization: 'Bearer secret' } })
    expect(right.status).toBe(200)
    expect(ids((await collect(right)).text)).toEqual([1])
  })

  it('a plan entry forces 401 even with the right token', async () => {
    const target = url({ total: 1, token: 'secret', plan: [{ status: 401 }] })
    const headers = { authorization: 'Bearer secret' }
    const first = await fetch(target, { headers })
    await first.arrayBuffer()
    expect(first.status).toBe(401)
    expect((await fetch(target, { headers })).status).toBe(200)
  })
})

describe('static files', () => {
  it('serves .js as text/javascript and .html as text/html', async () => {
    const js = await fetch(`${server.url}/static/app.js`)
    expect(js.headers.get('content-type')).toMatch(/^text\/javascript/)
    expect(await js.text()).toBe('export const answer = 42\n')
    const html = await fetch(`${server.url}/static/page.html`)
    expect(html.headers.get('content-type')).toMatch(/^text\/html/)
    expect(html.headers.get('content-security-policy')).toBeNull()
    await html.arrayBuffer()
  })

  it('sets Content-Security-Policy on .html from the `csp` parameter', async () => {
    const policy = "default-src 'self'; script-src 'self'"
    const html = await fetch(`${server.url}/static/page.html?csp=${encodeURIComponent(policy)}`)
    expect(html.headers.get('content-security-policy')).toBe(policy)
    await html.arrayBuffer()
  })

  it('answers 404 for a missing file and 403 outside the directory', async () => {
    const missing = await fetch(`${server.url}/static/none.js`)
    expect(missing.status).toBe(404)
    await missing.arrayBuffer()
    const escape = await fetch(`${server.url}/static/..%2f..%2fetc%2fpasswd`)
    expect(escape.status).toBe(403)
    await escape.arrayBuffer()
  })
})

describe('close()', () => {
  it('destroys open streams so nothing hangs, and stops listening', async () => {
    const own = await startSSEServer()
    const response = await fetch(feedUrl(own.url, { sid: 'x', total: 1, hold: true }))
    const pending = collect(response)
    await own.close()
    const { text, error } = await pending
    expect(ids(text)).toEqual([1])
    expect(error).toBeInstanceOf(Error)
    await expect(fetch(feedUrl(own.url, { sid: 'y' }))).rejects.toThrow()
  })
})
