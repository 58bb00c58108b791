import type { Checkpoint } from '../checkpoint/contract.js'
import type { AttemptRequest, Dialect } from '../dialects/dialect.js'
import type { MaybePromise, RequestContext } from '../types.js'

export interface RequestSpec {
  url: URL
  method: string
  headers: HeadersInit | ((context: RequestContext) => MaybePromise<HeadersInit>) | undefined
  body: unknown
  credentials?: RequestCredentials | undefined
}

/**
 * Builds one attempt's Request. Headers and body functions are evaluated here, per attempt, so a
 * token refreshed after a 401 is the one sent next.
 */
export async function buildRequest(
  spec: RequestSpec,
  dialect: Dialect,
  position: Checkpoint | undefined,
  mode: 'live' | 'replay',
  signal: AbortSignal,
  attemptNumber: number,
): Promise<BuiltRequest> {
  const context: RequestContext = { signal, attempt: attemptNumber }
  const given = typeof spec.headers === 'function' ? await spec.headers(context) : spec.headers
  let headers: Headers
  try {
    headers = new Headers(given)
  } catch {
    // The runtime's error (Node, Deno) quotes the refused value, often a token: it must not reach
    // statuses and logs. Still a failed attempt (`request`), as a headers() function may do better next time.
    throw new TypeError('`headers` has a name or value fetch refuses (a line break, NUL, or a character above U+00FF)')
  }
  const attempt: AttemptRequest = {
    url: new URL(spec.url),
    method: spec.method,
    headers,
    body: typeof spec.body === 'function' ? await (spec.body as (context: RequestContext) => unknown)(context) : spec.body,
  }
  dialect.prepare(attempt, position, mode)
  const { method } = attempt

  // What makes this an SSE request, whatever the user passed.
  if (!headers.has('accept')) headers.set('accept', 'text/event-stream')

  let body = attempt.body
  if (body === null || method === 'GET' || method === 'HEAD') body = undefined
  else if (body !== undefined && typeof body !== 'string') {
    body = JSON.stringify(body)
    if (!headers.has('content-type')) headers.set('content-type', 'application/json')
  }
  const init: RequestInit = { headers, signal }
  if (accepts('cache', 'no-store')) init.cache = 'no-store'
  if (spec.credentials && accepts('credentials', spec.credentials)) init.credentials = spec.credentials
  return {
    url: attempt.url,
    method,
    request: (url, hopMethod, redirect, foreign) => {
      const same = hopMethod === method
      // A redirect that turns the method into GET drops the body, and with it, as fetch does, the headers
      // that describe a body (the fetch standard's request-body-header names). A hop that left the
      // URL's origin drops the credentials, as Node and browsers do (workerd's own following keeps them).
      const drop = [...(same ? [] : ['content-type', 'content-encoding', 'content-language', 'content-location']), ...(foreign ? ['authorization', 'cookie', 'proxy-authorization'] : [])]
      const hop = new Headers(headers)
      for (const name of drop) hop.delete(name)
      return new Request(url, { ...init, method: hopMethod, headers: hop, body: same ? (body as string | undefined) : undefined, redirect })
    },
  }
}

/**
 * One attempt's request, as a way to make it: a redirect hop needs a fresh Request (a fetched one's
 * body is spent), to another URL and maybe another method (a 303 turns a POST into a GET).
 */
export interface BuiltRequest {
  url: URL
  method: string
  /** `foreign`: a hop has left the URL's origin, so no credentials go along. */
  request(url: URL, method: string, redirect: RequestRedirect, foreign?: boolean): Request
}

/**
 * Whether `Request` takes this init field, found out once per field: workerd rejects `cache` and
 * `credentials` (it has no HTTP cache or cookie jar). `cache: 'no-store'` is asked for instead of a
 * `cache-control` request header, which is not CORS-safelisted: that header would send every
 * cross-origin subscription through a preflight many SSE servers do not answer.
 */
const accepted: Partial<Record<'cache' | 'credentials', boolean>> = {}
function accepts(field: 'cache' | 'credentials', value: string): boolean {
  try {
    accepted[field] ??= (new Request('http://localhost/', { [field]: value }) as unknown as Record<string, unknown>)[field] === value
  } catch {
    accepted[field] = false
  }
  return accepted[field]
}
