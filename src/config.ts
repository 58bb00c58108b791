import type { Checkpoint, CheckpointStore } from './checkpoint/contract.js'
import { MemoryStore } from './checkpoint/memory.js'
import { checkpointProblem, type Dialect } from './dialects/dialect.js'
import { lastEventId } from './dialects/last-event-id.js'
import { ConfigError, redact } from './errors.js'
import type { MachineConfig } from './supervisor/machine.js'
import type { Notice, Runtime, StatusChange, SubscribeOptions } from './types.js'
import type { RequestSpec } from './wire/request.js'

/** Options after validation and defaults: what the rest of the code relies on. */
export interface ResolvedConfig {
  request: RequestSpec
  store: CheckpointStore
  key: string | undefined
  fingerprint: string | undefined
  from: Checkpoint | 'start' | undefined
  dialect: Dialect
  machine: MachineConfig
  signal: AbortSignal | undefined
  heartbeatTimeout: number | false
  maxEventSize: number
  highWaterMark: number
  highWaterSize: number
  flushTimeout: number
  redirect: 'same-origin' | 'follow'
  commitInterval: number
  strictGaps: boolean
  commitOnClose: boolean
  onStoreError: 'fail' | 'report'
  refreshAuth: SubscribeOptions['refreshAuth']
  onStatus: ((change: StatusChange) => void) | undefined
  onNotice: ((notice: Notice) => void) | undefined
  runtime: Runtime
}

export const DEFAULTS = {
  baseDelay: 250,
  factor: 2,
  maxDelay: 30_000,
  maxRetryAfter: 300_000,
  heartbeatTimeout: 60_000,
  maxEventSize: 1024 * 1024,
  highWaterMark: 1024,
  highWaterSize: 4 * 1024 * 1024,
  flushTimeout: 10_000,
  commitInterval: 50,
  healthyAfter: 1000,
  /** shareAcrossTabs: recent events every tab keeps, so a joining tab catches up without a connection. */
  shareWindow: 1024,
  /** shareAcrossTabs: a leader whose stream ended for good keeps the lock this long, so every tab hears the end first. */
  shareEndGrace: 500,
} as const

/** Validates every option up front with a message that names it, and applies defaults. */
export function resolveConfig(options: SubscribeOptions): ResolvedConfig {
  if (typeof options !== 'object' || options === null) throw new ConfigError('Expected `subscribe()` to be given an options object')
  const url = parseUrl(options.url)
  const dialect = options.dialect ?? lastEventId()
  if (typeof dialect !== 'object' || typeof dialect.prepare !== 'function' || typeof dialect.open !== 'function') {
    throw new ConfigError('Expected `dialect` to be a dialect object such as `lastEventId()`')
  }
  if (options.body !== undefined && dialect.ownsBody) {
    throw new ConfigError(`The ${dialect.name} dialect writes the request body itself: remove \`body\` and pass what it needs to the dialect`)
  }
  const method = (options.method ?? dialect.defaultMethod).toUpperCase()
  if (!/^[A-Z]+$/.test(method)) throw new ConfigError(`Expected \`method\` to be an HTTP method, got "${options.method}"`)
  if (options.body !== undefined && (method === 'GET' || method === 'HEAD')) {
    throw new ConfigError(`A \`body\` cannot be sent with ${method}; set \`method: 'POST'\``)
  }
  if (typeof options.body === 'function' && options.key === undefined) {
    throw new ConfigError('Pass `key` when `body` is a function: a function cannot be part of the derived resume key')
  }
  if (options.headers !== undefined && typeof options.headers !== 'function' && typeof options.headers !== 'object') {
    throw new ConfigError('Expected `headers` to be a Headers init (object, array or Headers) or a function returning one')
  }
  const store = options.store ?? new MemoryStore()
  if (typeof store.get !== 'function' || typeof store.put !== 'function' || typeof store.delete !== 'function') {
    throw new ConfigError('Expected `store` to implement get, put and delete (see CheckpointStore)')
  }
  if (options.key !== undefined && (typeof options.key !== 'string' || options.key === '')) {
    throw new ConfigError('Expected `key` to be a non-empty string')
  }
  if (options.fingerprint !== undefined && typeof options.fingerprint !== 'string') {
    throw new ConfigError('Expected `fingerprint` to be a string')
  }
  let from: Checkpoint | 'start' | undefined
  if (options.from !== undefined) {
    if (options.from === 'start') {
      from = 'start'
    } else {
      const problem = checkpointProblem(options.from)
      if (problem) throw new ConfigError(`Expected \`from\` to be 'start' or a checkpoint: ${problem}`)
      from = options.from
    }
  }
  const mode = options.mode ?? 'live'
  if (mode !== 'live' && mode !== 'replay') throw new ConfigError(`Expected \`mode\` to be 'live' or 'replay', got "${String(mode)}"`)

  const backoff = options.backoff ?? {}
  const baseDelay = nonNegative('backoff.baseDelay', backoff.baseDelay, DEFAULTS.baseDelay)
  const factor = nonNegative('backoff.factor', backoff.factor, DEFAULTS.factor)
  if (factor < 1) throw new ConfigError('Expected `backoff.factor` to be at least 1')
  const maxDelay = nonNegative('backoff.maxDelay', backoff.maxDelay, DEFAULTS.maxDelay)
  const maxRetryAfter = nonNegative('backoff.maxRetryAfter', backoff.maxRetryAfter, DEFAULTS.maxRetryAfter)
  const maxRetries = options.maxRetries === undefined ? Number.POSITIVE_INFINITY : options.maxRetries
  if (!(maxRetries >= 0) || (Number.isFinite(maxRetries) && !Number.isInteger(maxRetries))) {
    throw new ConfigError('Expected `maxRetries` to be a non-negative integer or Infinity')
  }
  let heartbeatTimeout: number | false = DEFAULTS.heartbeatTimeout
  if (options.heartbeatTimeout === false) heartbeatTimeout = false
  else if (options.heartbeatTimeout !== undefined) {
    if (!(options.heartbeatTimeout > 0) || !Number.isFinite(options.heartbeatTimeout)) {
      throw new ConfigError('Expected `heartbeatTimeout` to be a positive number of milliseconds or false')
    }
    heartbeatTimeout = options.heartbeatTimeout
  }
  const maxEventSize = positiveInteger('maxEventSize', options.maxEventSize, DEFAULTS.maxEventSize)
  const highWaterMark = positiveInteger('highWaterMark', options.highWaterMark, DEFAULTS.highWaterMark)
  const highWaterSize = positiveInteger('highWaterSize', options.highWaterSize, DEFAULTS.highWaterSize)
  const flushTimeout = nonNegative('flushTimeout', options.flushTimeout, DEFAULTS.flushTimeout)
  const redirect = options.redirect ?? 'same-origin'
  if (redirect !== 'same-origin' && redirect !== 'follow') throw new ConfigError("Expected `redirect` to be 'same-origin' or 'follow'")
  const commitInterval = nonNegative('commitInterval', options.commitInterval, DEFAULTS.commitInterval)
  const onStoreError = options.onStoreError ?? 'fail'
  if (onStoreError !== 'fail' && onStoreError !== 'report') throw new ConfigError("Expected `onStoreError` to be 'fail' or 'report'")
  const onCursorExpired = options.onCursorExpired ?? 'fail'
  if (onCursorExpired !== 'fail' && onCursorExpired !== 'restart') throw new ConfigError("Expected `onCursorExpired` to be 'fail' or 'restart'")
  for (const name of ['refreshAuth', 'onStatus', 'onNotice', 'fetch'] as const) {
    if (options[name] !== undefined && typeof options[name] !== 'function') throw new ConfigError(`Expected \`${name}\` to be a function`)
  }
  if (options.signal !== undefined && !isAbortSignal(options.signal)) throw new ConfigError('Expected `signal` to be an AbortSignal')
  if (options.credentials !== undefined && !['omit', 'same-origin', 'include'].includes(options.credentials)) {
    throw new ConfigError("Expected `credentials` to be 'omit', 'same-origin' or 'include'")
  }

  return {
    request: { url, method, headers: options.headers, body: options.body, credentials: options.credentials },
    store,
    key: options.key,
    fingerprint: options.fingerprint,
    from,
    dialect,
    machine: {
      baseDelay,
      factor,
      maxDelay,
      maxRetryAfter,
      jitter: backoff.jitter !== false,
      maxRetries,
      mode,
      canRefreshAuth: options.refreshAuth !== undefined,
      pauseWhenHidden: options.pauseWhenHidden ?? false,
      healthyAfter: DEFAULTS.healthyAfter,
      onCursorExpired,
    },
    signal: options.signal,
    heartbeatTimeout,
    maxEventSize,
    highWaterMark,
    highWaterSize,
    flushTimeout,
    redirect,
    commitInterval,
    strictGaps: options.strictGaps ?? false,
    commitOnClose: options.commitOnClose ?? false,
    onStoreError,
    refreshAuth: options.refreshAuth,
    onStatus: options.onStatus,
    onNotice: options.onNotice,
    runtime: resolveRuntime(options),
  }
}

function parseUrl(value: unknown): URL {
  if (value === '' || (typeof value !== 'string' && !(value instanceof URL))) throw new ConfigError('Expected `url` to be an absolute URL string or a URL')
  let url: URL
  try {
    // Relative URLs work where there is a page to be relative to: the document's base URL (it follows
    // `<base href>`), else the location (workers, Deno with --location).
    const scope = globalThis as { document?: { baseURI?: string }; location?: { href?: string } }
    url = new URL(value, scope.document?.baseURI ?? scope.location?.href)
  } catch {
    throw new ConfigError(`Expected \`url\` to be an absolute URL, got "${redact(String(value))}"`)
  }
  // fetch refuses these only at the first attempt, with the password in its message; refuse up front.
  if (url.username !== '' || url.password !== '') {
    throw new ConfigError(`\`url\` must not contain credentials (${redact(url.href)}): send them in \`headers\``)
  }
  return url
}


function nonNegative(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !(value >= 0) || !Number.isFinite(value)) throw new ConfigError(`Expected \`${name}\` to be a non-negative number`)
  return value
}

function positiveInteger(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback
  if (!Number.isSafeInteger(value) || value <= 0) throw new ConfigError(`Expected \`${name}\` to be a positive integer`)
  return value
}

function isAbortSignal(value: unknown): value is AbortSignal {
  return typeof value === 'object' && value !== null && typeof (value as AbortSignal).aborted === 'boolean' && typeof (value as AbortSignal).addEventListener === 'function'
}

/**
 * The environment core code uses, from the options or the globals. Looked up when a subscription is
 * created, not at import, so a test can install a fake fetch after importing the library.
 */
function resolveRuntime(options: SubscribeOptions): Runtime {
  const given = options.runtime ?? {}
  const fetchFn = options.fetch ?? given.fetch ?? globalThis.fetch
  if (typeof fetchFn !== 'function') throw new ConfigError('No `fetch` in this runtime: pass the `fetch` option')
  return {
    // Bound: some runtimes throw "Illegal invocation" when fetch is called as a method of another object.
    fetch: (input, init) => fetchFn(input, init),
    setTimeout: given.setTimeout ?? ((fn, ms) => globalThis.setTimeout(fn, ms)),
    clearTimeout: given.clearTimeout ?? ((handle) => globalThis.clearTimeout(handle as ReturnType<typeof setTimeout>)),
    now: given.now ?? Date.now,
    random: given.random ?? Math.random,
  }
}
