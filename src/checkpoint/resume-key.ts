import { sha256 } from '@noble/hashes/sha2.js'
import { ConfigError } from '../errors.js'
import { canonicalJson } from './canonical-json.js'

/** What identifies a subscription: two subscriptions with equal parts share a checkpoint. */
export interface ResumeKeyParts {
  /** Absolute URL. Scheme and host case, a default port, userinfo and the fragment do not count; the query does. */
  url: string | URL
  /** @default 'GET' (compared upper-cased) */
  method?: string
  /** A string counts as its text; any other value as its RFC 8785 canonical JSON. `undefined`/`null` = no body. */
  body?: unknown
  /** The dialect's name. */
  dialect?: string
  /** Extra identity chosen by the caller (a user id, a schema version, ...). */
  fingerprint?: string
}

/**
 * The encoding is part of the stored data's meaning (a changed key orphans every checkpoint), so it
 * is versioned and pinned by a test vector. It is the concatenation of, in this order:
 *
 *   field(VERSION) field(url) field(method) field(body) field(dialect) field(fingerprint)
 *
 * where `field(s)` is a 4-byte big-endian byte length followed by the UTF-8 bytes of `s`, and an
 * absent optional field is the length 0xFFFFFFFF with no bytes (so absent differs from empty).
 * The body field is `s` + the string for a string body, `j` + canonical JSON otherwise, so the string
 * `'{}'` and the object `{}` never collide. Length prefixes make the concatenation unambiguous.
 */
export const RESUME_KEY_VERSION = 'resumable-sse/resume-key/v1'

const ABSENT = 0xffffffff

/** SHA-256 over the encoding above, as 64 lower-case hex characters. */
export function resumeKey(parts: ResumeKeyParts): string {
  if (typeof parts !== 'object' || parts === null) throw new ConfigError('Expected resumeKey() to be given an object of parts')
  const fields = [
    RESUME_KEY_VERSION,
    normaliseUrl(parts.url),
    (optionalString(parts.method, 'method') ?? 'GET').toUpperCase(),
    encodeBody(parts.body),
    optionalString(parts.dialect, 'dialect'),
    optionalString(parts.fingerprint, 'fingerprint'),
  ]
  // Hashed field by field: no buffer of the whole encoding is built.
  const hash = sha256.create()
  const encoder = new TextEncoder()
  for (const field of fields) {
    const bytes = field === undefined ? undefined : encoder.encode(field)
    const length = bytes?.length ?? ABSENT
    // The 4-byte big-endian length (Uint8Array keeps the low 8 bits of each shifted value).
    hash.update(Uint8Array.of(length >>> 24, length >>> 16, length >>> 8, length))
    if (bytes) hash.update(bytes)
  }
  return toHex(hash.digest())
}

/**
 * Lower-case hex via one `join`: the key lives as long as the subscription, and a string built by
 * `+=` stays a rope of dozens of heap nodes in V8, per subscription.
 */
function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('')
}

function normaliseUrl(input: string | URL): string {
  let url: URL
  try {
    url = new URL(String(input))
  } catch {
    // Relative URLs are resolved by the caller (against the page in a browser): a key must not depend
    // on which page happened to compute it without saying so.
    throw new ConfigError(`Expected \`url\` to be an absolute URL, got ${JSON.stringify(String(input))}`)
  }
  // WHATWG parsing already lower-cases scheme and host and drops the scheme's default port.
  url.username = url.password = url.hash = ''
  // `/feed?` and `/feed` send the same request; setting an empty query drops the dangling `?`.
  url.search ||= ''
  return url.href
}

/** Also subscribe()'s message (config.ts), which checks this before any key is derived. */
export const FUNCTION_BODY = 'Pass `key` when `body` is a function: a function cannot be part of the derived resume key'

function encodeBody(body: unknown): string | undefined {
  if (body === undefined || body === null) return undefined
  if (typeof body === 'string') return `s${body}`
  if (typeof body === 'function') throw new ConfigError(FUNCTION_BODY)
  return `j${canonicalJson(body, 'body')}`
}

function optionalString(value: unknown, name: string): string | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'string') throw new ConfigError(`Expected \`${name}\` to be a string, got ${typeof value}`)
  return value
}

/** What the identity rule reads of a subscription's options. */
export interface IdentityParts {
  store: { readonly persistent?: boolean }
  request: { headers: unknown }
  refreshAuth: unknown
  shareAcrossTabs?: boolean | undefined
}

/**
 * The identity rule. The derived key says what is read, not who reads it: with a store that outlives
 * the process, two users of one feed URL (a logout and login in one browser, one KV namespace serving
 * many users) would resume from each other's checkpoint and miss their own events. So when the feed
 * may be per-user — the request authenticates, or it runs in a browser page or worker, where
 * same-origin cookies make it per-user without any header we can see — and nothing says whose it is,
 * `subscribe` refuses. So it does with `shareAcrossTabs`, whatever the store: tabs with equal keys share
 * one connection, so a tab logged in as another user would follow the first user's live stream.
 * Called only when neither `key` nor `fingerprint` was given.
 */
export function assertIdentity({ store, request, refreshAuth, shareAcrossTabs }: IdentityParts): void {
  if (store.persistent !== true && shareAcrossTabs !== true) return
  const global = globalThis as { document?: unknown; importScripts?: unknown }
  let authenticates = refreshAuth !== undefined || typeof request.headers === 'function' || global.document !== undefined || typeof global.importScripts === 'function'
  // No headers (`undefined`) make an empty Headers.
  if (!authenticates) {
    try {
      const headers = new Headers(request.headers as HeadersInit)
      authenticates = headers.has('authorization') || headers.has('cookie')
    } catch {
      // Malformed headers fail the first attempt with their own error.
    }
  }
  if (authenticates) {
    throw new ConfigError(
      "Two users would share one checkpoint (or tab-shared connection): the store persists (or tabs share) and the feed may be per-user (auth, or cookies in a browser). Pass `fingerprint` (the user id, or `fingerprint: 'public'` if the feed is the same for everyone) or `key`",
    )
  }
}
