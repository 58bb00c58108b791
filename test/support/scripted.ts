/**
 * Helpers shared by the tests that script the network by hand: a fetch answering from a list, a body
 * that splits bytes exactly where the test says, and a guard that turns a hang into a failure.
 */
export const enc = new TextEncoder()

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))
export const STUCK = Symbol('stuck')
/** Turns a promise that would never settle into a failure (`STUCK`) instead of a test timeout. */
export const within = <T>(promise: Promise<T>, ms = 1000) => Promise.race([promise, sleep(ms).then(() => STUCK)])

export interface StreamOptions {
  /** After the chunks, keep the body open (no bytes) instead of ending it. */
  hold?: boolean
  onCancel?: () => void
}

/**
 * A body that hands out exactly one chunk per read (pull-based, no read-ahead), so a test decides where
 * the network splits the bytes. It does not observe any abort signal: only `cancel()` stops it.
 */
export function body(chunks: Array<string | Uint8Array>, options: StreamOptions = {}): ReadableStream<Uint8Array> {
  let i = 0
  return new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        const chunk = chunks[i++]
        if (chunk !== undefined) controller.enqueue(typeof chunk === 'string' ? enc.encode(chunk) : chunk)
        else if (options.hold) return new Promise<void>(() => {})
        else controller.close()
        return undefined
      },
      cancel() {
        options.onCancel?.()
      },
    },
    { highWaterMark: 0 },
  )
}

export const sse = (stream: ReadableStream<Uint8Array> | null, init: ResponseInit = {}) =>
  new Response(stream, { status: 200, ...init, headers: { 'content-type': 'text/event-stream', ...(init.headers as Record<string, string>) } })

/** A fetch that answers call k with `answers[k]` (the last one repeats), recording Last-Event-ID. */
export function scripted(answers: Array<(lastEventId: string | null) => Response | Promise<Response>>) {
  const seen: Array<string | null> = []
  const fetchFn: typeof fetch = async (input) => {
    const last = new Request(input).headers.get('last-event-id')
    seen.push(last)
    const answer = answers[Math.min(seen.length - 1, answers.length - 1)] as (l: string | null) => Response | Promise<Response>
    return answer(last)
  }
  return { fetch: fetchFn, seen }
}
