import type { Checkpoint } from '../checkpoint/contract.js'
import type { AttemptRequest, Dialect } from '../dialects/dialect.js'
import type { MaybePromise } from '../types.js'

export interface RequestSpec {
  url: URL
  method: string
  headers: HeadersInit | (() => MaybePromise<HeadersInit>) | undefined
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
  headers.set('cache-control', 'no-cache')

  let body: string | undefined
  if (attempt.body !== undefined && attempt.body !== null && attempt.method !== 'GET' && attempt.method !== 'HEAD') {
    if (typeof attempt.body === 'string') {
      body = attempt.body
    } else {
      body = JSON.stringify(attempt.body)
      if (!headers.has('content-type')) headers.set('content-type', 'application/json')
    }
  }
  // No `cache` init field: workerd rejects it, and the no-cache header already says the same.
  const init: RequestInit = { method: attempt.method, headers, body, signal }
  if (spec.credentials) {
    // workerd rejects `credentials` (it has no cookie jar): feature-detected by trying it.
    try {
      return new Request(attempt.url, { ...init, credentials: spec.credentials })
    } catch {}
  }
  return new Request(attempt.url, init)
}
