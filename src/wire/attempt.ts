import { createParser, type EventSourceParser } from 'eventsource-parser'
import type { DialectSession, DialectSink } from '../dialects/dialect.js'
import { EventTooLargeError, HttpError, ProtocolError, redact, ResumableSSEError } from '../errors.js'
import type { Input } from '../supervisor/machine.js'
import { loadRetryAfter } from './load.js'
import { PendingEvent } from './pending-event.js'
import type { BuiltRequest } from './request.js'
import type { Environment, Runtime } from '../types.js'

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
  /** Resolves when the consumer has room again; only awaited when `isFull()` says so. */
  isFull(): boolean
  waitForRoom(): Promise<void>
}

const MAX_ERROR_BODY = 4096
const REQUEST_ID_HEADERS = ['x-request-id', 'request-id', 'x-amzn-requestid', 'cf-ray', 'x-correlation-id']

/**
 * Runs one connection from fetch to the end of its body. Never throws: every way it can end is an
 * outcome for the state machine. `controller` belongs to this attempt alone; aborting it (close,
 * starvation, a newer command) ends the fetch or the read promptly.
 */
export async function runAttempt(request: BuiltRequest, controller: AbortController, options: AttemptOptions): Promise<AttemptEnd> {
  // Liveness covers the whole attempt: a server that accepts the connection but never answers
  // starves us just as surely as one that goes quiet mid-stream.
  const liveness = new Liveness(options.runtime, options.heartbeatTimeout, controller)
  try {
    return await attempt(request, controller, liveness, options)
  } finally {
    liveness.stop()
  }
}

async function attempt(built: BuiltRequest, controller: AbortController, liveness: Liveness, options: AttemptOptions): Promise<AttemptEnd> {
  const response = await follow(built, controller, liveness, options)
  if (!(response instanceof Response)) return response
  liveness.touch()

  if (response.status !== 200) {
    const body = await readBounded(response)
    const requestId = REQUEST_ID_HEADERS.map((name) => response.headers.get(name)).find((v) => v) ?? undefined
    const error = new HttpError(response.status, body, requestId)
    // The dialect may know what a status means on its protocol (a Durable Streams 410 is an expired
    // cursor); otherwise the state machine classifies it.
    const own = options.session.rejected?.(error)
    if (own !== undefined) return { type: 'failed', error: own }
    return { type: 'http', error, retryAfter: await retryAfter(response.headers.get('retry-after'), options.runtime) }
  }
  const contentType = response.headers.get('content-type') ?? ''
  if (!/^text\/event-stream\b/i.test(contentType.trim())) {
    discard(response)
    return { type: 'failed', error: new ProtocolError(`Expected content type text/event-stream, got ${contentType ? `"${contentType}"` : 'none'}`) }
  }
  const refused = options.session.accepted?.(response.headers)
  if (refused) {
    discard(response)
    return { type: 'failed', error: refused }
  }
  options.report({ type: 'opened', at: options.runtime.now() })
  // A 200 without a body is an empty stream: it ends like one (cleanly in replay mode).
  if (response.body === null) return endOfBody(options)
  return readBody(response.body, controller, liveness, options)
}

/**
 * Fetches, following redirects within the URL's origin ourselves (`redirect: 'manual'`): fetch would
 * follow one to another origin carrying the body, custom headers (an `X-Api-Key`) and `Last-Event-ID`
 * there, stripping only `Authorization` and cookies. Browsers hide a redirect's target from script
 * (an `opaqueredirect`): there the browser follows it itself, to another origin only with that
 * origin's CORS consent, and we refuse the response if it came from elsewhere. Returns the response,
 * or how the attempt ended.
 */
async function follow(built: BuiltRequest, controller: AbortController, liveness: Liveness, options: AttemptOptions): Promise<Response | AttemptEnd> {
  const { signal } = controller
  const origin = built.url.origin
  let { url, method } = built
  let mode: RequestRedirect = options.redirect === 'follow' ? 'follow' : 'manual'
  for (let hops = 0; ; hops++) {
    let response: Response
    const pending = options.runtime.fetch(built.request(url, method, mode))
    try {
      // Raced against our own signal: a fetch (a polyfill, a user's wrapper) that ignores the signal
      // must not keep a closed or starved attempt waiting.
      response = await untilAborted(pending, signal)
    } catch (error) {
      // A response that still arrives after we gave up on it is cancelled, releasing its connection.
      if (signal.aborted) pending.then(discard, () => {})
      return interrupted(controller, liveness, options.runtime, error)
    }
    const location = response.headers.get('location')
    const redirected = response.type === 'opaqueredirect' || (mode === 'manual' && response.status > 300 && response.status < 309 && location !== null)
    if (signal.aborted || (redirected && hops < 20)) discard(response)
    if (signal.aborted) return interrupted(controller, liveness, options.runtime)
    if (redirected && hops < 20) {
      if (response.type === 'opaqueredirect') {
        mode = 'follow'
        continue
      }
      let target: URL | undefined
      try {
        target = new URL(location as string, url)
      } catch {}
      if (target?.origin !== origin) return { type: 'failed', error: refused(url, target) }
      // As fetch does: 303 turns any method into GET, 301/302 turn a POST into GET (dropping the body).
      if (response.status === 303 || (response.status < 303 && method === 'POST')) method = 'GET'
      url = target
      continue
    }
    if (options.redirect !== 'follow' && response.redirected && response.url !== '' && new URL(response.url).origin !== origin) {
      discard(response)
      return { type: 'failed', error: refused(built.url, new URL(response.url)) }
    }
    return response
  }
}

function refused(from: URL, to: URL | undefined): ProtocolError {
  return new ProtocolError(
    `Refused a redirect from ${redact(from.href)} to ${to ? `another origin (${redact(to.href)})` : 'an invalid Location'}; pass \`redirect: 'follow'\` to allow it`,
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

/** What the end of a body means when no frame said: the dialect decides, else the mode. */
function endOfBody({ session, mode, runtime }: AttemptOptions): AttemptEnd {
  const ending = session.ended?.() ?? (mode === 'replay' ? 'up-to-date' : 'reconnect')
  if (typeof ending === 'number') return { type: 'server-closing', reconnect: ending, at: runtime.now() }
  return ending === 'reconnect' ? { type: 'ended', reason: 'eof', at: runtime.now() } : { type: 'finished', reason: ending }
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

async function readBody(body: ReadableStream<Uint8Array>, controller: AbortController, liveness: Liveness, options: AttemptOptions): Promise<AttemptEnd> {
  const { session, sink, maxEventSize, runtime } = options
  let outcome: AttemptEnd | undefined

  const dialectSink: DialectSink = {
    deliver: sink.deliver,
    deliverUnpositioned: sink.deliverUnpositioned,
    position: sink.position,
    closing(reconnect) {
      outcome ??= typeof reconnect === 'number' ? { type: 'server-closing', reconnect, at: runtime.now() } : { type: 'finished', reason: reconnect }
    },
    fail(error) {
      // A dialect's own typed error (aviso's replay limit is `cursor-expired`) reaches the user as is.
      outcome ??= { type: 'failed', error: error instanceof ResumableSSEError ? error : new ProtocolError(error.message, { cause: error }) }
    },
  }

  // The id the parser reported for the block it is dispatching. It reports a block's id before the
  // block's event; an id still here when the next id, an id-less event or the end of a chunk comes
  // belonged to a block without data: a position without an event.
  let blockId: string | undefined
  // Whether the parser dispatched anything during the current chunk (see PendingEvent).
  let dispatched = false
  const pending = new PendingEvent(maxEventSize)
  const idOnly = () => {
    const id = blockId as string
    blockId = undefined
    if (outcome === undefined) session.idOnly?.(id, dialectSink)
  }
  const parser: EventSourceParser = createParser({
    onId(id) {
      dispatched = true
      // An id counts toward maxEventSize whether or not data comes with it (an id-only block too).
      if (id.length > maxEventSize) outcome ??= { type: 'failed', error: new EventTooLargeError(maxEventSize) }
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
      if (frame.data.length + (frame.event?.length ?? 0) + (frame.id?.length ?? 0) > maxEventSize) {
        outcome = { type: 'failed', error: new EventTooLargeError(maxEventSize) }
        return
      }
      session.frame(frame, dialectSink)
    },
    onRetry(ms) {
      options.report({ type: 'retry-hint', ms })
    },
    onError(error) {
      // Unknown fields and bad `retry:` values are ignored, as the SSE spec says; only an event
      // outgrowing the limit is fatal.
      if (error.type === 'max-buffer-size-exceeded') outcome ??= { type: 'failed', error: new EventTooLargeError(maxEventSize) }
    },
    // The parser's buffer also holds the unfinished line's field name ("data: "), so give it that much
    // slack; the exact limit is the check on `frame.data.length` above, wherever the chunks split.
    maxBufferSize: maxEventSize + 16,
  })

  const reader = body.getReader()
  // Cancel the body ourselves on abort: a body that does not follow the fetch's signal (a custom
  // fetch, a polyfill) would otherwise keep a closed or starved attempt reading forever.
  const cancel = () => void reader.cancel().catch(() => {})
  controller.signal.addEventListener('abort', cancel, { once: true })
  const decoder = new TextDecoder()
  const feed = (text: string) => {
    dispatched = false
    parser.feed(text)
    if (blockId !== undefined) idOnly()
    if (dispatched) pending.dispatched()
    else if (pending.fed(text)) outcome ??= { type: 'failed', error: new EventTooLargeError(maxEventSize) }
  }
  try {
    for (;;) {
      if (controller.signal.aborted) return interrupted(controller, liveness, runtime)
      let chunk: ReadableStreamReadResult<Uint8Array>
      try {
        chunk = await reader.read()
      } catch (error) {
        return interrupted(controller, liveness, runtime, error)
      }
      if (controller.signal.aborted) return interrupted(controller, liveness, runtime)
      if (chunk.done) {
        feed(decoder.decode())
        return outcome ?? endOfBody(options)
      }
      liveness.touch()
      feed(decoder.decode(chunk.value, { stream: true }))
      if (outcome) return outcome
      if (options.isFull()) {
        // Waiting on our own consumer is not the server going quiet: no starvation clock meanwhile.
        liveness.stop()
        await untilAborted(options.waitForRoom(), controller.signal).catch(() => {})
        liveness.resume()
      }
    }
  } finally {
    controller.signal.removeEventListener('abort', cancel)
    cancel()
  }
}

/** Why a fetch or read failed: our own starvation abort, someone else's abort, or the network (`error`). */
function interrupted(controller: AbortController, liveness: Liveness, runtime: Runtime, error?: unknown): AttemptEnd {
  if (liveness.starved) return { type: 'ended', reason: 'starved', at: runtime.now() }
  return controller.signal.aborted ? { type: 'abort' } : { type: 'ended', reason: 'transport', at: runtime.now(), error }
}

/**
 * Heartbeat-starvation detection with one timer per attempt, re-armed lazily: `touch()` only stores a
 * timestamp, which is far cheaper than clearing and setting a timer for every chunk of a fast stream.
 */
class Liveness {
  starved = false
  #lastByteAt: number
  #timer: unknown
  readonly #runtime: Runtime
  readonly #timeout: number | false
  readonly #controller: AbortController

  constructor(runtime: Runtime, timeout: number | false, controller: AbortController) {
    this.#runtime = runtime
    this.#timeout = timeout
    this.#controller = controller
    this.#lastByteAt = runtime.now()
    if (timeout !== false) this.#timer = runtime.setTimeout(this.#check, timeout)
  }

  touch(): void {
    this.#lastByteAt = this.#runtime.now()
  }

  /** Restarts the clock from now, after `stop()` (while we, not the server, were the reason no bytes were read). */
  resume(): void {
    this.touch()
    if (this.#timeout !== false && this.#timer === undefined && !this.starved) this.#timer = this.#runtime.setTimeout(this.#check, this.#timeout)
  }

  stop(): void {
    if (this.#timer !== undefined) this.#runtime.clearTimeout(this.#timer)
    this.#timer = undefined
  }

  readonly #check = (): void => {
    const timeout = this.#timeout as number
    const idle = this.#runtime.now() - this.#lastByteAt
    if (idle >= timeout) {
      this.#timer = undefined
      this.starved = true
      this.#controller.abort()
    } else {
      this.#timer = this.#runtime.setTimeout(this.#check, timeout - idle)
    }
  }
}

/** The first few KiB of an error body, for the error message; never the whole thing. */
async function readBounded(response: Response): Promise<string> {
  if (response.body === null) return ''
  const reader = response.body.getReader()
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
    reader.cancel().catch(() => {})
  }
  return text.slice(0, MAX_ERROR_BODY)
}
