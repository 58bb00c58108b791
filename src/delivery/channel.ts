import { type DeliveredEvent, PositionMarker, ResetMarker } from './event.js'

/**
 * The buffer between the network (producer) and the consumer. Bounded: when it holds
 * `highWaterMark` entries the reader stops reading, so a slow consumer applies TCP backpressure to the
 * server instead of growing our heap. Ending is deferred: a fatal error is thrown to the consumer
 * only after every event received before it was delivered.
 *
 * Positions without events travel in the same queue as markers the consumer never sees. The consumer
 * asks for the next entry only once it finished the previous event (commit-on-next-pull, or after its
 * handler resolved), so a marker reached by `shift` — or pushed while the consumer waits — has
 * everything before it finished: it goes to `onMarker` (the committer) and the consumer gets the next
 * event. Consecutive markers collapse into the newest.
 */
export class EventChannel {
  #buffer: Array<DeliveredEvent | PositionMarker> = []
  #head = 0
  #waiter: { resolve(result: IteratorResult<DeliveredEvent>): void; reject(error: unknown): void } | undefined
  /** Producers waiting for room (an aborted attempt may still be among them when the next starts). */
  #roomWaiters: Array<() => void> = []
  #ended = false
  #error: unknown
  #errorThrown = false
  readonly #highWaterMark: number
  readonly #onMarker: (marker: PositionMarker) => void
  /** Characters (data + type + id) buffered, bounded by `#highWaterSize` like the count is by the mark. */
  #chars = 0
  readonly #highWaterSize: number

  constructor(highWaterMark: number, highWaterSize = Infinity, onMarker: (marker: PositionMarker) => void = () => {}) {
    this.#highWaterMark = highWaterMark
    this.#highWaterSize = highWaterSize
    this.#onMarker = onMarker
  }

  get size(): number {
    return this.#buffer.length - this.#head
  }

  get ended(): boolean {
    return this.#ended
  }

  push(event: DeliveredEvent | PositionMarker): void {
    if (this.#ended) return
    // Markers take their own method: this one runs per event and must stay small enough for V8 to
    // inline it into the parser's callback chain.
    if (isMarker(event)) return this.#pushMarker(event)
    const waiter = this.#waiter
    if (waiter) {
      this.#waiter = undefined
      waiter.resolve({ value: event, done: false })
    } else {
      this.#buffer.push(event)
      this.#chars += charsOf(event)
    }
  }

  #pushMarker(marker: PositionMarker): void {
    const buffer = this.#buffer
    const previous = buffer.length > this.#head ? buffer[buffer.length - 1] : undefined
    if (this.#waiter) this.#onMarker(marker)
    // A reset marker separates two histories: it neither replaces nor is replaced by a position.
    else if (previous instanceof PositionMarker && !(previous instanceof ResetMarker) && !(marker instanceof ResetMarker)) buffer[buffer.length - 1] = marker
    else buffer.push(marker)
  }

  isFull(): boolean {
    return this.size >= this.#highWaterMark || this.#chars >= this.#highWaterSize
  }

  waitForRoom(): Promise<void> {
    if (!this.isFull() || this.#ended) return Promise.resolve()
    return new Promise((resolve) => {
      this.#roomWaiters.push(resolve)
    })
  }

  /** No more events will come. With an error, the consumer gets it after the buffered events. */
  end(error?: unknown): void {
    if (this.#ended) return
    this.#ended = true
    this.#error = error
    this.#wakeProducer()
    const waiter = this.#waiter
    if (waiter) {
      this.#waiter = undefined
      this.#settleEnd(waiter)
    }
  }

  /** Drops buffered events (the consumer is gone) and ends. */
  discard(): void {
    this.#buffer = []
    this.#head = 0
    this.#chars = 0
    this.end()
  }

  /**
   * The next buffered event, synchronously, or `undefined` when the buffer is empty. Call it only when
   * the consumer has finished every event before: markers on the way are committed.
   */
  shift(): DeliveredEvent | undefined {
    for (;;) {
      const buffer = this.#buffer
      const head = this.#head
      if (head === buffer.length) return undefined
      const entry = buffer[head] as DeliveredEvent | PositionMarker
      buffer[head] = undefined as unknown as DeliveredEvent
      this.#head = head + 1
      const event = !isMarker(entry)
      if (event) this.#chars -= charsOf(entry)
      // Compact once the consumed prefix dominates, keeping shift O(1) amortised without Array#shift.
      if (head >= 1024 && head * 2 >= buffer.length) {
        this.#buffer = buffer.slice(head + 1)
        this.#head = 0
      }
      if (this.#roomWaiters.length > 0 && !this.isFull()) this.#wakeProducer()
      if (event) return entry
      this.#onMarker(entry)
    }
  }

  pull(): Promise<IteratorResult<DeliveredEvent>> {
    const event = this.shift()
    if (event !== undefined) return Promise.resolve({ value: event, done: false })
    if (this.#ended) {
      return new Promise((resolve, reject) => this.#settleEnd({ resolve, reject }))
    }
    return new Promise((resolve, reject) => {
      this.#waiter = { resolve, reject }
      this.#wakeProducer()
    })
  }

  #settleEnd(waiter: { resolve(result: IteratorResult<DeliveredEvent>): void; reject(error: unknown): void }): void {
    if (this.#error !== undefined && !this.#errorThrown) {
      // Exactly once: a consumer that calls next() again after the error sees a plain end.
      this.#errorThrown = true
      waiter.reject(this.#error)
    } else {
      waiter.resolve({ value: undefined, done: true })
    }
  }

  #wakeProducer(): void {
    if (this.#roomWaiters.length === 0) return
    const waiters = this.#roomWaiters
    this.#roomWaiters = []
    for (const wake of waiters) wake()
  }
}

/**
 * A marker has no `data`. A property load, not `instanceof`: the classes come from another module, so
 * V8 cannot fold `instanceof` to a map check and runs the generic builtin three times per event.
 */
const isMarker = (entry: DeliveredEvent | PositionMarker): entry is PositionMarker => (entry as DeliveredEvent).data === undefined

function charsOf(event: DeliveredEvent): number {
  return event.data.length + event.type.length + (event.id?.length ?? 0)
}
