import type { Checkpoint } from '../checkpoint/contract.js'
import type { AttemptRequest, Dialect } from '../dialects/dialect.js'
import type { MaybePromise } from '../types.js'

export interface RequestSpec {
  url: URL
  method: string
  headers: HeadersInit | (() => MaybePromise<HeadersInit>) | undefined
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
): Promise<Request> {
  const headers = new Headers(typeof spec.headers === 'function' ? await spec.headers() : spec.headers)
  const attempt: AttemptRequest = {
    url: new URL(spec.url),
    method: spec.method,
    headers,
    body: typeof spec.body === 'function' ? await (spec.body as () => unknown)() : spec.body,
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
  const init: RequestInit = { method: attempt.method, headers, body, signal }
  try {
    // No caching, asked the way EventSource asks: the runtime adds the no-cache headers after the CORS
    // check, so a cross-origin GET stays preflight-free (a `cache-control` header of ours is not
    // CORS-safelisted and would force an OPTIONS that many SSE servers never answer).
    return new Request(attempt.url, { ...init, cache: 'no-store' })
  } catch {
    // Workers before compatibility date 2024-11-11 reject the field: say it with the header there.
    headers.set('cache-control', 'no-cache')
    return new Request(attempt.url, init)
  }
}
