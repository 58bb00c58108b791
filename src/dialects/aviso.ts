import { canonicalJson } from '../checkpoint/canonical-json.js'
import type { Checkpoint } from '../checkpoint/contract.js'
import { ConfigError, ProtocolError, ResumableSSEError } from '../errors.js'
import type { AttemptRequest, Dialect, DialectSession, DialectSink, Frame } from './dialect.js'

export interface AvisoOptions {
  /** The aviso event type, e.g. `'mars'` or `'dissemination'`. */
  eventType: string
  /**
   * The identifier filter: plain values or constraint objects (`eq`, `in`, `gt`, `gte`, `lt`, `lte`,
   * `between`), passed to the server as is. An empty filter reads every notification of the type.
   */
  identifier: Record<string, unknown>
  /**
   * Where a subscription with no checkpoint starts: RFC 3339, or unix seconds/milliseconds. Only
   * used until the first notification arrives; from then on the server is asked by sequence.
   */
  fromDate?: string | number | Date
  /** Read history and stop (the `/api/v1/replay` endpoint), whatever `mode` says. @default false */
  replayOnly?: boolean
}

/**
 * `notification_replay_limit_reached`: the server will not replay all the history between our
 * position and now, so resuming would silently skip notifications. Code `cursor-expired`, as the
 * remedy is the same as for an expired cursor: the checkpoint is too far behind to resume from, so
 * delete it or restart from a date. (Not `gap`: a GapError names the expected and received
 * sequences, which this message does not carry, and it means a jump was seen, not refused.)
 */
export class ReplayLimitError extends ResumableSSEError {
  override name = 'ReplayLimitError'
  constructor(
    /** The most notifications the server replays in one request. */
    readonly maxAllowed: number | undefined,
    message: string,
  ) {
    super('cursor-expired', message)
  }
}

/**
 * The restart position's cursor: watch live. A real aviso cursor is always a sequence in digits (and
 * a `from` checkpoint with any other cursor still resumes by its sequence).
 */
const LIVE = 'live'

/** Reconnect delays the reference client uses per `connection-closing` reason, ms. */
const SHUTDOWN_DELAY = 5000

// A u64 written in decimal; anything past 2^53 cannot be a sequence here (checked after parsing).
const DECIMAL = /^\d+$/

/**
 * aviso-server (ECMWF's notification service). The cursor travels in a JSON POST body rather than a
 * header: `from_id` is the next sequence wanted (inclusive), `from_date` the bootstrap start. Frames
 * carry no SSE id; the sequence is the suffix of the CloudEvent id (`<event_type>@<sequence>`).
 */
export function aviso(options: AvisoOptions): Dialect {
  if (typeof options !== 'object' || options === null) throw new ConfigError('Expected `aviso()` to be given an options object')
  const { eventType, identifier, fromDate, replayOnly = false } = options
  if (typeof eventType !== 'string' || eventType === '') throw new ConfigError('Expected aviso `eventType` to be a non-empty string')
  if (typeof identifier !== 'object' || identifier === null || Array.isArray(identifier)) {
    throw new ConfigError('Expected aviso `identifier` to be an object (use `{}` for every notification of the type)')
  }
  const start = fromDate === undefined ? undefined : dateParameter(fromDate)
  // Canonical JSON, so `{a, b}` and `{b, a}` are the same subscription; it also rejects values that
  // have no JSON form before any request is made.
  const identity = canonicalJson({ event_type: eventType, identifier }, 'identifier')

  return {
    name: 'aviso',
    identity,
    defaultMethod: 'POST',
    ownsBody: true,
    // A filtered stream legitimately skips the sequences other identifiers took.
    contiguous: Object.keys(identifier).length === 0,
    prepare(request: AttemptRequest, position: Checkpoint | undefined, mode: 'live' | 'replay') {
      const replay = replayOnly || mode === 'replay'
      const body: Record<string, unknown> = { event_type: eventType, identifier }
      // from_date is the bootstrap only: once a position exists, a date would re-read (or skip)
      // whatever shares the boundary second, while the sequence is exact.
      if (position?.cursor === LIVE) {
        // A restart after the replay limit: aviso cannot be asked for "the oldest it has" (that is the
        // history it refused), so a watch restarts live and a replay has nothing to restart from.
        if (replay) throw new ReplayLimitError(undefined, 'aviso replay reached the replay limit and cannot restart: there is no live part in a replay')
      } else if (position !== undefined) body.from_id = String(position.sequence + 1)
      else if (start !== undefined) body.from_date = start
      else if (replay) throw new ConfigError('aviso replay needs a start: pass `fromDate`, `from`, or resume from a checkpoint')

      request.url = endpoint(request.url, replay ? 'replay' : 'watch')
      // A string body, so the core sends it verbatim. `text/plain` is a CORS "simple" content type:
      // the server has no OPTIONS route, so a browser preflight (which application/json triggers)
      // would fail. With an Authorization header a preflight happens anyway, so say what it is.
      request.body = JSON.stringify(body)
      if (!request.headers.has('content-type')) {
        request.headers.set('content-type', request.headers.has('authorization') ? 'application/json' : 'text/plain;charset=UTF-8')
      }
    },
    restart: (last: Checkpoint | undefined) => ({ sequence: last?.sequence ?? 0, cursor: LIVE }),
    open(_position: Checkpoint | undefined, mode: 'live' | 'replay'): DialectSession {
      return new AvisoSession(replayOnly || mode === 'replay')
    },
  }
}

/** `{base}/api/v1/{name}`, keeping whatever path prefix and query the user's base URL has. */
function endpoint(base: URL, name: 'watch' | 'replay'): URL {
  const url = new URL(base.href)
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/api/v1/${name}`
  return url
}

function dateParameter(value: string | number | Date): string | number {
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) throw new ConfigError('Expected aviso `fromDate` to be a valid Date')
    return value.toISOString()
  }
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 0) throw new ConfigError('Expected aviso `fromDate` as a number to be unix seconds or milliseconds')
    return value
  }
  if (typeof value !== 'string' || value === '') throw new ConfigError('Expected aviso `fromDate` to be an RFC 3339 string, unix seconds/milliseconds or a Date')
  return value
}

class AvisoSession implements DialectSession {
  readonly #replay: boolean
  #replayCompleted = false

  constructor(replay: boolean) {
    this.#replay = replay
  }

  frame(frame: Frame, sink: DialectSink): void {
    switch (frame.event) {
      case 'live-notification':
      case 'replay':
        this.#notification(frame, sink)
        return
      case 'replay-control':
        this.#replayControl(frame, sink)
        return
      case 'connection-closing':
        this.#closing(frame, sink)
        return
      case 'error':
        this.#error(frame, sink)
        return
      default:
        // `heartbeat` only proves liveness (the bytes already did); unknown frames are ignored so a
        // newer server can add kinds without breaking older clients.
        return
    }
  }

  ended(): 'reconnect' {
    // The server always says goodbye with `connection-closing`; a body that just stops is a fault,
    // even in replay mode, and resuming from the cursor is always safe.
    return 'reconnect'
  }

  #notification(frame: Frame, sink: DialectSink): void {
    const event = parseObject(frame, sink)
    if (event === undefined) return
    // The greeting of a live-only watch is shaped like a notification but is not one.
    if (event.type === 'connection_established' && event.id === undefined) return
    const id = event.id
    if (typeof id !== 'string') {
      sink.fail(new ProtocolError(`aviso ${frame.event} frame has no CloudEvent id`))
      return
    }
    const at = id.lastIndexOf('@')
    const digits = at === -1 ? '' : id.slice(at + 1)
    const sequence = Number(digits)
    if (at <= 0 || !DECIMAL.test(digits) || !Number.isSafeInteger(sequence)) {
      sink.fail(new ProtocolError(`aviso notification id ${JSON.stringify(id)} is not <event_type>@<sequence>`))
      return
    }
    sink.deliver(frame.event ?? 'live-notification', frame.data, frame.id, sequence, String(sequence))
  }

  #replayControl(frame: Frame, sink: DialectSink): void {
    const control = parseObject(frame, sink)
    if (control === undefined) return
    switch (control.type) {
      case 'replay_completed':
        this.#replayCompleted = true
        return
      case 'notification_replay_limit_reached': {
        const max = typeof control.max_allowed === 'number' ? control.max_allowed : undefined
        const detail = typeof control.message === 'string' ? `: ${control.message}` : ''
        sink.fail(new ReplayLimitError(max, `aviso refused to replay the history from this position (at most ${max ?? '?'} notifications)${detail}`))
        return
      }
      default:
        // replay_started and anything newer: informational.
        return
    }
  }

  #closing(frame: Frame, sink: DialectSink): void {
    const closing = parseObject(frame, sink)
    if (closing === undefined) return
    switch (closing.reason) {
      case 'max_duration_reached':
        sink.closing(0)
        return
      case 'server_shutdown':
        sink.closing(SHUTDOWN_DELAY)
        return
      case 'end_of_stream':
        // Replay is finished only if the server said so; otherwise resume from the cursor. The history
        // asked for was delivered: caught up (aviso has no notion of a stream closed for good).
        sink.closing(this.#replay && this.#replayCompleted ? 'up-to-date' : 0)
        return
      default:
        sink.fail(new ProtocolError(`aviso connection-closing with unknown reason ${JSON.stringify(closing.reason)}`))
    }
  }

  #error(frame: Frame, sink: DialectSink): void {
    const error = parseObject(frame, sink)
    if (error === undefined) return
    const parts = [error.error, error.message].filter((part): part is string => typeof part === 'string' && part !== '')
    const requestId = typeof error.request_id === 'string' ? ` (request id ${error.request_id})` : ''
    sink.fail(new ProtocolError(`aviso server error${requestId}: ${parts.join(': ') || frame.data}`))
  }
}

function parseObject(frame: Frame, sink: DialectSink): Record<string, unknown> | undefined {
  let value: unknown
  try {
    value = JSON.parse(frame.data)
  } catch (error) {
    sink.fail(new ProtocolError(`aviso ${frame.event ?? 'message'} frame is not JSON`, { cause: error }))
    return undefined
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    sink.fail(new ProtocolError(`aviso ${frame.event ?? 'message'} frame is not a JSON object`))
    return undefined
  }
  return value as Record<string, unknown>
}
