import type { Checkpoint } from '../checkpoint/contract.js'
import { lastEventId } from '../dialects/last-event-id.js'
import type { Dialect } from '../dialects/dialect.js'
import type { HttpError } from '../errors.js'

/**
 * The standard dialect with the HTML standard's failure rule: any non-200 answer fails the connection
 * for good (browsers do not retry a 500 or a 503), except what the user opted into (`refreshAuth` on a
 * 401, `retryHttpErrors` for 5xx/429). A wrong content type is already fatal in the wire layer.
 */
export function eventSourceDialect(canRefresh: boolean, retryHttp: boolean): Dialect {
  const inner = lastEventId()
  const retryable = (status: number) => (status === 401 && canRefresh) || (retryHttp && (status === 429 || status >= 500))
  return {
    ...inner,
    open(position: Checkpoint | undefined, mode) {
      const session = inner.open(position, mode)
      // What may be retried still goes through the session's own rejected(), if it has one.
      const own = session.rejected
      session.rejected = (error: HttpError) => (retryable(error.status) ? own?.call(session, error) : error)
      return session
    },
  }
}
