import { canonicalJson } from '../checkpoint/canonical-json.js'
import type { Checkpoint } from '../checkpoint/contract.js'
import { ConfigError, ProtocolError, ResumableSSEError } from '../errors.js'
import { jsonObject, optionsObject, restartAt } from './common.js'
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

/**
 * The frames read. `heartbeat` only proves liveness (the bytes already did); unknown frames are
 * ignored so a newer server can add kinds without breaking older clients.
 */
const KINDS = ['live-notification', 'replay', 'replay-control', 'connection-closing', 'error']

/**
 * aviso-server (ECMWF's notification service). The cursor travels in a JSON POST body rather than a
 * header: `from_id` is the next sequence wanted (inclusive), `from_date` the bootstrap start. Frames
 * carry no SSE id; the sequence is the suffix of the CloudEvent id (`<event_type>@<sequence>`).
 */
export function aviso(options: AvisoOptions): Dialect {
  const { eventType, identifier, fromDate, replayOnly = false } = optionsObject(options, 'aviso')
  if (typeof eventType !== 'string' || eventType === '') throw new ConfigError('Expected aviso `eventType` to be a non-empty string')
  if (typeof identifier !== 'object' || identifier === null || Array.isArray(identifier)) {
    throw new ConfigError('Expected aviso `identifier` to be an object (use `{}` for every notification of the type)')
  }
  const start = fromDate === undefined ? undefined : dateParameter(fromDate)
  const replaying = (mode: 'live' | 'replay') => replayOnly || mode === 'replay'

  return {
    name: 'aviso',
    // Canonical JSON, so `{a, b}` and `{b, a}` are the same subscription; it also rejects values that
    // have no JSON form before any request is made.
    identity: canonicalJson({ event_type: eventType, identifier }, 'identifier'),
    defaultMethod: 'POST',
    ownsBody: true,
    // A filtered stream legitimately skips the sequences other identifiers took.
    contiguous: Object.keys(identifier).length === 0,
    prepare(request: AttemptRequest, position: Checkpoint | undefined, mode: 'live' | 'replay') {
      const replay = replaying(mode)
      const body: Record<string, unknown> = { event_type: eventType, identifier }
      // from_date is the bootstrap only: once a position exists, a date would re-read (or skip)
      // whatever shares the boundary second, while the sequence is exact.
      if (position?.cursor === LIVE) {
        // A restart after the replay limit: aviso cannot be asked for "the oldest it has" (that is the
        // history it refused), so a watch restarts live and a replay has nothing to restart from.
        if (replay) throw new ReplayLimitError(undefined, 'aviso replay cannot restart after the replay limit: a replay has no live part')
      } else if (position !== undefined) body.from_id = String(position.sequence + 1)
      else if (start !== undefined) body.from_date = start
      else if (replay) throw new ConfigError('aviso replay needs a start: pass `fromDate`, `from`, or resume from a checkpoint')

      // `{base}/api/v1/{watch|replay}`, keeping whatever path prefix and query the user's base URL has
      // (the request's URL is this attempt's own copy, as for every dialect).
      const url = request.url
      url.pathname = `${url.pathname.replace(/\/+$/, '')}/api/v1/${replay ? 'replay' : 'watch'}`
      // A string body, so the core sends it verbatim. `text/plain` is a CORS "simple" content type:
      // the server has no OPTIONS route, so a browser preflight (which application/json triggers)
      // would fail. With an Authorization header a preflight happens anyway, so say what it is.
      request.body = JSON.stringify(body)
      const headers = request.headers
      if (!headers.has('content-type')) headers.set('content-type', headers.has('authorization') ? 'application/json' : 'text/plain;charset=UTF-8')
    },
    restart: restartAt(LIVE),
    open(_position: Checkpoint | undefined, mode: 'live' | 'replay'): DialectSession {
      const replay = replaying(mode)
      let replayCompleted = false
      return {
        frame({ event: kind, data, id: sseId }: Frame, sink: DialectSink): void {
          if (!KINDS.includes(kind as string)) return
          const body = jsonObject(data, `aviso ${kind} frame`, sink)
          if (body === undefined) return
          const fail = (message: string) => sink.fail(new ProtocolError(message))
          if (kind === 'replay-control') {
            // replay_started and anything newer: informational.
            if (body.type === 'replay_completed') replayCompleted = true
            else if (body.type === 'notification_replay_limit_reached') {
              const max = typeof body.max_allowed === 'number' ? body.max_allowed : undefined
              const detail = typeof body.message === 'string' ? `: ${body.message}` : ''
              sink.fail(new ReplayLimitError(max, `aviso refused to replay from this position (at most ${max ?? '?'} notifications)${detail}`))
            }
          } else if (kind === 'connection-closing') {
            const reason = body.reason
            if (reason === 'max_duration_reached') sink.closing(0)
            else if (reason === 'server_shutdown') sink.closing(SHUTDOWN_DELAY)
            // Replay is finished only if the server said so; otherwise resume from the cursor. The history
            // asked for was delivered: caught up (aviso has no notion of a stream closed for good).
            else if (reason === 'end_of_stream') sink.closing(replay && replayCompleted ? 'up-to-date' : 0)
            else fail(`aviso connection-closing with unknown reason ${JSON.stringify(reason)}`)
          } else if (kind === 'error') {
            // Transient: the server sends it when fetching a replay batch failed, then skips the rest of
            // the history and goes on to live on this connection. Reading on would lose what it skipped;
            // reconnect from the cursor instead (a connection that fails at once is paced by the backoff).
            sink.closing(0)
          } else {
            // A notification (live or replayed). The greeting of a live-only watch is shaped like one but is not one.
            const id = body.id
            if (body.type === 'connection_established' && id === undefined) return
            if (typeof id !== 'string') return fail(`aviso ${kind} frame has no CloudEvent id`)
            // The digits after the last `@`, with something before it: a u64 in decimal, and anything
            // past 2^53 cannot be a sequence here (NaN when the id has no such suffix).
            const sequence = Number(/^[^]+@(\d+)$/.exec(id)?.[1])
            if (!Number.isSafeInteger(sequence)) return fail(`aviso notification id ${JSON.stringify(id)} is not <event_type>@<sequence>`)
            sink.deliver(kind as string, data, sseId, sequence, String(sequence))
          }
        },
        // The server always says goodbye with `connection-closing`; a body that just stops is a fault,
        // even in replay mode, and resuming from the cursor is always safe.
        ended: () => 'reconnect',
      }
    },
  }
}

function dateParameter(value: string | number | Date): string {
  const bad = (what: string) => new ConfigError(`Expected aviso \`fromDate\` ${what}`)
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) throw bad('to be a valid Date')
    return value.toISOString()
  }
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 0) throw bad('as a number to be unix seconds or milliseconds')
    // The server's field is a string (a JSON number is a 400); it reads digits as unix seconds or ms.
    return String(value)
  }
  if (typeof value !== 'string' || value === '') throw bad('to be an RFC 3339 string, unix seconds/milliseconds or a Date')
  return value
}
