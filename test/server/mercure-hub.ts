/**
 * A small Mercure hub for tests, written from the specification (dunglas/mercure `spec/mercure.md`:
 * draft-dunglas-mercure-08, the 1.x hub, and its draft-07 predecessor, the 0.x hubs), since no hub is
 * installable here. What it implements, per protocol revision:
 *
 * |                      | draft-08 (1.x)                                   | draft-07 (0.x)                       |
 * |----------------------|--------------------------------------------------|--------------------------------------|
 * | topic matchers       | `match` (exact), `match_urlpattern`, repeatable; other `match*` names → 400 | `topic` (string, URI template, `*`) |
 * | cursor               | `Last-Event-ID` header, else `last_event_id`     | header, else `lastEventID`, else `Last-Event-ID` query (0.10–0.13: only the latter; `cursorParams`) |
 * | answer               | `Mercure-Last-Event-ID`                          | `Last-Event-ID`                      |
 * | token                | `Authorization: Bearer` (wins) or cookie         | same; cookie `mercureAuthorization`  |
 * | grants               | `authorization_details` (`actions`, `topics: [{match, match_type}]`), `typ: at+jwt`, `iss`, `aud`, `exp` | `mercure.subscribe` / `mercure.publish` selector arrays |
 *
 * Tokens are HS256 JWTs verified with node:crypto (HMAC + constant-time compare); an invalid one is a
 * 401 `invalid_token`. Updates have opaque IRI ids (`urn:uuid:…`, or the publisher's), are kept in a
 * bounded history, and `private` ones reach only subscribers whose token grants one of their topics,
 * live and on replay alike. Replay follows the reference hub: a found id → everything after it, and
 * the answer names that id; `earliest` → all history, answer `earliest`; an unknown id → nothing from
 * history (live only) and the answer `earliest`, which is how a subscriber learns history was lost.
 * URL patterns and URI templates are the subset tests need (`:name` / `{name}` segments, `*`).
 *
 * 127.0.0.1, ephemeral port; the listener never keeps the process alive and closes itself after
 * `lifetimeMs`. Faults: `cut()` drops every subscriber connection, `forget()` loses the history (a
 * restart of a hub with in-memory history).
 */
import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto'
import http from 'node:http'
import type { Socket } from 'node:net'

export type MercureProtocol = 'draft-08' | 'draft-07'

export interface MercureHubOptions {
  protocol?: MercureProtocol
  /** HMAC key for subscriber and publisher tokens. @default 'test-key' */
  key?: string
  /** Accepted `iss` (draft-08). @default 'https://issuer.test' */
  issuer?: string
  /** Only subscribers with a valid token are served. @default false */
  requireSubscriberToken?: boolean
  /** Updates kept for replay; older ones are discarded. @default 1000 */
  historySize?: number
  /** The cookie carrying the token. @default `__Secure-mercure_access_token` (draft-08), `mercureAuthorization` (draft-07) */
  cookieName?: string
  /** The hub closes itself after this long. @default 120000 */
  lifetimeMs?: number
  /**
   * CORS for pages on other origins (no credentials): `Access-Control-Allow-Origin: *`, preflights
   * answered (and counted), and, when `true`, `Mercure-Last-Event-ID` exposed to scripts (the
   * reference hub exposes only `Link`). @default undefined (no CORS headers)
   */
  exposeLastEventId?: boolean
  /**
   * The query parameters the hub reads the cursor from (after the `Last-Event-ID` header), in order.
   * @default `['last_event_id']` (draft-08); `['lastEventID', 'Last-Event-ID']` (draft-07, as 0.14+
   * hubs). The 0.10–0.13 hubs, which implement the draft-07 text, read only `['Last-Event-ID']`.
   */
  cursorParams?: readonly string[]
}

export interface PublishInput {
  topics: string | string[]
  data?: string
  private?: boolean
  id?: string
  type?: string
}

export interface SubscribeRecord {
  query: Array<[string, string]>
  lastEventIdHeader: string | undefined
  authorization: string | undefined
  cookie: string | undefined
  status: number
  /** The `Mercure-Last-Event-ID` (or draft-07 `Last-Event-ID`) the hub answered, when it did. */
  answered: string | undefined
}

export interface MercureHub {
  /** The subscription (and publication) URL: `http://127.0.0.1:PORT/.well-known/mercure`. */
  url: string
  /** The resource identifier tokens must name in `aud` (draft-08). */
  audience: string
  /** Publishes in-process, as a POST would; returns the update's id. */
  publish(input: PublishInput): string
  /** Every subscribe request, in arrival order. */
  readonly subscribes: SubscribeRecord[]
  /** CORS preflights (OPTIONS) received. */
  readonly preflights: number
  readonly openStreams: number
  /** Resolves once the n-th subscription stream of the hub's life (from 1) is open. */
  waitForConnection(n: number): Promise<void>
  /** Drops every open subscriber connection. */
  cut(): void
  /** Loses the whole history (and drops subscribers), as a restart of an in-memory hub would. */
  forget(): void
  close(): Promise<void>
}

interface Update {
  id: string
  topics: string[]
  data: string
  private: boolean
  type: string | undefined
}

interface Matcher {
  type: 'exact' | 'urlpattern' | 'selector'
  pattern: string
}

interface Subscriber {
  routes: Matcher[]
  grants: Matcher[]
  response: http.ServerResponse
}

class Refusal extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly challenge?: string,
  ) {
    super(message)
  }
}

const DETAIL_TYPE = 'https://mercure.rocks/authorization-detail'

// ---- JWT (HS256), for the test hub and the tests that mint its tokens ---------------------------

const b64url = (input: Buffer | string) => Buffer.from(input).toString('base64url')

/** Signs `claims` with HS256; `header` extends `{ alg: 'HS256', typ: 'at+jwt' }`. */
export function signJwt(claims: Record<string, unknown>, key: string, header: Record<string, unknown> = {}): string {
  const head = b64url(JSON.stringify({ alg: 'HS256', typ: 'at+jwt', ...header }))
  const body = b64url(JSON.stringify(claims))
  return `${head}.${body}.${createHmac('sha256', key).update(`${head}.${body}`).digest('base64url')}`
}

/** The claims of a well-signed HS256 token, or a Refusal (401 invalid_token) saying nothing of why. */
function verifyJwt(token: string, key: string, protocol: MercureProtocol, issuer: string, audience: string): Record<string, unknown> {
  const invalid = new Refusal(401, 'invalid token', 'Bearer error="invalid_token"')
  const parts = token.split('.')
  if (parts.length !== 3) throw invalid
  const [head, body, signature] = parts as [string, string, string]
  let header: Record<string, unknown>
  let claims: Record<string, unknown>
  try {
    header = JSON.parse(Buffer.from(head, 'base64url').toString('utf8')) as Record<string, unknown>
    claims = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as Record<string, unknown>
  } catch {
    throw invalid
  }
  // An allowlist of one: never `none`, never what the token says it would like.
  if (header.alg !== 'HS256') throw invalid
  const expected = createHmac('sha256', key).update(`${head}.${body}`).digest()
  const given = Buffer.from(signature, 'base64url')
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw invalid
  const now = Date.now() / 1000
  if (typeof claims.nbf === 'number' && claims.nbf > now) throw invalid
  if (protocol === 'draft-08') {
    const typ = typeof header.typ === 'string' ? header.typ.toLowerCase().replace(/^application\//, '') : ''
    if (typ !== 'at+jwt' || claims.iss !== issuer) throw invalid
    if (typeof claims.exp !== 'number' || claims.exp <= now) throw invalid
    const aud = claims.aud
    if (!(aud === audience || (Array.isArray(aud) && aud.includes(audience)))) throw invalid
  } else if (typeof claims.exp === 'number' && claims.exp <= now) {
    throw invalid
  }
  return claims
}

/** What a token grants for `action` (`subscribe` or `publish`). */
function grantsOf(claims: Record<string, unknown>, action: string, protocol: MercureProtocol): Matcher[] {
  const invalid = new Refusal(401, 'invalid authorization details', 'Bearer error="invalid_token"')
  if (protocol === 'draft-07') {
    const mercure = claims.mercure as Record<string, unknown> | undefined
    const list = mercure?.[action]
    if (list === undefined) return []
    if (!Array.isArray(list) || !list.every((item) => typeof item === 'string')) throw invalid
    return list.map((pattern: string) => ({ type: 'selector', pattern }))
  }
  const details = claims.authorization_details
  if (details === undefined) return []
  if (!Array.isArray(details)) throw invalid
  const grants: Matcher[] = []
  for (const detail of details as Array<Record<string, unknown>>) {
    if (typeof detail !== 'object' || detail === null || detail.type !== DETAIL_TYPE) continue
    const { actions, topics } = detail
    if (!Array.isArray(actions) || actions.length === 0 || !actions.every((a) => typeof a === 'string')) throw invalid
    if (!Array.isArray(topics) || topics.length === 0) throw invalid
    // One bad entry rejects the whole token: partial acceptance would change what it grants.
    const parsed = topics.map((topic: Record<string, unknown>) => {
      if (typeof topic !== 'object' || topic === null || typeof topic.match !== 'string') throw invalid
      const type = topic.match_type ?? 'exact'
      if (type !== 'exact' && type !== 'urlpattern') throw invalid
      return { type, pattern: topic.match } as Matcher
    })
    if (actions.includes(action)) grants.push(...parsed)
  }
  return grants
}

// ---- Matching ------------------------------------------------------------------------------------

/** `:name` (URL pattern) or `{name}` (URI template) matches one non-empty segment without `/`. */
function templateMatches(pattern: string, topic: string, placeholder: RegExp): boolean {
  const parts = pattern.split(placeholder)
  const source = parts.map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('[^/]+')
  return new RegExp(`^${source}$`).test(topic)
}

function matches(matcher: Matcher, topic: string, base: string): boolean {
  if (matcher.pattern === '*') return true
  switch (matcher.type) {
    case 'exact':
      return matcher.pattern === topic
    case 'urlpattern': {
      let resolved: string
      try {
        resolved = new URL(topic, base).href
      } catch {
        return false
      }
      return templateMatches(new URL(matcher.pattern, base).href.replace(/%3A/gi, ':'), resolved, /:[A-Za-z_][A-Za-z0-9_]*/)
    }
    case 'selector':
      return matcher.pattern === topic || templateMatches(matcher.pattern, topic, /\{[^}]+\}/)
  }
}

// ---- The hub -------------------------------------------------------------------------------------

export async function startMercureHub(options: MercureHubOptions = {}): Promise<MercureHub> {
  const protocol = options.protocol ?? 'draft-08'
  const key = options.key ?? 'test-key'
  const issuer = options.issuer ?? 'https://issuer.test'
  const historySize = options.historySize ?? 1000
  const cookieName = options.cookieName ?? (protocol === 'draft-08' ? '__Secure-mercure_access_token' : 'mercureAuthorization')
  const history: Update[] = []
  const subscribers = new Set<Subscriber>()
  const sockets = new Set<Socket>()
  const subscribes: SubscribeRecord[] = []
  const records = new WeakMap<http.IncomingMessage, SubscribeRecord>()
  const waiters: Array<{ count: number; resolve: () => void }> = []
  let base = ''
  let connected = 0
  let preflights = 0

  const server = http.createServer((req, res) => {
    res.on('error', () => {})
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      try {
        handle(req, res, Buffer.concat(chunks).toString('utf8'))
      } catch (error) {
        const refusal = error instanceof Refusal ? error : new Refusal(500, String(error))
        const headers: Record<string, string> = { 'content-type': 'text/plain; charset=utf-8' }
        if (refusal.challenge) headers['www-authenticate'] = refusal.challenge
        const record = records.get(req)
        if (record) record.status = refusal.status
        res.writeHead(refusal.status, headers).end(refusal.message)
      }
    })
  })
  server.on('connection', (socket) => {
    sockets.add(socket)
    socket.on('error', () => {})
    socket.on('close', () => sockets.delete(socket))
  })

  /** The token of a request: the Authorization header wins; else the cookie; else none. */
  function tokenOf(req: http.IncomingMessage): string | undefined {
    const authorization = req.headers.authorization
    if (authorization !== undefined) {
      const match = /^Bearer +(\S+)$/i.exec(authorization)
      if (!match) throw new Refusal(400, 'malformed Authorization', 'Bearer error="invalid_request"')
      return match[1]
    }
    for (const pair of (req.headers.cookie ?? '').split(';')) {
      const at = pair.indexOf('=')
      if (at !== -1 && pair.slice(0, at).trim() === cookieName) return pair.slice(at + 1).trim()
    }
    return undefined
  }

  function handle(req: http.IncomingMessage, res: http.ServerResponse, body: string): void {
    const url = new URL(req.url ?? '/', base)
    if (options.exposeLastEventId !== undefined) {
      res.setHeader('access-control-allow-origin', '*')
      if (options.exposeLastEventId) res.setHeader('access-control-expose-headers', 'Mercure-Last-Event-ID, Last-Event-ID')
      if (req.method === 'OPTIONS') {
        preflights += 1
        res.writeHead(204, { 'access-control-allow-methods': 'GET, POST', 'access-control-allow-headers': 'authorization, cache-control, last-event-id' }).end()
        return
      }
    }
    if (url.pathname !== '/.well-known/mercure') throw new Refusal(404, 'not found')
    if (req.method === 'POST') return publishRequest(req, res, body)
    if (req.method !== 'GET') throw new Refusal(405, 'method not allowed')
    const record: SubscribeRecord = {
      query: [...url.searchParams],
      lastEventIdHeader: utf8Header(req.headers['last-event-id']),
      authorization: req.headers.authorization,
      cookie: req.headers.cookie,
      status: 200,
      answered: undefined,
    }
    subscribes.push(record)
    records.set(req, record)

    const routes = routesOf(url.searchParams)
    const token = tokenOf(req)
    if (token === undefined && options.requireSubscriberToken) throw new Refusal(401, 'token required', 'Bearer')
    const grants = token === undefined ? [] : grantsOf(verifyJwt(token, key, protocol, issuer, hubUrl()), 'subscribe', protocol)
    const subscriber: Subscriber = { routes, grants, response: res }

    const asked = lastEventIdOf(req, url.searchParams)
    let replay: Update[] = []
    let answered: string | undefined
    if (asked !== undefined) {
      if (asked === 'earliest') {
        replay = history
        answered = 'earliest'
      } else {
        const at = history.findIndex((update) => update.id === asked)
        // Unknown or discarded: nothing from history, and the answer says no event precedes.
        replay = at === -1 ? [] : history.slice(at + 1)
        answered = at === -1 ? 'earliest' : asked
      }
    }
    record.answered = answered
    const headers: Record<string, string> = { 'content-type': 'text/event-stream', 'cache-control': 'private, no-cache, no-store, must-revalidate, max-age=0', 'x-accel-buffering': 'no' }
    // The reference hub (Go) writes the id's UTF-8 bytes as they are; Node writes one byte per char.
    if (answered !== undefined) headers[protocol === 'draft-08' ? 'mercure-last-event-id' : 'last-event-id'] = Buffer.from(answered, 'utf8').toString('latin1')
    res.writeHead(200, headers)
    res.write(':\n')
    for (const update of replay) if (wants(subscriber, update)) res.write(frame(update))
    subscribers.add(subscriber)
    connected += 1
    res.on('close', () => subscribers.delete(subscriber))
    for (const waiter of [...waiters]) {
      if (connected >= waiter.count) {
        waiters.splice(waiters.indexOf(waiter), 1)
        waiter.resolve()
      }
    }
  }

  function routesOf(query: URLSearchParams): Matcher[] {
    const routes: Matcher[] = []
    for (const [name, value] of query) {
      if (protocol === 'draft-07') {
        if (name === 'topic') routes.push({ type: 'selector', pattern: value })
        continue
      }
      if (name === 'match' || name === 'match_exact') routes.push({ type: 'exact', pattern: value })
      else if (name === 'match_urlpattern') routes.push({ type: 'urlpattern', pattern: value })
      // The whole `match` prefix is reserved, and `topic` is the 0.x name: both fail loudly.
      else if (name.toLowerCase().startsWith('match') || name === 'topic') throw new Refusal(400, `unknown topic matcher query parameter "${name}"`)
    }
    if (routes.length === 0) throw new Refusal(400, `missing "${protocol === 'draft-08' ? 'match' : 'topic'}" parameter`)
    return routes
  }

  function lastEventIdOf(req: http.IncomingMessage, query: URLSearchParams): string | undefined {
    const header = utf8Header(req.headers['last-event-id'])
    if (header !== undefined && header !== '') return header
    const names = options.cursorParams ?? (protocol === 'draft-08' ? ['last_event_id'] : ['lastEventID', 'Last-Event-ID'])
    for (const name of names) {
      const value = query.get(name)
      if (value) return value
    }
    return undefined
  }

  /** Routed to the subscriber, and readable by it. */
  function wants(subscriber: Subscriber, update: Update): boolean {
    const routed = update.topics.some((topic) => subscriber.routes.some((route) => matches(route, topic, base)))
    if (!routed) return false
    return !update.private || update.topics.some((topic) => subscriber.grants.some((grant) => matches(grant, topic, base)))
  }

  function frame(update: Update): string {
    let text = `id: ${update.id}\n`
    if (update.type !== undefined) text += `event: ${update.type}\n`
    for (const line of update.data.split(/\r\n|\r|\n/)) text += `data: ${line}\n`
    return `${text}\n`
  }

  function publish(input: PublishInput): string {
    const topics = typeof input.topics === 'string' ? [input.topics] : input.topics
    if (topics.length === 0) throw new Refusal(400, 'Missing "topic" parameter')
    if (input.id !== undefined && (input.id.startsWith('#') || input.id === 'earliest' || /[\u0000-\u001f\u007f-\u009f]/.test(input.id))) {
      throw new Refusal(400, 'invalid id')
    }
    if (input.type === 'mercure') throw new Refusal(400, 'the "mercure" type is reserved')
    const update: Update = { id: input.id ?? `urn:uuid:${randomUUID()}`, topics, data: input.data ?? '', private: input.private ?? false, type: input.type }
    history.push(update)
    if (history.length > historySize) history.splice(0, history.length - historySize)
    for (const subscriber of subscribers) if (wants(subscriber, update)) subscriber.response.write(frame(update))
    return update.id
  }

  function publishRequest(req: http.IncomingMessage, res: http.ServerResponse, body: string): void {
    const token = tokenOf(req)
    if (token === undefined) throw new Refusal(401, 'token required', 'Bearer')
    const grants = grantsOf(verifyJwt(token, key, protocol, issuer, hubUrl()), 'publish', protocol)
    const form = new URLSearchParams(body)
    const topics = form.getAll('topic')
    // Every topic of the update must be granted, or nothing is dispatched.
    if (!topics.every((topic) => grants.some((grant) => matches(grant, topic, base)))) throw new Refusal(403, 'forbidden', 'Bearer error="insufficient_scope"')
    const id = publish({
      topics,
      data: form.get('data') ?? '',
      private: form.has('private'),
      ...(form.has('id') && { id: form.get('id')! }),
      ...(form.has('type') && { type: form.get('type')! }),
    })
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end(id)
  }

  const hubUrl = () => `${base}/.well-known/mercure`

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  server.unref()
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`
  const close = () => {
    for (const socket of sockets) socket.destroy()
    return new Promise<void>((resolve) => server.close(() => resolve()))
  }
  setTimeout(() => void close(), options.lifetimeMs ?? 120_000).unref()
  const cut = () => {
    for (const subscriber of subscribers) subscriber.response.destroy()
    subscribers.clear()
  }

  return {
    url: hubUrl(),
    audience: hubUrl(),
    publish,
    subscribes,
    get preflights() {
      return preflights
    },
    get openStreams() {
      return subscribers.size
    },
    waitForConnection(count) {
      if (connected >= count) return Promise.resolve()
      return new Promise((resolve) => waiters.push({ count, resolve }))
    },
    cut,
    forget() {
      history.length = 0
      cut()
    },
    close,
  }
}

/** A request header as the reference hub (Go) reads it: its bytes as UTF-8 (Node gives one char per byte). */
function utf8Header(value: string | string[] | undefined): string | undefined {
  return typeof value === 'string' ? Buffer.from(value, 'latin1').toString('utf8') : undefined
}
