// Fault injection, as the page's buttons and `POST /faults/<name>` drive it. Each fault acts on what
// a real deployment can do to an SSE client; the comments say what the client should do about it.

/** Defaults for `POST /faults/503` (override with `?count=&retryAfter=` seconds). */
export const UNAVAILABLE_DEFAULTS = { count: 2, retryAfter: 2 }

/** How long `restart` keeps refusing connections, like a process booting. */
export const RESTART_DOWNTIME_MS = 1500

export class Faults {
  #stream
  #tokens
  #unavailable = { remaining: 0, retryAfter: 0 }
  #bootingUntil = 0
  /** Counted for the `/status` endpoint and the page. */
  counts = { drop: 0, 503: 0, stall: 0, auth: 0, restart: 0 }

  constructor(stream, tokens) {
    this.#stream = stream
    this.#tokens = tokens
  }

  /**
   * Answers a `GET /feed` that a fault intercepts; returns false when the request may go on to auth
   * and the stream.
   */
  intercept(req, res) {
    if (Date.now() < this.#bootingUntil) {
      // Nobody is listening yet: the client sees a reset connection (a transport error).
      req.socket.destroy()
      return true
    }
    if (this.#unavailable.remaining > 0) {
      this.#unavailable.remaining--
      res.writeHead(503, { 'content-type': 'application/json', 'retry-after': String(this.#unavailable.retryAfter), 'cache-control': 'no-store' })
      res.end(JSON.stringify({ error: 'maintenance', retryAfter: this.#unavailable.retryAfter }))
      return true
    }
    return false
  }

  /** Resets every live connection in the middle of a frame: the client must not deliver the half event. */
  drop() {
    this.counts.drop++
    return { dropped: this.#stream.dropAll() }
  }

  /**
   * Drains the current connections (clean EOF) and answers the next `count` feed requests with
   * 503 + Retry-After: the client must wait what the server asked, not its own backoff.
   */
  unavailable({ count = UNAVAILABLE_DEFAULTS.count, retryAfter = UNAVAILABLE_DEFAULTS.retryAfter } = {}) {
    this.counts[503]++
    this.#unavailable = { remaining: count, retryAfter }
    return { ended: this.#stream.endAll(), count, retryAfter }
  }

  /** Goes silent on every open connection, heartbeats included: only starvation detection saves the client. */
  stall() {
    this.counts.stall++
    return { stalled: this.#stream.stallAll() }
  }

  /** Revokes the token and ends the connections using it: the next attempt is a 401 until refreshAuth runs. */
  auth() {
    this.counts.auth++
    this.#tokens.rotate()
    return { ended: this.#stream.endAll() }
  }

  /**
   * A process restart. Lost, as in-process state would be: every open connection (reset, no clean
   * end), pending 503s and stalls, and for RESTART_DOWNTIME_MS nothing accepts the feed. Kept, as if
   * it lived in a database: the event log and its ids (history persistence: clients resume across
   * the restart without a gap) and the current token (sessions survive a deploy).
   */
  restart() {
    this.counts.restart++
    this.#unavailable = { remaining: 0, retryAfter: 0 }
    this.#bootingUntil = Date.now() + RESTART_DOWNTIME_MS
    return { killed: this.#stream.killAll(), downtimeMs: RESTART_DOWNTIME_MS }
  }
}
