// The SSE endpoint: one Connection per open `GET /feed`, replaying what `Last-Event-ID` missed and
// then following the live feed. The fault controls act on the set of open connections through the
// methods at the bottom (drop mid-frame, stall, end cleanly, kill like a crashed process).

import { frame } from './feed.mjs'

/** Comment heartbeats: well under the page's 3 s heartbeatTimeout, so only a real stall trips it. */
export const HEARTBEAT_MS = 1000

/** Sent once per connection: the client's backoff window for a routine reconnect. */
export const RETRY_MS = 1000

// A stalled connection whose client never gives up is cut after this long, so nothing leaks.
const STALL_LIMIT_MS = 60_000

class Connection {
  /** No byte is written once stalled: the client must notice by itself. */
  stalled = false
  #res
  #unlisten
  #stallTimer

  constructor(res) {
    this.#res = res
  }

  /** Replaces the feed subscription this connection holds (first the replay buffer, then live). */
  follow(unlisten) {
    this.#unlisten?.()
    this.#unlisten = unlisten
  }

  write(text) {
    if (!this.stalled && !this.#res.destroyed) this.#res.write(text)
  }

  stall() {
    this.stalled = true
    this.#stallTimer = setTimeout(() => this.kill(), STALL_LIMIT_MS)
  }

  /** A clean end of the body: the client sees EOF at a frame boundary. */
  end() {
    this.#cleanup()
    if (!this.#res.destroyed) this.#res.end()
  }

  /** Writes all but the tail of `text` (no terminating blank line), then resets the socket. */
  dropMidFrame(text) {
    this.#cleanup()
    if (this.#res.destroyed) return
    const cut = Math.max(1, Math.floor(text.length * 0.6))
    this.#res.write(text.slice(0, cut), () => this.#res.socket?.destroy())
  }

  /** The socket just vanishes, as when the server process dies. */
  kill() {
    this.#cleanup()
    this.#res.socket?.destroy()
    this.#res.destroy()
  }

  /** Idempotent: stop following the feed and forget the stall timer. */
  cleanup() {
    this.#cleanup()
  }

  #cleanup() {
    this.#unlisten?.()
    this.#unlisten = undefined
    clearTimeout(this.#stallTimer)
  }
}

export class FeedStream {
  #feed
  /** @type {Set<Connection>} */
  #connections = new Set()
  #heartbeat = undefined

  constructor(feed) {
    this.#feed = feed
  }

  start() {
    this.#heartbeat ??= setInterval(() => {
      const line = `: heartbeat ${new Date().toISOString()}\n\n`
      for (const connection of this.#connections) connection.write(line)
    }, HEARTBEAT_MS)
  }

  stop() {
    clearInterval(this.#heartbeat)
    this.#heartbeat = undefined
    this.killAll()
  }

  /** Serves one `GET /feed` that has passed the fault and auth gates. */
  serve(req, res) {
    req.socket.setNoDelay(true)
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    })

    const header = req.headers['last-event-id']
    const lastId = typeof header === 'string' && /^\d{1,15}$/.test(header.trim()) ? Number(header.trim()) : undefined
    const connection = new Connection(res)
    this.#connections.add(connection)
    res.on('close', () => {
      connection.cleanup()
      this.#connections.delete(connection)
    })

    // Replay and subscribe in the same synchronous turn: no event can be appended in between, so
    // nothing falls into a crack between history and the live tail.
    let out = `retry: ${RETRY_MS}\n: connected, newest id ${this.#feed.newestId}\n\n`
    if (lastId !== undefined) {
      if (lastId > this.#feed.newestId) out += `: Last-Event-ID ${lastId} is newer than this log; following live\n\n`
      const { events, gap } = this.#feed.since(lastId)
      if (gap) out += `: history before ${this.#feed.oldestId} is gone; replaying from there\n\n`
      for (const event of events) out += frame(event)
    }
    connection.write(out)
    connection.follow(this.#feed.listen((event) => connection.write(frame(event))))
  }

  get size() {
    return this.#connections.size
  }

  /** Fault: append a fresh event, send each live connection only its first part, then reset them. */
  dropAll() {
    const targets = [...this.#connections].filter((c) => !c.stalled)
    if (targets.length === 0) return 0
    const event = this.#feed.append({ broadcast: false })
    const text = frame(event)
    // Everyone else (nobody: all live connections drop) would get it via replay on reconnect.
    for (const connection of targets) connection.dropMidFrame(text)
    return targets.length
  }

  /** Fault: stop writing anything (events and heartbeats) on every open connection. */
  stallAll() {
    let n = 0
    for (const connection of this.#connections) {
      if (!connection.stalled) {
        connection.stall()
        n++
      }
    }
    return n
  }

  /** Ends every open connection cleanly at a frame boundary (the server revoking or draining). */
  endAll() {
    const n = this.#connections.size
    for (const connection of [...this.#connections]) connection.end()
    return n
  }

  /** Resets every connection's socket: what clients see when the server process dies. */
  killAll() {
    const n = this.#connections.size
    for (const connection of [...this.#connections]) connection.kill()
    return n
  }
}
