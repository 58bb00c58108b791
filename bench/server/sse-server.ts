// The loopback SSE server, run as a child process (fork) so its CPU time never lands on the clients'
// process.cpuUsage(). 127.0.0.1 only, ephemeral port, exits when the parent goes away.
import { createServer, type ServerResponse } from 'node:http'
import { SHAPES, type ShapeName, wireText } from '../lib/sse-bytes.js'

const bodies = new Map<string, Buffer>()

function body(shape: ShapeName, count: number): Buffer {
  const key = `${shape}:${count}`
  let found = bodies.get(key)
  if (!found) {
    found = Buffer.from(wireText(SHAPES[shape], count).text)
    bodies.set(key, found)
  }
  return found
}

/** As fast as the socket takes it: 64 KiB writes, waiting only when the kernel buffer is full. */
async function pump(res: ServerResponse, data: Buffer): Promise<void> {
  for (let at = 0; at < data.length; at += 65_536) {
    if (!res.write(data.subarray(at, at + 65_536))) {
      await new Promise<void>((resolve) => {
        const done = () => {
          res.off('drain', done)
          res.off('close', done)
          resolve()
        }
        res.on('drain', done)
        res.on('close', done)
      })
      if (res.destroyed) return
    }
  }
  res.end()
}

const idle = new Set<ServerResponse>()

const server = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://127.0.0.1')
  const headers = { 'content-type': 'text/event-stream', 'cache-control': 'no-store' }
  if (url.pathname === '/stream') {
    const shape = (url.searchParams.get('shape') ?? 'small') as ShapeName
    const count = Number(url.searchParams.get('count') ?? '1000')
    res.writeHead(200, headers)
    void pump(res, body(shape, count))
  } else if (url.pathname === '/idle') {
    // One event, then nothing: an open subscription at rest.
    res.writeHead(200, headers)
    res.write('id: 1\r\ndata: hello\r\n\r\n')
    idle.add(res)
    res.on('close', () => idle.delete(res))
  } else if (url.pathname === '/stats') {
    res.writeHead(200, { 'content-type': 'application/json' })
    res.end(JSON.stringify({ idle: idle.size }))
  } else {
    res.writeHead(404).end()
  }
})
server.keepAliveTimeout = 60_000
server.listen(0, '127.0.0.1', () => {
  const address = server.address()
  if (address && typeof address === 'object') process.send?.({ port: address.port })
})

// Stop by ourselves: when the bench exits (IPC channel closes) or after 15 minutes whatever happens.
process.on('disconnect', () => process.exit(0))
setTimeout(() => process.exit(0), 15 * 60_000).unref()
