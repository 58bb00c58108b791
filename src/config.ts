import type { CheckpointStore } from './checkpoint/contract.js'
import { MemoryStore } from './checkpoint/memory.js'
import { FUNCTION_BODY } from './checkpoint/resume-key.js'
import { checkpointProblem, type Dialect } from './dialects/dialect.js'
import { lastEventId } from './dialects/last-event-id.js'
import { ConfigError, redact } from './errors.js'
import type { MachineConfig } from './supervisor/machine.js'
import type { BackoffOptions, Environment, Runtime, SubscribeOptions } from './types.js'
import type { RequestSpec } from './wire/request.js'

/** What an option may be: a test and the end of "Expected `name` to …" (`1` third: the message also quotes the value). */
// `any`: a test takes whatever the user passed and checks its type first.
type Test = (value: any) => boolean
type Check = readonly [test: Test, expected: string, quote?: 1]
/** One option: its check and, when it is a plain value, its default. A nested table for an object option. */
type Row = readonly [check: Check, fallback?: unknown]
interface Table {
  readonly [name: string]: Row | Table
}

const is = (type: string): Test => (value) => typeof value === type
const finite = (value: unknown): value is number => Number.isFinite(value)
const ANY: Check = [() => true, '']
const FUNCTION: Check = [is('function'), 'be a function']
const BOOLEAN: Check = [is('boolean'), 'be true or false']
const NON_NEGATIVE: Check = [(value) => finite(value) && value >= 0, 'be a non-negative number']
const POSITIVE_INTEGER: Check = [(value) => Number.isSafeInteger(value) && value > 0, 'be a positive integer']
/** One of these strings: the message lists them, quoted, and quotes the value. */
const oneOf = (...allowed: string[]): Check => {
  const quoted = allowed.map((value) => `'${value}'`)
  return [(value) => allowed.includes(value), `be ${quoted.slice(0, -1).join(', ')} or ${quoted[quoted.length - 1]}`, 1]
}
/** An object with these methods (a store, a dialect): checked by shape, so any implementation fits. */
const implementing = (value: unknown, methods: string) =>
  typeof value === 'object' && value !== null && methods.split(' ').every((name) => typeof (value as Record<string, unknown>)[name] === 'function')

/**
 * Every option, once: the single source of its check and default. The README's options table and the
 * `@default` tags in types.ts are tested against it (test/unit/options.test.ts). Defaults that
 * depend on other options or must be fresh per subscription (store, dialect, method, fetch) are
 * applied in `resolveConfig`.
 */
export const OPTIONS = {
  url: [[(value) => value instanceof URL || (typeof value === 'string' && value !== ''), 'be an absolute URL string or a URL']],
  method: [[(value) => typeof value === 'string' && /^[a-z]+$/i.test(value), 'be an HTTP method', 1]],
  headers: [[(value) => typeof value === 'function' || (typeof value === 'object' && value !== null), 'be a Headers init (object, array or Headers) or a function returning one']],
  body: [ANY],
  store: [[(value) => implementing(value, 'get put delete'), 'implement get, put and delete (see CheckpointStore)']],
  key: [[(value) => typeof value === 'string' && value !== '', 'be a non-empty string']],
  fingerprint: [[is('string'), 'be a string']],
  // 'start' or a checkpoint, checked in resolveConfig so the message can say what is wrong with it.
  from: [ANY],
  dialect: [[(value) => implementing(value, 'prepare open'), 'be a dialect object such as `lastEventId()`']],
  mode: [oneOf('live', 'replay'), 'live'],
  signal: [[(value) => implementing(value, 'addEventListener') && typeof value.aborted === 'boolean', 'be an AbortSignal']],
  backoff: {
    baseDelay: [NON_NEGATIVE, 250],
    factor: [[(value) => finite(value) && value >= 1, 'be at least 1'], 2],
    maxDelay: [NON_NEGATIVE, 30_000],
    maxRetryAfter: [NON_NEGATIVE, 300_000],
    jitter: [BOOLEAN, true],
  },
  maxRetries: [[(value) => value === Infinity || (Number.isInteger(value) && value >= 0), 'be a non-negative integer or Infinity'], Infinity],
  heartbeatTimeout: [[(value) => value === false || (finite(value) && value > 0), 'be a positive number of milliseconds or false'], 60_000],
  maxEventSize: [POSITIVE_INTEGER, 1024 * 1024],
  refreshAuth: [FUNCTION],
  highWaterMark: [POSITIVE_INTEGER, 1024],
  highWaterSize: [POSITIVE_INTEGER, 4 * 1024 * 1024],
  flushTimeout: [NON_NEGATIVE, 10_000],
  redirect: [oneOf('same-origin', 'follow'), 'same-origin'],
  commitInterval: [NON_NEGATIVE, 50],
  strictGaps: [BOOLEAN, false],
  commitOnClose: [BOOLEAN, false],
  onCursorExpired: [oneOf('fail', 'restart'), 'fail'],
  onStoreError: [oneOf('fail', 'report'), 'fail'],
  pauseWhenHidden: [BOOLEAN, false],
  shareAcrossTabs: [BOOLEAN, false],
  onStatus: [FUNCTION],
  onNotice: [FUNCTION],
  fetch: [FUNCTION],
  // Wired by the request (`credentials`); `backoff.jitter` and `onCursorExpired` reach the machine with the rest.
  credentials: [oneOf('omit', 'same-origin', 'include')],
  // Looked up when a subscription is created, not at import, so a test can fake the clock after importing.
  runtime: {
    setTimeout: [FUNCTION, (fn: () => void, ms: number) => globalThis.setTimeout(fn, ms)],
    clearTimeout: [FUNCTION, (handle: ReturnType<typeof setTimeout>) => globalThis.clearTimeout(handle)],
    now: [FUNCTION, () => Date.now()],
    random: [FUNCTION, () => Math.random()],
  } satisfies Record<keyof Runtime, Row>,
} satisfies Record<keyof SubscribeOptions, Row | Table>

/** Fixed values that are not options. */
export const DEFAULTS = {
  healthyAfter: 1000,
  /** shareAcrossTabs: recent events every tab keeps, so a joining tab catches up without a connection. */
  shareWindow: 1024,
  /** shareAcrossTabs: a leader whose stream ended for good keeps the lock this long, so every tab hears the end first. */
  shareEndGrace: 500,
} as const

type Rows = typeof OPTIONS
/** The options whose table row has a default: never undefined once checked. */
type Defaulted = { [K in keyof Rows]: Rows[K] extends readonly [Check, unknown] ? K : never }[keyof Rows]
/** Every name present (the table gives each one a value), possibly undefined (not `-?`: it would drop the undefined). */
type Present<T> = { [K in Exclude<keyof T, never>]: T[K] | undefined }
/** The options after the table: every value checked, table defaults applied. */
type Checked = Present<Omit<SubscribeOptions, Defaulted | 'url' | 'backoff' | 'runtime'>> &
  Required<Pick<SubscribeOptions, Defaulted | 'url'>> & { backoff: Required<BackoffOptions>; runtime: Runtime }

/** Options after validation and defaults: what the rest of the code relies on. */
export type ResolvedConfig = Omit<Checked, 'store' | 'dialect' | 'runtime'> & {
  request: RequestSpec
  store: CheckpointStore
  dialect: Dialect
  machine: MachineConfig
  runtime: Environment
}

/** Validates every option up front with a message that names it, and applies defaults. */
export function resolveConfig(options: SubscribeOptions): ResolvedConfig {
  if (typeof options !== 'object' || options === null) throw expected('subscribe()', 'be given an options object')
  // `url` is required: an absent one fails its row's check like an empty one.
  const checked = check(OPTIONS, { ...options, url: options.url ?? '' }, '') as Checked
  const { body, from, key, backoff } = checked
  const url = parseUrl(checked.url)
  const dialect = checked.dialect ?? lastEventId()
  if (body !== undefined && dialect.ownsBody) {
    throw new ConfigError(`The ${dialect.name} dialect writes the request body itself: remove \`body\` and pass what it needs to the dialect`)
  }
  const method = (checked.method ?? dialect.defaultMethod).toUpperCase()
  if (body !== undefined && (method === 'GET' || method === 'HEAD')) throw new ConfigError(`A \`body\` cannot be sent with ${method}; set \`method: 'POST'\``)
  if (typeof body === 'function' && key === undefined) throw new ConfigError(FUNCTION_BODY)
  const problem = from === undefined || from === 'start' ? undefined : checkpointProblem(from)
  if (problem) throw expected('from', `be 'start' or a checkpoint: ${problem}`)
  const fetch = checked.fetch ?? globalThis.fetch
  if (typeof fetch !== 'function') throw expected('fetch', 'be passed: this runtime has no global fetch')
  return {
    ...checked,
    request: { url, method, headers: checked.headers, body, credentials: checked.credentials },
    store: checked.store ?? new MemoryStore(),
    dialect,
    // The machine takes what it needs of the checked options (mode, maxRetries, pauseWhenHidden, backoff).
    machine: { ...checked, ...backoff, canRefreshAuth: checked.refreshAuth !== undefined, healthyAfter: DEFAULTS.healthyAfter },
    // Bound: some runtimes throw "Illegal invocation" when fetch is called as a method of another object.
    // Timers hold at most 2^31-1 ms in every runtime and fire at once for more: a huge delay (a 30-day
    // heartbeatTimeout, MAX_SAFE_INTEGER as "never") is clamped, not turned into no delay at all.
    runtime: { ...checked.runtime, setTimeout: (fn, ms) => checked.runtime.setTimeout(fn, Math.min(ms, 2147483647)), fetch: (input, init) => fetch(input, init) },
  }
}

/**
 * Checks `given` against a table: an unknown name (a typo, or an option of a newer version) is an
 * error naming the closest known one; a value that fails its row's check is an error naming the option
 * and what it should be; an absent value takes the row's default.
 */
function check(table: Table, given: unknown, prefix: string): Record<string, unknown> {
  if (typeof given !== 'object' || given === null) throw expected(prefix.slice(0, -1), 'be an object')
  const values = given as Record<string, unknown>
  const checked: Record<string, unknown> = {}
  // The table's names first, in its order, then any the table does not know.
  for (const name of Object.keys({ ...table, ...values })) {
    const row = table.hasOwnProperty(name) && table[name]
    const value = values[name]
    const path = prefix + name
    if (!row) {
      if (value === undefined) continue
      // Its siblings first, then the top level (`runtime.fetch` → `fetch`).
      const suggestion = [...Object.keys(table).map((known) => prefix + known), ...Object.keys(OPTIONS)].find((known) => near(name, known.slice(known.indexOf('.') + 1)))
      throw new ConfigError(`Unknown option \`${path}\`${suggestion ? `: did you mean \`${suggestion}\`?` : ''}`)
    }
    if (!Array.isArray(row)) {
      checked[name] = check(row as Table, value ?? {}, `${path}.`)
      continue
    }
    const [[test, what, quote], fallback] = row as Row
    if (value === undefined) checked[name] = fallback
    else if (test(value)) checked[name] = value
    else throw expected(path, what, quote && value)
  }
  return checked
}

function expected(name: string, what: string, got?: unknown): ConfigError {
  return new ConfigError(`Expected \`${name}\` to ${what}${got === undefined ? '' : `, got "${String(got)}"`}`)
}

/**
 * Whether `typo` is likely meant as `name`: the same after their common start but for one letter
 * added, dropped or changed (a wrong case too), or two in a row changed or swapped.
 */
function near(typo: string, name: string): boolean {
  let start = 0
  while (typo[start] && typo[start] === name[start]) start++
  return ([[1, 0], [0, 1], [1, 1], [2, 2]] as const).some(([skipTypo, skipName]) => typo.slice(start + skipTypo) === name.slice(start + skipName))
}

/**
 * What a relative URL is relative to where there is a page: the document's base URL (it follows
 * `<base href>`), else the location (workers, Deno with --location).
 */
export function baseUrl(): string | undefined {
  const scope = globalThis as { document?: { baseURI?: string }; location?: { href?: string } }
  return scope.document?.baseURI ?? scope.location?.href
}

function parseUrl(value: string | URL): URL {
  let url: URL
  try {
    url = new URL(value, baseUrl())
  } catch {
    throw new ConfigError(`Expected \`url\` to be an absolute URL, got "${redact(String(value))}"`)
  }
  // fetch refuses these only at the first attempt, with the password in its message; refuse up front.
  if (url.username || url.password) {
    throw new ConfigError(`\`url\` must not contain credentials (${redact(url.href)}): send them in \`headers\``)
  }
  return url
}
