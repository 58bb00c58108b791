/**
 * Every error this library throws or reports is a `ResumableSSEError` with a string `code`, so callers
 * can `switch (error.code)` without importing classes. The original failure is kept as `cause`.
 */
export type ErrorCode =
  | 'http' //            the server answered a status we will not retry (400, 403, 404, 410, 204, ...)
  | 'auth' //            401 again after the auth refresh, or the refresh itself failed
  | 'protocol' //        the response or a frame broke the SSE / dialect protocol
  | 'event-too-large' // one event exceeded `maxEventSize`
  | 'store' //           a checkpoint store failed (quota, forbidden, corrupt data, unknown format)
  | 'config' //          invalid options, reported before any request is made
  | 'gap' //             a sequence jump on a stream the dialect declares contiguous (strict mode)
  | 'cursor-expired' //  the server no longer has history from our cursor
  | 'retries-exhausted' // `maxRetries` failed attempts in a row (the last failure is the `cause`)
  | 'share' //           shareAcrossTabs: this tab failed to take the shared connection over (see `cause`)

/** Marks our errors across realms and bundle copies (`Symbol.for` is shared by every realm). */
const BRAND = Symbol.for('resumable-sse.error')

export class ResumableSSEError extends Error {
  override name = 'ResumableSSEError'
  readonly code: ErrorCode

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.code = code
  }

  get [BRAND](): true {
    return true
  }
}

/** A non-retryable HTTP answer (code `http`), or a 401 after the refresh (code `auth`). */
export class HttpError extends ResumableSSEError {
  override name = 'HttpError'
  constructor(
    readonly status: number,
    /** At most the first 4 KiB of the response body, decoded as text. */
    readonly body: string,
    /** The server's request id (`x-request-id`, `request-id`, `cf-ray`, ...), when it sent one. */
    readonly requestId: string | undefined,
    code: 'http' | 'auth' = 'http',
    message?: string,
  ) {
    super(code, message ?? `Server answered ${status}${requestId ? ` (request id ${requestId})` : ''}${body ? `: ${body.slice(0, 200)}` : ''}`)
  }
}

export type StoreErrorReason =
  | 'corrupt' //     what is stored under our key cannot be read back as a checkpoint
  | 'version' //     a checkpoint written by another format version of this library
  | 'quota' //       the backend is full
  | 'forbidden' //   the backend is disabled or not allowed here (SecurityError, sandboxed iframe, ...)
  | 'unavailable' // any other backend failure
  | 'invalid' //     the caller passed a checkpoint that breaks the contract (bad sequence, bad cursor)
  | 'timeout' //     the store did not answer within `flushTimeout`; the write was abandoned

/** A checkpoint store failed. Nothing was changed by the operation that threw it. */
export class StoreError extends ResumableSSEError {
  override name = 'StoreError'
  constructor(
    readonly reason: StoreErrorReason,
    message: string,
    options?: { cause?: unknown },
  ) {
    super('store', message, options)
  }
}

/** Options that can never work, found before the first request. */
export class ConfigError extends ResumableSSEError {
  override name = 'ConfigError'
  constructor(message: string) {
    super('config', message)
  }
}

/** The server broke the wire protocol (wrong content type, malformed control frame, lying ids, ...). */
export class ProtocolError extends ResumableSSEError {
  override name = 'ProtocolError'
  constructor(message: string, options?: { cause?: unknown }) {
    super('protocol', message, options)
  }
}

export class EventTooLargeError extends ResumableSSEError {
  override name = 'EventTooLargeError'
  constructor(readonly limit: number) {
    super('event-too-large', `An event exceeded maxEventSize (${limit} characters of data, type and id)`)
  }
}

/** A jump in a stream whose dialect promises contiguous sequences. */
export class GapError extends ResumableSSEError {
  override name = 'GapError'
  constructor(
    readonly expected: number,
    readonly received: number,
  ) {
    super('gap', `Expected sequence ${expected} but received ${received}: ${received - expected} event(s) missing`)
  }
}

const NAMES = ['ResumableSSEError', 'HttpError', 'StoreError', 'ConfigError', 'ProtocolError', 'EventTooLargeError', 'GapError', 'ReplayLimitError', 'StreamGoneError']

/**
 * True for this library's errors, also from another realm or another copy of this package (an
 * iframe, a bundle that inlined us twice), where `instanceof` fails: the brand plus an exact class
 * name, so a Node system error (`{ name: 'Error', code: 'ECONNREFUSED' }`) is never mistaken for one.
 */
export function isResumableSSEError(value: unknown, code?: ErrorCode): value is ResumableSSEError {
  if (typeof value !== 'object' || value === null) return false
  const candidate = value as { code?: unknown; name?: unknown; [BRAND]?: unknown }
  if (!(value instanceof ResumableSSEError) && !(candidate[BRAND] === true && NAMES.includes(candidate.name as string))) return false
  return code === undefined || candidate.code === code
}

/** A URL fit for a message: origin and path only (no userinfo, no query with its tokens, no fragment). */
export function redact(href: string): string {
  // Scheme, then userinfo (dropped), then everything up to the query or fragment; the rest is dropped.
  return href.replace(/^([a-z][\w+.-]*:\/\/)?(?:[^@/?#]*@)?([^?#]*).*/is, '$1$2')
}
