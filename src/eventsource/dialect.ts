import type { Checkpoint } from '../checkpoint/contract.js'
import { lastEventId } from '../dialects/last-event-id.js'
import type { Dialect, DialectSink } from '../dialects/dialect.js'
import type { HttpError } from '../errors.js'

/**
 * The standard dialect with the HTML standard's failure rule: any non-200 answer fails the connection
 * for good (browsers do not retry a 500 or a 503), except what the user opted into (`refreshAuth` on a
 * 401, `retryHttpErrors` for 5xx/429). A wrong content type is already fatal in the wire layer.
 *
 * `onPush` is told about every event that reaches the consumer's queue, synchronously and in order,
 * so the class can keep `open`/`error` in their place between messages (see `EventSource`).
 */
export function eventSourceDialect(canRefresh: boolean, retryHttp: boolean, onPush: () => void): Dialect {
  const inner = lastEventId()
  const retryable = (status: number) => (status === 401 && canRefresh) || (retryHttp && (status === 429 || status >= 500))
  return {
    ...inner,
    open(position: Checkpoint | undefined, mode) {
      const session = inner.open(position, mode)
      // One wrapped sink per connection's sink, not per frame: this runs once per event.
      let seen: DialectSink | undefined
      let wrapped: DialectSink | undefined
      return {
        frame(frame, sink) {
          if (sink !== seen) {
            seen = sink
            // Inherits whatever else the sink offers (closing, fail, position markers).
            wrapped = Object.create(sink) as DialectSink
            wrapped.deliver = (...args) => {
              onPush()
              sink.deliver(...args)
            }
            wrapped.deliverUnpositioned = (...args) => {
              onPush()
              sink.deliverUnpositioned(...args)
            }
          }
          session.frame(frame, wrapped!)
        },
        ended: session.ended?.bind(session),
        accepted: session.accepted?.bind(session),
        rejected: (error: HttpError) => (retryable(error.status) ? session.rejected?.(error) : error),
      }
    },
  }
}
