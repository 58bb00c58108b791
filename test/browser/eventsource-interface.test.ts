// The EventSource INTERFACE (HTML §9.2.2, WebIDL) of resumable-sse/eventsource against Chromium's
// native EventSource: the same probe runs on both classes in one page and the results must match,
// key by key. (The stream format has its own differential test in eventsource.test.ts.)
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type SSEServer, startSSEServer } from '../server/sse-server.js'
import { type LaunchedChromium, launchChromium } from '../support/chromium.js'

const ROOT = join(import.meta.dirname, '../..')

let server: SSEServer
let browser: LaunchedChromium
let page: Page

beforeAll(async () => {
  if (!existsSync(join(ROOT, 'dist/eventsource.js'))) throw new Error('dist/ is missing: run `npx tsup` (npm test builds first)')
  server = await startSSEServer({ staticDir: ROOT })
  browser = await launchChromium()
  page = await browser.context.newPage()
  // The harness page for its import map (the class's bare imports); its own harness is not used here.
  await page.goto(`${server.url}/static/test/browser/fixtures/eventsource/page.html`)
})

afterAll(async () => {
  await browser?.close()
  await server?.close()
})

type Probe = Record<string, unknown>

/**
 * Runs `body` (the text of an async function of `(ES, server, tag)`) once with the native class and
 * once with ours, in the page. As a string: vitest would rewrite an `import()` in a serialised function.
 */
async function both(body: string, tag: string): Promise<{ native: Probe; ours: Probe }> {
  return (await page.evaluate(`(async () => {
    const { EventSource: Ours } = await import('/static/dist/eventsource.js')
    const probe = ${body}
    const guard = (p) => Promise.race([p, new Promise((_, reject) => setTimeout(() => reject(new Error('no end within 10 s')), 10_000))])
    const native = await guard(probe(window.EventSource, ${JSON.stringify(server.url)}, ${JSON.stringify(tag)} + '-native'))
    const ours = await guard(probe(Ours, ${JSON.stringify(server.url)}, ${JSON.stringify(tag)} + '-ours'))
    return { native, ours }
  })()`)) as { native: Probe; ours: Probe }
}

/** In the page: a scripted stream's URL (test/server/sse-server.ts `/script`; past the list, 204). */
const SCRIPT = `const script = (server, sid, conns) => server + '/script?sid=' + encodeURIComponent(sid + '-' + Date.now() + Math.random()) + '&conns=' + encodeURIComponent(JSON.stringify(conns))`
const R = 'retry: 20\\n\\n'

function expectSame({ native, ours }: { native: Probe; ours: Probe }): void {
  expect(ours).toEqual(native)
}

describe('the EventSource interface, this class vs the native one (Chromium)', () => {
  it('constructor arguments: none, a null or absent init, an init that is not an object', async () => {
    const result = await both(
      `async (ES, server) => {
        const r = {}
        const t = (k, f) => { try { r[k] = f() } catch (e) { r[k] = 'throws ' + e.constructor.name } }
        const url = server + '/script?sid=ctor&conns=[]'
        t('no arguments', () => { new ES().close(); return 'constructed' })
        t('init null', () => { const es = new ES(url, null); es.close(); return es.withCredentials })
        t('init undefined', () => { const es = new ES(url, undefined); es.close(); return es.withCredentials })
        t('withCredentials truthy', () => { const es = new ES(url, { withCredentials: 1 }); es.close(); return es.withCredentials })
        t('init a number', () => { const es = new ES(url, 5); es.close(); return es.withCredentials })
        t('without new', () => { ES(url); return 'called' })
        t('length', () => ES.length)
        t('name', () => ES.name)
        return r
      }`,
      'ctor',
    )
    expectSame(result)
  })

  it('attributes live on the prototype, read-only; the toString tag; the constants', async () => {
    const result = await both(
      `async (ES, server) => {
        const es = new ES(server + '/script?sid=attrs&conns=[]')
        es.close()
        const r = {}
        r.tag = Object.prototype.toString.call(es)
        r.own = Object.getOwnPropertyNames(es)
        r.assignUrl = [Reflect.set(es, 'url', 'x'), es.url === 'x']
        r.assignWithCredentials = [Reflect.set(es, 'withCredentials', true), es.withCredentials]
        r.assignReadyState = [Reflect.set(es, 'readyState', 0), es.readyState]
        r.onPrototype = ['url', 'withCredentials', 'readyState', 'onopen', 'onmessage', 'onerror', 'close'].map((k) => Object.getOwnPropertyDescriptor(ES.prototype, k) !== undefined)
        r.constants = ['CONNECTING', 'OPEN', 'CLOSED'].map((k) => [Object.getOwnPropertyDescriptor(ES, k), Object.getOwnPropertyDescriptor(ES.prototype, k)])
        r.eventTarget = es instanceof EventTarget
        r.closeTwice = (es.close(), es.close(), es.readyState)
        return r
      }`,
      'attrs',
    )
    expectSame(result)
  })

  it('event handler attributes: non-function values, null, replacing keeps the place, `this`', async () => {
    const result = await both(
      `async (ES, server, tag) => {
        ${SCRIPT}
        let es = new ES(script(server, tag + '-object', [{ chunks: ['${R}data: a\\n\\n'], then: 'hold' }]))
        const r = {}
        const object = { handleEvent() {} }
        es.onerror = object
        r.object = es.onerror === object
        es.onerror = 'string'
        r.string = es.onerror
        es.onerror = 5
        r.number = es.onerror
        es.onerror = null
        const order = []
        // Kept, but never called (WebIDL: a non-callable handler is skipped), and no error is reported.
        es.addEventListener('message', () => order.push('before'))
        es.onmessage = { handleEvent: () => order.push('handleEvent') }
        let reported = 0
        const count = (e) => { if (String(e.message).includes('TypeError')) reported++ }
        window.addEventListener('error', count)
        await new Promise((resolve) => es.addEventListener('message', resolve))
        window.removeEventListener('error', count)
        r.reported = reported
        es.onmessage = null
        es.close()
        es = new ES(script(server, tag, [{ chunks: ['${R}data: a\\n\\n'], then: 'hold' }]))
        es.onmessage = () => order.push('first')
        es.addEventListener('message', () => order.push('listener'))
        es.onmessage = () => order.push('replaced')
        es.onopen = () => order.push('open-before-null')
        es.onopen = null
        es.addEventListener('open', () => order.push('open-listener'))
        es.onopen = function () { order.push('open-handler ' + (this === es)) }
        await new Promise((resolve) => es.addEventListener('message', resolve))
        es.close()
        r.order = order
        return r
      }`,
      'handlers',
    )
    expectSame(result)
  })

  it('event objects: open, message, a named event, error on reconnect (CONNECTING) and when failing (CLOSED)', async () => {
    const result = await both(
      `async (ES, server, tag) => {
        ${SCRIPT}
        const es = new ES(script(server, tag, [{ chunks: ['${R}id: 7\\ndata: a\\n\\nevent: foo\\ndata: b\\n\\nevent: open\\ndata: c\\n\\nevent: error\\ndata: d\\n\\nevent: Foo\\ndata: e\\n\\n'] }]))
        const log = []
        const describe = (e) => ({
          type: e.type, kind: e.constructor.name, readyState: es.readyState, target: e.target === es, current: e.currentTarget === es,
          bubbles: e.bubbles, cancelable: e.cancelable, composed: e.composed, defaultPrevented: e.defaultPrevented,
          ...(e instanceof MessageEvent && { data: e.data, lastEventId: e.lastEventId, origin: e.origin === new URL(server).origin, source: e.source, ports: [Array.isArray(e.ports), e.ports.length, Object.isFrozen(e.ports)] }),
        })
        for (const type of ['open', 'message', 'foo', 'Foo', 'error']) es.addEventListener(type, (e) => log.push(describe(e)))
        es.onopen = (e) => log.push('onopen ' + e.type)
        es.onerror = (e) => log.push('onerror ' + e.constructor.name + ' ' + es.readyState)
        await new Promise((resolve) => es.addEventListener('error', () => es.readyState === 2 && resolve()))
        return { log }
      }`,
      'objects',
    )
    expectSame(result)
  })

  it('close() inside onmessage: no later message, even from the same chunk; the other listeners of that event still run', async () => {
    const result = await both(
      `async (ES, server, tag) => {
        ${SCRIPT}
        const es = new ES(script(server, tag, [{ chunks: ['${R}data: 1\\n\\ndata: 2\\n\\ndata: 3\\n\\n'], then: 'hold' }]))
        const log = []
        es.onmessage = (e) => { log.push('handler ' + e.data); es.close(); log.push('state ' + es.readyState) }
        es.addEventListener('message', (e) => log.push('listener ' + e.data))
        es.onerror = () => log.push('error')
        await new Promise((resolve) => es.addEventListener('message', resolve))
        // Another whole stream before looking: a late dispatch would have happened by now.
        await new Promise((resolve) => { const other = new ES(script(server, tag + '-after', [{ chunks: ['${R}data: z\\n\\n'] }])); other.onmessage = () => { other.close(); resolve() } })
        return { log, readyState: es.readyState }
      }`,
      'close-message',
    )
    expectSame(result)
  })

  it('close() inside onerror on a reconnect: no open and no message follow', async () => {
    const result = await both(
      `async (ES, server, tag) => {
        ${SCRIPT}
        const id = tag + '-' + Date.now()
        const es = new ES(server + '/script?sid=' + id + '&conns=' + encodeURIComponent(JSON.stringify([{ chunks: ['${R}data: a\\n\\n'] }, { chunks: ['data: b\\n\\n'] }])))
        const log = []
        for (const type of ['open', 'message', 'error']) es.addEventListener(type, (e) => log.push(type + ' ' + (e.data ?? '') + ' ' + es.readyState))
        es.onerror = () => { es.close(); log.push('closed ' + es.readyState) }
        await new Promise((resolve) => es.addEventListener('error', resolve))
        await new Promise((resolve) => { const other = new ES(script(server, tag + '-after', [{ chunks: ['${R}data: z\\n\\n'] }, { chunks: ['data: y\\n\\n'] }])); other.onmessage = (e) => { if (e.data === 'y') { other.close(); resolve() } } })
        // No reconnection was made after close(), whatever timer was pending.
        const connections = (await (await fetch(server + '/_log?sid=' + id)).json()).length
        return { log, readyState: es.readyState, connections }
      }`,
      'close-error',
    )
    expectSame(result)
  })
})

describe('the documented differences (README, "Browser EventSource vs this class")', () => {
  it('an unknown init member: ignored natively, a ConfigError here; isTrusted: true natively, false here', async () => {
    const { native, ours } = await both(
      `async (ES, server, tag) => {
        ${SCRIPT}
        const r = {}
        try { new ES(script(server, tag, []), { foo: 1 }).close(); r.unknown = 'constructed' } catch (e) { r.unknown = e.name }
        const es = new ES(script(server, tag, [{ chunks: ['${R}data: a\\n\\n'], then: 'hold' }]))
        r.isTrusted = await new Promise((resolve) => { es.onmessage = (e) => resolve(e.isTrusted) })
        es.close()
        return r
      }`,
      'differences',
    )
    expect(native).toEqual({ unknown: 'constructed', isTrusted: true })
    expect(ours).toEqual({ unknown: 'ConfigError', isTrusted: false })
  })
})

describe('listeners that throw', () => {
  it('a throwing handler is reported, the listeners after it run, and the next message still comes', async () => {
    const result = await both(
      `async (ES, server, tag) => {
        ${SCRIPT}
        const es = new ES(script(server, tag, [{ chunks: ['${R}data: 1\\n\\n', 'data: 2\\n\\n'], then: 'hold' }]))
        const log = []
        const count = (e) => { if (String(e.message).includes('boom')) { log.push('reported'); e.preventDefault() } }
        window.addEventListener('error', count)
        es.onmessage = (e) => { log.push('handler ' + e.data); throw new Error('boom') }
        es.addEventListener('message', function (e) { log.push('listener ' + e.data + ' ' + (this === es)) })
        await new Promise((resolve) => es.addEventListener('message', (e) => e.data === '2' && resolve()))
        es.close()
        window.removeEventListener('error', count)
        return { log }
      }`,
      'throws',
    )
    expectSame(result)
  })
})

// Documented difference: the browser dispatches each event from the event loop, so the microtasks a
// listener queues run before the next event; this class dispatches the events of one chunk in one
// synchronous loop (as `open` comes from a status change, it is apart from the messages).
describe('task ordering (a documented difference)', () => {
  it('microtasks queued by a message listener run after the rest of the chunk here, before the next event natively', async () => {
    const { native, ours } = await both(
      `async (ES, server, tag) => {
        ${SCRIPT}
        const es = new ES(script(server, tag, [{ chunks: ['${R}data: 1\\n\\ndata: 2\\n\\ndata: 3\\n\\n'], then: 'hold' }]))
        const log = []
        es.onopen = () => { log.push('open'); Promise.resolve().then(() => log.push('microtask after open')) }
        es.onmessage = (e) => {
          log.push('message ' + e.data)
          Promise.resolve().then(() => log.push('microtask after ' + e.data))
          // A close() one microtask later (an async handler after an await): natively no message 3.
          if (e.data === '2') Promise.resolve().then(() => es.close())
        }
        await new Promise((resolve) => setTimeout(resolve, 300))
        es.close()
        return { log }
      }`,
      'microtasks',
    )
    expect(native).toEqual({ log: ['open', 'microtask after open', 'message 1', 'microtask after 1', 'message 2', 'microtask after 2'] })
    expect(ours).toEqual({ log: ['open', 'microtask after open', 'message 1', 'message 2', 'message 3', 'microtask after 1', 'microtask after 2', 'microtask after 3'] })
  })
})
