import type { Committer } from '../checkpoint/committer.js'
import { toStoreError } from '../checkpoint/contract.js'
import type { ResolvedConfig } from '../config.js'
import { ConfigError, StoreError } from '../errors.js'
import type { Handler, SSEEvent } from '../types.js'
import { EventChannel } from './channel.js'
import { type DeliveredEvent, type PositionMarker, ResetMarker } from './event.js'

type ConsumerConfig = Pick<ResolvedConfig, 'highWaterMark' | 'highWaterSize' | 'runtime' | 'flushTimeout' | 'commitOnClose' | 'onStoreError' | 'onNotice'>

/**
 * The consumer side of a subscription: the one consumer (iterator or `forEach`) takes events from the
 * channel, and what it finished goes to the committer: an iterated event when the next one is asked
 * for (commit-on-next-pull), a `forEach` event once its handler returned or resolved, a position marker
 * once everything before it was finished. At the end (close, break, abort, end of stream) it makes the
 * finished position durable, bounded by `flushTimeout`, before the consumer hears the stream ended.
 */
export class Consumer {
  readonly channel: EventChannel
  /** Set once the start position is known (after the store read); nothing is committed before. */
  committer: Committer | undefined
  readonly #config: ConsumerConfig
  /** The subscription's close(): a thrown handler and an iterator's `return` end the whole subscription. */
  readonly #close: () => Promise<void>
  /** The event the consumer holds: committed when it asks for the next one. */
  #held: DeliveredEvent | undefined
  #consumed = false
  /** The pending slow-path next(), if any; later calls queue behind it. */
  #waiting: Promise<IteratorResult<SSEEvent>> | undefined
  readonly #nextAfter = (): Promise<IteratorResult<SSEEvent>> => this.next()

  constructor(config: ConsumerConfig, close: () => Promise<void>) {
    this.#config = config
    this.#close = close
    this.channel = new EventChannel(config.highWaterMark, config.highWaterSize, (marker) => this.#onMarker(marker))
  }

  /** A final-write failure with nobody to throw it to (an abort; a handler's own error wins): a notice. */
  readonly reportFlushError = (error: unknown): void => {
    this.#config.onNotice?.({ kind: 'store-error', error: toStoreError(error, 'flush') })
  }

  /** The consumer has finished everything before `marker`. */
  #onMarker(marker: PositionMarker): void {
    if (!(marker instanceof ResetMarker)) {
      this.committer?.commit(marker)
      return
    }
    // A new history begins: tell the consumer now, between the old history's last event and the new
    // one's first; the store moves to the new history with its first commit.
    const checkpoint = this.committer?.checkpoint
    this.committer?.reset()
    this.#config.onNotice?.({ kind: 'cursor-expired', error: marker.error, checkpoint })
  }

  next(): Promise<IteratorResult<SSEEvent>> {
    // A next() called while the previous one is still waiting runs after it: asking for the next
    // event is what commits the previous one, so calls must not overtake each other.
    if (this.#waiting) return this.#waiting.then(this.#nextAfter, this.#nextAfter)
    const held = this.#held
    // Cleared before shift(): a marker on the way may reach user code (a notice) that calls close().
    this.#held = undefined
    if (held?.positioned) this.committer?.commit(held)
    // Fast path without an extra await: on a busy stream the buffer is rarely empty, and every
    // promise hop per event shows up in throughput.
    const ready = this.channel.shift()
    if (ready === undefined) return this.#wait()
    this.#held = ready
    return Promise.resolve({ value: ready, done: false })
  }

  /** next() with an empty buffer: waits for the producer (apart, so next() stays small enough to inline). */
  #wait(): Promise<IteratorResult<SSEEvent>> {
    // Plain callbacks, not async ones: this path runs once per event whenever the consumer is
    // faster than the network, and each extra promise shows up in throughput.
    const waiting = this.channel.pull().then(
      (result): IteratorResult<SSEEvent> | Promise<IteratorResult<SSEEvent>> => {
        this.#waiting = undefined
        if (!result.done) {
          this.#held = result.value
          return result
        }
        return this.settle().then(() => result)
      },
      (error: unknown) => {
        this.#waiting = undefined
        // A fatal error: make what the consumer finished durable before it hears about it.
        return this.settle().then(
          () => Promise.reject(error),
          () => Promise.reject(error),
        )
      },
    )
    this.#waiting = waiting
    return waiting
  }

  iterator(): AsyncIterator<SSEEvent> {
    this.#claim('iterate')
    return {
      next: () => this.next(),
      return: async () => {
        await this.#close()
        return { value: undefined, done: true }
      },
    }
  }

  async forEach(handler: Handler): Promise<void> {
    if (typeof handler !== 'function') throw new ConfigError('Expected `handler` to be a function')
    this.#claim('forEach')
    for (;;) {
      let event = this.channel.shift()
      if (event === undefined) {
        try {
          event = (await this.channel.pull()).value
        } catch (error) {
          await this.settle().catch(() => {})
          throw error
        }
      }
      if (event === undefined) return this.settle()
      try {
        // Await only what is awaitable: a synchronous handler should not pay a microtask per event.
        const result = handler(event)
        if (result !== undefined && typeof (result as PromiseLike<void>).then === 'function') await result
      } catch (error) {
        // The event was not finished, so it is not committed: it will be delivered again next run.
        // The handler's error is the one that matters; a checkpoint failure during close is a notice.
        await this.#close().catch(this.reportFlushError)
        throw error
      }
      if (event.positioned) this.committer?.commit(event)
    }
  }

  #claim(how: string): void {
    if (this.#consumed) throw new ConfigError(`A subscription has one consumer; it is already consumed (${how})`)
    this.#consumed = true
  }

  /**
   * When the stream ends, make what was committed durable before telling the consumer: "the loop
   * finished" then also means "the checkpoint is saved", and no write-spacing timer outlives us.
   */
  async settle(): Promise<void> {
    try {
      await this.#boundedFlush()
    } catch (error) {
      if (this.#config.onStoreError === 'report') this.reportFlushError(error)
      else throw error
    }
  }

  flush(): Promise<void> {
    return this.committer?.flush() ?? Promise.resolve()
  }

  /**
   * The flush at the end (close, break, abort, end of stream), bounded by `flushTimeout`: a store that
   * never answers (a stuck IndexedDB transaction, a hung KV call) must not keep the end from settling.
   * The abandoned write stays abandoned; if it lands later, the store's monotonic put keeps it from
   * moving a newer checkpoint back.
   */
  #boundedFlush(): Promise<void> {
    const { runtime, flushTimeout } = this.#config
    const flushing = this.flush()
    let timer: unknown
    const timeout = new Promise<never>((_, reject) => {
      timer = runtime.setTimeout(() => reject(new StoreError('timeout', `The checkpoint store did not answer within flushTimeout (${flushTimeout} ms)`)), flushTimeout)
    })
    return Promise.race([flushing, timeout]).finally(() => runtime.clearTimeout(timer))
  }

  /** The consumer's part of close(), before the source stops: what it holds, and the last write's start. */
  release(): void {
    const held = this.#held
    this.#held = undefined
    if (this.#config.commitOnClose && held) {
      if (held.positioned) this.committer?.commit(held)
      // Positions right behind the event just finished are finished too: shift commits them on its way.
      this.channel.shift()
    }
    // Hand the last checkpoint to the store now, before the first await: a Worker that does not await
    // close() but keeps the request alive with `ctx.waitUntil(store.flush())` must find it there.
    this.committer?.flush().catch(() => {})
  }
}
