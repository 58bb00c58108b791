import { createParser, type EventSourceParser } from 'eventsource-parser'
import type { DialectSession, DialectSink, StreamEnd } from '../dialects/dialect.js'
import { EventTooLargeError, HttpError, ProtocolError, redact, ResumableSSEError } from '../errors.js'
import type { Input } from '../supervisor/machine.js'
import { loadRetryAfter } from './load.js'
import { pendingEvent } from './pending-event.js'
import type { BuiltRequest } from './request.js'
import type { Environment, Runtime } from '../types.js'
import type { EventChannel } from '../delivery/channel.js'

/** How one HTTP attempt ended, in the state machine's own words. */
export type AttemptEnd = Extract<Input, { type: 'http' | 'ended' | 'server-closing' | 'finished' | 'failed' | 'abort' }>

export interface AttemptOptions {
  runtime: Environment
  session: DialectSession
  /** Receives the dialect's deliveries; the attempt wires its own `closing`/`fail` around it. */
  sink: Pick<DialectSink, 'deliver' | 'deliverUnpositioned' | 'position'>
  maxEventSize: number
  heartbeatTimeout: number | false
  mode: 'live' | 'replay'
  /** `'same-origin'`: a redirect to another origin is refused (see `follow`). */
  redirect: 'same-origin' | 'follow'
  /** What happens while the connection runs: `opened` once the response is accepted, `retry-hint`s. */
  report(input: Extract<Input, { type: 'opened' | 'retry-hint' }>): void
  /** The consumer's buffer: `waitForRoom()` resolves when it has room again, awaited only when `isFull()` says so. */
  channel: Pick<EventChannel, 'isFull' | 'waitForRoom'>
}

const MAX_ERROR_BODY = 4096
const REQUEST_ID_HEADERS = ['x-request-id', 'request-id', 'x-amzn-requestid', 'cf-ray', 'x-correlation-id']

/**
 * Runs one connection from fetch to the end of its body. Never throws: every way it can end is an
 * outcome for the state machine. `controller` belongs to this attempt alone; aborting it (close,
 * starvation, a newer command) ends the fetch or the read promptly.
 *
 * One closure per attempt: the steps below share the attempt's clock, signal and liveness state.
 */
export async function runAttempt(building: Promise<BuiltRequest>, controller: AbortController, options: AttemptOptions): Promise<AttemptEnd> {
  const { runtime, session, maxEventSize, heartbeatTimeout: timeout } = options
  const { signal } = controller
  let built: BuiltRequest
  const ended = (reason: 'eof' | 'transport' | 'starved' | 'request', error?: unknown): AttemptEnd => ({ type: 'ended', reason, at: runtime.now(), error })
  const failed = (error: ResumableSSEError): AttemptEnd => ({ type: 'failed', error })
  const tooLarge = () => failed(new EventTooLargeError(maxEventSize))

  // Liveness (heartbeat-starvation detection) covers the whole attempt: a server that accepts the
  // connection but never answers starves us just as surely as one that goes quiet mid-stream. One
  // timer per attempt, re-armed lazily: `touch()` only stores a timestamp, which is far cheaper than
  // clearing and setting a timer for every chunk of a fast stream.
  let lastByteAt: number
  let timer: unknown
  let starved = false
  const touch = () => void (lastByteAt = runtime.now())
  // The runtime wrapper (config.ts) clamps a wait past 2^31 - 1 ms: `check` then re-arms for what is left.
  const arm = (ms: number) => void (timer = runtime.setTimeout(check, ms))
  const check = () => {
    const idle = runtime.now() - lastByteAt
    if (idle < (timeout as number)) return arm((timeout as number) - idle)
    timer = undefined
    starved = true
    controller.abort()
  }
  /** Starts the clock from now: at the start, and after `stop()` (while we, not the server, were the reason no bytes were read). */
  const resume = () => {
    touch()
    if (timeout !== false) arm(timeout)
  }
  const stop = () => {
    if (timer !== undefined) runtime.clearTimeout(timer)
    timer = undefined
  }

  /** Why a fetch or read failed: our own starvation abort, someone else's abort, or the network (`error`). */
  const interrupted = (error?: unknown): AttemptEnd => (starved ? ended('starved') : signal.aborted ? { type: 'abort' } : ended('transport', error))

  /** What the end of a body means when no frame said: the dialect decides, else the mode. */
  const endOfBody = (): AttemptEnd => closing(session.ended?.() ?? (options.mode === 'replay' ? 'up-to-date' : 'reconnect'))
  const closing = (ending: number | StreamEnd | 'reconnect'): AttemptEnd =>
    typeof ending === 'number' ? { type: 'server-closing', reconnect: ending, at: runtime.now() } : ending === 'reconnect' ? ended('eof') : { type: 'finished', reason: ending }

  /**
   * Fetches, following redirects ourselves (`redirect: 'manual'`): fetch would follow one to another
   * origin carrying the body, custom headers (an `X-Api-Key`) and `Last-Event-ID` there, stripping only
   * `Authorization` and cookies (workerd strips nothing), so such a hop is refused, or with `follow`
   * made without the credentials. Browsers hide a redirect's target from script (an
   * `opaqueredirect`): there the browser follows it itself, to another origin only with that origin's
   * CORS consent, and we refuse the response if it came from elsewhere. Returns the response, or how
   * the attempt ended.
   */
  async function follow(): Promise<Response | AttemptEnd> {
    const origin = built.url.origin
    const follows = options.redirect === 'follow'
    let { url, method } = built
    let mode: RequestRedirect = 'manual'
    /** A hop left the origin: from then on no credentials are sent, as in fetch. */
    let foreign = false
    for (let hops = 0; ; hops++) {
      let response: Response
      const pending = runtime.fetch(built.request(url, method, mode, foreign))
      try {
        // Raced against our own signal: a fetch (a polyfill, a user's wrapper) that ignores the signal
        // must not keep a closed or starved attempt waiting.
        response = await untilAborted(pending, signal)
      } catch (error) {
        // A response that still arrives after we gave up on it is cancelled, releasing its connection.
        if (signal.aborted) pending.then(discard, () => {})
        return interrupted(error)
      }
      const { status, type } = response
      const location = response.headers.get('location')
      const redirected = hops < 20 && (type === 'opaqueredirect' || (mode === 'manual' && [301, 302, 303, 307, 308].includes(status) && location !== null))
      if (signal.aborted || redirected) discard(response)
      if (signal.aborted) return interrupted()
      if (redirected) {
        if (type === 'opaqueredirect') {
          mode = 'follow'
          continue
        }
        let target: URL | undefined
        try {
          target = new URL(location as string, url)
        } catch {}
        // As in fetch, a redirect to another scheme than http(s) (data:, file:) is never followed.
        if (!target || !/^https?:$/.test(target.protocol) || (!follows && target.origin !== origin)) return failed(refused(url, target, follows))
        foreign ||= target.origin !== origin
        // As fetch does: 303 turns any method into GET, 301/302 turn a POST into GET (dropping the body).
        if (status === 303 || (status < 303 && method === 'POST')) method = 'GET'
        url = target
        continue
      }
      if (!follows && response.redirected && response.url !== '' && new URL(response.url).origin !== origin) {
        discard(response)
        return failed(refused(built.url, new URL(response.url)))
      }
      return response
    }
  }

  async function readBody(body: ReadableStream<Uint8Array>): Promise<AttemptEnd> {
    let outcome: AttemptEnd | undefined

    const sink: DialectSink = {
      ...options.sink,
      closing(reconnect) {
        outcome ??= closing(reconnect)
      },
      fail(error) {
        // A dialect's own typed error (aviso's replay limit is `cursor-expired`) reaches the user as is.
        outcome ??= failed(error instanceof ResumableSSEError ? error : new ProtocolError(error.message, { cause: error }))
      },
    }

    // The id the parser reported for the block it is dispatching. It reports a block's id before the
    // block's event; an id still here when the next id, an id-less event or the end of a chunk comes
    // belonged to a block without data: a position without an event.
    let blockId: string | undefined
    // Whether the parser dispatched anything during the current chunk (see pendingEvent).
    let dispatched = false
    const pending = pendingEvent(maxEventSize)
    const idOnly = () => {
      const id = blockId as string
      blockId = undefined
      if (outcome === undefined) session.idOnly?.(id, sink)
    }
    const parser: EventSourceParser = createParser({
      onId(id) {
        dispatched = true
        // An id counts toward maxEventSize whether or not data comes with it (an id-only block too).
        if (id.length > maxEventSize) outcome ??= tooLarge()
        if (blockId !== undefined) idOnly()
        blockId = id
      },
      onEvent(frame) {
        dispatched = true
        if (blockId !== undefined && frame.id === undefined) idOnly()
        blockId = undefined
        if (outcome !== undefined) return
        // The parser bounds what it buffers, but an event that arrives whole within one chunk is never
        // buffered, so its size is checked here: data, type and id, as everywhere.
        if (frame.data.length + (frame.event?.length ?? 0) + (frame.id?.length ?? 0) > maxEventSize) outcome = tooLarge()
        else session.frame(frame, sink)
      },
      onRetry(ms) {
        options.report({ type: 'retry-hint', ms })
      },
      onError(error) {
        // Unknown fields and bad `retry:` values are ignored, as the SSE spec says; only an event
        // outgrowing the limit is fatal.
        if (error.type === 'max-buffer-size-exceeded') outcome ??= tooLarge()
      },
      // The parser's buffer also holds the unfinished line's field name ("data: "), so give it that much
      // slack; the exact limit is the check on `frame.data.length` above, wherever the chunks split.
      maxBufferSize: maxEventSize + 16,
    })
    // The decoder below already dropped the one leading BOM the standard allows. The parser would drop
    // another U+FEFF (or the characters "ï»¿") at the start of what it is fed, which browsers read as
    // part of the first line: a blank line first ends its check and dispatches nothing.
    parser.feed('\n')

    const reader = body.getReader()
    // Cancel the body ourselves on abort: a body that does not follow the fetch's signal (a custom
    // fetch, a polyfill) would otherwise keep a closed or starved attempt reading forever.
    const cancel = () => void reader.cancel().catch(() => {})
    signal.addEventListener('abort', cancel, { once: true })
    const decoder = new TextDecoder()
    const feed = (text: string) => {
      dispatched = false
      parser.feed(text)
      if (blockId !== undefined) idOnly()
      if (dispatched) pending.dispatched()
      else if (pending.fed(text)) outcome ??= tooLarge()
    }
    try {
      for (;;) {
        if (signal.aborted) return interrupted()
        let chunk: ReadableStreamReadResult<Uint8Array>
        try {
          chunk = await reader.read()
        } catch (error) {
          return interrupted(error)
        }
        if (signal.aborted) return interrupted()
        if (chunk.done) {
          feed(decoder.decode())
          return outcome ?? endOfBody()
        }
        touch()
        feed(decoder.decode(chunk.value, { stream: true }))
        if (outcome) return outcome
        if (options.channel.isFull()) {
          // Waiting on our own consumer is not the server going quiet: no starvation clock meanwhile.
          stop()
          await untilAborted(options.channel.waitForRoom(), signal).catch(() => {})
          resume()
        }
      }
    } finally {
      signal.removeEventListener('abort', cancel)
      cancel()
    }
  }

  resume()
  try {
    // The request is built under the same clock: a headers()/body() function that never settles (a
    // token fetch into a dead network) starves the attempt like a server that never answers. One that
    // throws is a failed attempt (`request`); the dialect's own typed error (it cannot resume from this
    // position) would fail the same way again.
    try {
      built = await untilAborted(building, signal)
    } catch (error) {
      return signal.aborted ? interrupted() : error instanceof ResumableSSEError ? failed(error) : ended('request', error)
    }
    const response = await follow()
    if (!(response instanceof Response)) return response
    touch()

    const { status, headers } = response
    if (status !== 200) {
      const body = await readBounded(response, signal)
      const requestId = REQUEST_ID_HEADERS.map((name) => headers.get(name)).find((v) => v) ?? undefined
      const error = new HttpError(status, body, requestId)
      // The dialect may know what a status means on its protocol (a Durable Streams 410 is an expired
      // cursor); otherwise the state machine classifies it.
      const own = session.rejected?.(error)
      return own !== undefined ? failed(own) : { type: 'http', error, retryAfter: await retryAfter(headers.get('retry-after'), runtime) }
    }
    const contentType = headers.get('content-type') ?? ''
    // The MIME type's essence, as the native EventSource compares it: parameters may follow a `;`.
    const refusal = !/^text\/event-stream[\t ]*(;|$)/i.test(contentType.trim())
      ? new ProtocolError(`Expected content type text/event-stream, got ${contentType ? `"${contentType}"` : 'none'}`)
      : session.accepted?.(headers)
    if (refusal) {
      discard(response)
      return failed(refusal)
    }
    options.report({ type: 'opened', at: runtime.now() })
    // A 200 without a body is an empty stream: it ends like one (cleanly in replay mode).
    return response.body === null ? endOfBody() : await readBody(response.body)
  } finally {
    stop()
  }
}

function refused(from: URL, to: URL | undefined, follows?: boolean): ProtocolError {
  return new ProtocolError(
    `Refused a redirect from ${redact(from.href)} to ${to ? `another origin (${redact(to.href)})` : 'an invalid Location'}${follows ? '' : "; pass `redirect: 'follow'` to allow it"}`,
  )
}

/**
 * `Retry-After` in ms (see supervisor/retry-after.ts): delta-seconds, what servers send, is read here;
 * an HTTP date loads its parser first. A parser that fails to load leaves the hint out (undefined), as
 * an unparseable value does: the backoff applies.
 */
async function retryAfter(value: string | null, runtime: Runtime): Promise<number | undefined> {
  const text = value?.trim()
  if (!text) return undefined
  if (/^\d+$/.test(text)) return Number(text) * 1000
  return loadRetryAfter().then((m) => m.parseRetryAfter(text, runtime.now()), () => undefined)
}

/** Cancels a body we will not read, releasing its connection. */
const discard = (response: Response | undefined): void => void response?.body?.cancel().catch(() => {})

/** Settles like `promise`, or rejects once `signal` aborts, whichever comes first. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason)
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal.reason)
    signal.addEventListener('abort', onAbort, { once: true })
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort))
  })
}

/**
 * The first few KiB of an error body, for the error message; never the whole thing. Cancelled on abort,
 * as in readBody: a body that does not follow the signal must not hold a closed or starved attempt.
 */
async function readBounded(response: Response, signal: AbortSignal): Promise<string> {
  if (response.body === null) return ''
  const reader = response.body.getReader()
  const cancel = () => void reader.cancel().catch(() => {})
  signal.addEventListener('abort', cancel, { once: true })
  const decoder = new TextDecoder()
  let text = ''
  try {
    while (text.length < MAX_ERROR_BODY) {
      const { done, value } = await reader.read()
      if (done) break
      text += decoder.decode(value, { stream: true })
    }
  } catch {
    // A body that fails mid-read still leaves us the status; the text is best-effort.
  } finally {
    signal.removeEventListener('abort', cancel)
    cancel()
  }
  return text.slice(0, MAX_ERROR_BODY)
}
