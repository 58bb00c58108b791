import { createParser, type EventSourceParser } from 'eventsource-parser'
import type { DialectSession, DialectSink } from '../dialects/dialect.js'
import { EventTooLargeError, HttpError, ProtocolError, type ResumableSSEError } from '../errors.js'
import type { Runtime } from '../types.js'

/** How one HTTP attempt ended. */
export type AttemptOutcome =
  | { type: 'http'; error: HttpError; retryAfter: string | null }
  | { type: 'ended'; reason: 'eof' | 'transport' | 'starved' }
  | { type: 'closing'; reconnect: number | 'done' }
  | { type: 'finished' }
  | { type: 'failed'; error: ResumableSSEError }
  | { type: 'aborted' }

export interface AttemptOptions {
  runtime: Runtime
  session: DialectSession
  /** Receives the dialect's deliveries; the attempt wires its own `closing`/`fail` around it. */
  sink: Pick<DialectSink, 'deliver' | 'deliverUnpositioned'>
  maxEventSize: number
  heartbeatTimeout: number | false
  mode: 'live' | 'replay'
  /** Called once the response is accepted (200, event stream). */
  onOpen(): void
  onRetryHint(ms: number): void
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
export async function runAttempt(request: Request, controller: AbortController, options: AttemptOptions): Promise<AttemptOutcome> {
  const { runtime } = options
  let response: Response
  try {
    response = await runtime.fetch(request)
  } catch (error) {
    return controller.signal.aborted ? abortedOutcome(controller) : { type: 'ended', reason: 'transport' }
  }

  if (response.status !== 200) {
    const body = await readBounded(response)
    const requestId = REQUEST_ID_HEADERS.map((name) => response.headers.get(name)).find((v) => v) ?? undefined
    return { type: 'http', error: new HttpError(response.status, body, requestId), retryAfter: response.headers.get('retry-after') }
  }
  const contentType = response.headers.get('content-type') ?? ''
  if (!/^text\/event-stream\b/i.test(contentType.trim())) {
    void response.body?.cancel().catch(() => {})
    return { type: 'failed', error: new ProtocolError(`Expected content type text/event-stream, got ${contentType ? `"${contentType}"` : 'none'}`) }
  }
  if (response.body === null) return { type: 'ended', reason: 'eof' }

  options.onOpen()
  return readBody(response.body, controller, options)
}

async function readBody(body: ReadableStream<Uint8Array>, controller: AbortController, options: AttemptOptions): Promise<AttemptOutcome> {
  const { runtime, session, sink, maxEventSize } = options
  let outcome: AttemptOutcome | undefined
  let lastByteAt = runtime.now()

  const dialectSink: DialectSink = {
    deliver: sink.deliver,
    deliverUnpositioned: sink.deliverUnpositioned,
    closing(reconnect) {
      outcome ??= reconnect === 'done' ? { type: 'finished' } : { type: 'closing', reconnect }
    },
    fail(error) {
      outcome ??= { type: 'failed', error: error instanceof ProtocolError ? error : new ProtocolError(error.message, { cause: error }) }
    },
  }

  const parser: EventSourceParser = createParser({
    onEvent(frame) {
      if (outcome !== undefined) return
      // The parser bounds what it buffers, but an event that arrives whole within one chunk is never
      // buffered, so its size is checked here.
      if (frame.data.length > maxEventSize) {
        outcome = { type: 'failed', error: new EventTooLargeError(maxEventSize) }
        return
      }
      session.frame(frame, dialectSink)
    },
    onRetry(ms) {
      options.onRetryHint(ms)
    },
    onError(error) {
      // Unknown fields and bad `retry:` values are ignored, as the SSE spec says; only an event
      // outgrowing the limit is fatal.
      if (error.type === 'max-buffer-size-exceeded') outcome ??= { type: 'failed', error: new EventTooLargeError(maxEventSize) }
    },
    maxBufferSize: maxEventSize,
  })

  // One timer per attempt, re-armed lazily: updating a timestamp per chunk is far cheaper than
  // clearing and setting a timer per chunk on a fast stream.
  let timer: unknown
  let starved = false
  const timeout = options.heartbeatTimeout
  if (timeout !== false) {
    const check = () => {
      const idle = runtime.now() - lastByteAt
      if (idle >= timeout) {
        starved = true
        controller.abort()
      } else {
        timer = runtime.setTimeout(check, timeout - idle)
      }
    }
    timer = runtime.setTimeout(check, timeout)
  }

  const reader = body.getReader()
  const decoder = new TextDecoder()
  try {
    for (;;) {
      let chunk: ReadableStreamReadResult<Uint8Array>
      try {
        chunk = await reader.read()
      } catch {
        if (starved) return { type: 'ended', reason: 'starved' }
        return controller.signal.aborted ? abortedOutcome(controller) : { type: 'ended', reason: 'transport' }
      }
      if (chunk.done) {
        parser.feed(decoder.decode())
        if (outcome) return outcome
        const ending = session.ended?.() ?? (options.mode === 'replay' ? 'done' : 'reconnect')
        return ending === 'done' ? { type: 'finished' } : { type: 'ended', reason: 'eof' }
      }
      lastByteAt = runtime.now()
      parser.feed(decoder.decode(chunk.value, { stream: true }))
      if (outcome) return outcome
      if (options.isFull()) await options.waitForRoom()
      if (controller.signal.aborted) return starved ? { type: 'ended', reason: 'starved' } : abortedOutcome(controller)
    }
  } finally {
    if (timer !== undefined) runtime.clearTimeout(timer)
    reader.cancel().catch(() => {})
  }
}

function abortedOutcome(_controller: AbortController): AttemptOutcome {
  return { type: 'aborted' }
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
