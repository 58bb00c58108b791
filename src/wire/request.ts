import type { Checkpoint } from '../checkpoint/contract.js'
import type { AttemptRequest, Dialect } from '../dialects/dialect.js'
import type { MaybePromise, RequestContext } from '../types.js'

export interface RequestSpec {
  url: URL
  method: string
  headers: HeadersInit | ((context: RequestContext) => MaybePromise<HeadersInit>) | undefined
  body: unknown
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
  const headers = new Headers(typeof spec.headers === 'function' ? await spec.headers(context) : spec.headers)
  const attempt: AttemptRequest = {
    url: new URL(spec.url),
    method: spec.method,
    headers,
    body: typeof spec.body === 'function' ? await (spec.body as (context: RequestContext) => unknown)(context) : spec.body,
  }
  dialect.prepare(attempt, position, mode)

  // What makes this an SSE request, whatever the user passed.
  if (!headers.has('accept')) headers.set('accept', 'text/event-stream')

  let body: string | undefined
  if (attempt.body !== undefined && attempt.body !== null && attempt.method !== 'GET' && attempt.method !== 'HEAD') {
    if (typeof attempt.body === 'string') {
      body = attempt.body
    } else {
      body = JSON.stringify(attempt.body)
      if (!headers.has('content-type')) headers.set('content-type', 'application/json')
    }
  }
  const cache = acceptsNoStore() ? { cache: 'no-store' as const } : {}
  return {
    url: attempt.url,
    method: attempt.method,
    request: (url, method, redirect) => new Request(url, { method, headers, body: method === attempt.method ? body : undefined, signal, redirect, ...cache }),
  }
}

/**
 * One attempt's request, as a way to make it: a redirect hop needs a fresh Request (a fetched one's
 * body is spent), to another URL and maybe another method (a 303 turns a POST into a GET).
 */
export interface BuiltRequest {
  url: URL
  method: string
  request(url: URL, method: string, redirect: RequestRedirect): Request
}

/**
 * Whether `Request` takes `cache: 'no-store'` (workerd rejects the field), found out once. Asked for
 * instead of a `cache-control` request header, which is not CORS-safelisted: that header would send
 * every cross-origin subscription through a preflight many SSE servers do not answer.
 */
let noStore: boolean | undefined
function acceptsNoStore(): boolean {
  if (noStore === undefined) {
    try {
      noStore = new Request('http://localhost/', { cache: 'no-store' }).cache === 'no-store'
    } catch {
      noStore = false
    }
  }
  return noStore
}
