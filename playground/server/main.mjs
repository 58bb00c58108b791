// `npm run playground`: a demo SSE feed with fault controls, the dashboard page and the built library,
// on 127.0.0.1 only. Plain Node ESM so it runs without a build step of its own.
//
//   GET  /               dashboard (ESM build + IndexedDB store)     GET /cdn.html  the IIFE build
//   GET  /dist/*         the built library
//   GET  /feed           the SSE feed (Authorization: Bearer <token>; Last-Event-ID resumes)
//   POST /token          {"token": "..."}: the current token (what refreshAuth fetches)
//   POST /faults/drop    reset live connections in the middle of a frame
//   POST /faults/503     end connections, answer the next 2 feed requests 503 + Retry-After: 2
//                        (?count=N&retryAfter=S to change)
//   POST /faults/stall   go silent on live connections (no events, no heartbeats)
//   POST /faults/auth    revoke the token: 401 until the client fetches the new one
//   POST /faults/restart lose in-process state, keep the event log (see faults.mjs)
//   GET  /status         JSON: ids, connections, fault counts
//
// Although it listens on 127.0.0.1 only, any web page the user opens can send it requests: a form POST
// from another site, or DNS rebinding (evil.example resolving to 127.0.0.1 makes the page same-origin
// with us in the browser's eyes). So it answers only requests addressed to its own Host
// (127.0.0.1:<port> or localhost:<port>), refuses a request whose `Origin` is not that Host (curl sends
// none and is welcome), and its errors say what was wrong, never a stack trace or a file path.

import { createServer } from 'node:http'
import { pathToFileURL } from 'node:url'
import { Tokens } from './auth.mjs'
import { Faults } from './faults.mjs'
import { Feed } from './feed.mjs'
import { serveFile } from './static.mjs'
import { FeedStream } from './stream.mjs'

const DEFAULT_PORT = 5173

/**
 * Starts the playground. `port: 0` (or omitted) takes an ephemeral port; `firstId` pins the first
 * event id (tests). Resolves once listening; `close()` stops the generator, every timer and every
 * socket, so nothing keeps the process alive afterwards.
 *
 * @param {{ port?: number, firstId?: number }} [options]
 */
export async function startPlayground({ port = 0, firstId } = {}) {
  const feed = new Feed({ firstId })
  const stream = new FeedStream(feed)
  const tokens = new Tokens()
  const faults = new Faults(stream, tokens)
  const sockets = new Set()
  let actualPort = port

  const server = createServer((req, res) => {
    handle(req, res).catch((error) => {
      // The details stay in the terminal that started the server; the client learns only that it failed.
      console.error('playground: %s %s failed:', req.method, req.url, error)
      if (res.headersSent) return void res.destroy()
      res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' })
      res.end('internal error')
    })
  })
  server.on('connection', (socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })

  async function handle(req, res) {
    const refusal = refuse(req, actualPort)
    if (refusal) return json(res, refusal.status, { error: refusal.error })
    // Origin-form targets only (`/path?query`); parsed against our own origin, so `//host/...` stays a path.
    const url = new URL(`http://127.0.0.1${req.url}`)
    const path = url.pathname
    const method = req.method ?? 'GET'

    if (path === '/feed' && method === 'GET') {
      if (faults.intercept(req, res)) return
      if (!tokens.accepts(req, url)) {
        res.writeHead(401, {
          'content-type': 'application/json',
          'www-authenticate': 'Bearer error="invalid_token"',
          'cache-control': 'no-store',
        })
        res.end(JSON.stringify({ error: 'invalid or expired token; get a new one from POST /token' }))
        return
      }
      stream.serve(req, res)
      return
    }
    if (path === '/token' && (method === 'POST' || method === 'GET')) {
      return json(res, 200, { token: tokens.current })
    }
    if (path === '/status' && method === 'GET') {
      return json(res, 200, {
        newestId: feed.newestId,
        oldestId: feed.oldestId ?? null,
        historySize: feed.size,
        connections: stream.size,
        tokenRotations: tokens.rotations,
        faults: faults.counts,
      })
    }
    const fault = /^\/faults\/(drop|503|stall|auth|restart)$/.exec(path)
    if (fault) {
      if (method !== 'POST') return json(res, 405, { error: 'use POST' }, { allow: 'POST' })
      return json(res, 200, { fault: fault[1], ...applyFault(fault[1], url.searchParams) })
    }
    if (method === 'GET' || method === 'HEAD') return serveFile(path, res)
    return json(res, 404, { error: 'not found' })
  }

  function applyFault(name, params) {
    switch (name) {
      case 'drop':
        return faults.drop()
      case '503': {
        const count = positiveInt(params.get('count'))
        const retryAfter = positiveInt(params.get('retryAfter'))
        return faults.unavailable({ count, retryAfter })
      }
      case 'stall':
        return faults.stall()
      case 'auth':
        return faults.auth()
      case 'restart':
        return faults.restart()
    }
  }

  await new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject)
      resolve()
    })
  })
  feed.start()
  stream.start()

  const address = server.address()
  actualPort = typeof address === 'object' && address !== null ? address.port : port
  const url = `http://127.0.0.1:${actualPort}/`
  let closed
  return {
    url,
    port: actualPort,
    feed,
    tokens,
    close() {
      closed ??= new Promise((resolve) => {
        feed.stop()
        stream.stop()
        server.close(() => resolve())
        for (const socket of sockets) socket.destroy()
      })
      return closed
    },
  }
}

/**
 * Why a request must not be answered (`{ status, error }`), or undefined. `Host` must name this server:
 * `127.0.0.1:<port>` or `localhost:<port>` (DNS rebinding sends the attacker's name). An `Origin`, when
 * present, must be `http://` + that Host: browsers send one on every cross-origin fetch and every POST,
 * so a page on another site cannot pull a fault or read the token; curl sends none.
 */
function refuse(req, port) {
  const host = (req.headers.host ?? '').toLowerCase()
  // Browsers leave the default port out of Host and Origin (PORT=80).
  const names = ['127.0.0.1', 'localhost']
  const ours = names.map((name) => `${name}:${port}`).concat(port === 80 ? names : [])
  if (!ours.includes(host)) return { status: 403, error: 'unknown Host' }
  const origin = req.headers.origin
  if (origin !== undefined && origin.toLowerCase() !== `http://${host}`) return { status: 403, error: 'cross-origin request refused' }
  if (!req.url?.startsWith('/')) return { status: 400, error: 'bad request target' }
  return undefined
}

function positiveInt(text) {
  if (text === null) return undefined
  const n = Number(text)
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined
}

function json(res, status, body, headers = {}) {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers })
  res.end(JSON.stringify(body))
}

/** `PORT` is taken as given (an error if busy); otherwise 5173, or any free port when that is taken. */
async function listenFromEnv() {
  if (process.env.PORT !== undefined && process.env.PORT !== '') return startPlayground({ port: Number(process.env.PORT) })
  try {
    return await startPlayground({ port: DEFAULT_PORT })
  } catch (error) {
    if (error?.code !== 'EADDRINUSE') throw error
    return startPlayground({ port: 0 })
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const playground = await listenFromEnv()
  const u = playground.url
  console.log(`resumable-sse playground\n
  dashboard (ESM build + IndexedDB)   ${u}
  CDN build (<script src>)            ${u}cdn.html
  feed                                ${u}feed   (Bearer token from POST ${u}token)
  faults  curl -X POST ${u}faults/drop        (drop | 503 | stall | auth | restart)

Ctrl+C to stop.`)
  const stop = () => playground.close().then(() => process.exit(0))
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
  // For tests that run the server as a child process: it goes away with its parent.
  if (process.argv.includes('--stop-on-stdin-close')) {
    process.stdin.once('close', stop)
    process.stdin.resume()
  }
}
