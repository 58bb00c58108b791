// The injected network: a `fetch` that answers every request with the same pre-built chunks as a
// streaming `Response` body. One chunk per pull, each in its own task, like a socket delivering reads,
// so every client pays the same per-chunk cost and none gets the whole body in one piece.

export const SSE_HEADERS = { 'content-type': 'text/event-stream', 'cache-control': 'no-store' }

/**
 * A macrotask hop. A socket delivers each read as its own task; a stream that answers every pull from
 * a microtask would let a client swallow the whole body in one task, during which no timer, IndexedDB
 * callback or I/O of anyone else can run — a durable store's write could not even complete until the
 * end. setImmediate in Node; a MessageChannel in browsers (setTimeout(0) is clamped to 1-4 ms).
 */
const nextTask: () => Promise<void> =
  typeof setImmediate === 'function'
    ? () => new Promise<void>((resolve) => setImmediate(resolve))
    : (() => {
        const waiting: (() => void)[] = []
        const channel = new MessageChannel()
        channel.port1.onmessage = () => waiting.shift()?.()
        return () =>
          new Promise<void>((resolve) => {
            waiting.push(resolve)
            channel.port2.postMessage(0)
          })
      })()

export function chunkStream(chunks: readonly Uint8Array[], signal?: AbortSignal | null, intervalMs = 0): ReadableStream<Uint8Array> {
  let index = 0
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        // Paced mode: a chunk every `intervalMs`, like a live feed, instead of as fast as pulled.
        if (intervalMs > 0) await new Promise((resolve) => setTimeout(resolve, intervalMs))
        else await nextTask()
        if (signal?.aborted) {
          controller.error(signal.reason)
          return
        }
        const chunk = chunks[index++]
        if (chunk === undefined) controller.close()
        else controller.enqueue(chunk)
      },
    },
    // highWaterMark 0: nothing is read ahead before the consumer asks, as with a real socket under
    // backpressure; the consumer's pull drives every chunk.
    { highWaterMark: 0 },
  )
}

export function sseResponse(chunks: readonly Uint8Array[], signal?: AbortSignal | null, intervalMs = 0): Response {
  return new Response(chunkStream(chunks, signal, intervalMs), { status: 200, headers: SSE_HEADERS })
}

/** A `fetch` that serves `chunks` to every request (and counts requests, so a reconnect is visible). */
export function fetchServing(chunks: readonly Uint8Array[], intervalMs = 0): typeof fetch & { requests: number } {
  const fake = (async (_input: RequestInfo | URL, init?: RequestInit) => {
    fake.requests++
    return sseResponse(chunks, init?.signal, intervalMs)
  }) as typeof fetch & { requests: number }
  fake.requests = 0
  return fake
}
