import { Committer } from './checkpoint/committer.js'
import type { Checkpoint } from './checkpoint/contract.js'
import { assertIdentity, resumeKey } from './checkpoint/resume-key.js'
import { EventChannel } from './delivery/channel.js'
import { type DeliveredEvent, type PositionMarker, ResetMarker } from './delivery/event.js'
import { ConfigError, type ResumableSSEError, StoreError } from './errors.js'
import { resolveConfig, type ResolvedConfig } from './config.js'
import { checkpointProblem } from './dialects/dialect.js'
import { Driver, type DriverOptions } from './supervisor/driver.js'
import { canShare } from './share/detect.js'
import { loadShare } from './share/load.js'
import type { Source } from './share/source.js'
import type { MachineState } from './supervisor/machine.js'
import type { Handler, Role, SSEEvent, Status, StatusChange, StatusEvent, Subscription, SubscribeOptions } from './types.js'
import { toStoreError } from './checkpoint/contract.js'

/**
 * Opens a supervised, resumable SSE subscription. Validation errors throw synchronously (a
 * `ConfigError`); everything after that — the store read, every connection — happens in the
 * background and reaches you through iteration, `forEach`, and status events.
 */
export function subscribe(options: SubscribeOptions): Subscription {
  return new ResumableSubscription(resolveConfig(options), options.shareAcrossTabs === true)
}

type StatusListener = (event: StatusEvent) => void

/**
 * Calls a user callback so that its exception cannot unwind through the supervisor. The exception is
 * reported the way EventTarget reports a listener's: `reportError` where the runtime has it (browsers,
 * Deno, Workers), else rethrown on its own microtask, where the runtime treats it as uncaught.
 */
function callUser<T>(callback: (value: T) => void, value: T): void {
  try {
    callback(value)
  } catch (error) {
    const report = (globalThis as { reportError?: (error: unknown) => void }).reportError
    if (typeof report === 'function') report(error)
    else
      queueMicrotask(() => {
        throw error
      })
  }
}

/**
 * The resume key of a subscription without an explicit `key`. A dialect that builds the request
 * itself (aviso: event type and filter) adds its `identity` to the dialect field, so two aviso feeds on
 * one server never share a checkpoint.
 */
function deriveKey(config: ResolvedConfig): string {
  const { dialect, request, fingerprint } = config
  if (fingerprint === undefined) assertIdentity(config)
  return resumeKey({
    url: request.url,
    method: request.method,
    body: request.body,
    dialect: dialect.identity === undefined ? dialect.name : `${dialect.name}\u0000${dialect.identity}`,
    ...(fingerprint !== undefined && { fingerprint }),
  })
}

/**
 * What a store's `get` returned, checked exactly as `from` is: a store that hands back garbage (a JSON
 * string, wrong types) or a cursor that could never be sent again is a corrupt store, found before any
 * request. `null` counts as "no checkpoint", as many key-value APIs say it.
 */
function readBack(value: Checkpoint | undefined | null, key: string): Checkpoint | undefined {
  if (value === undefined || value === null) return undefined
  const problem = checkpointProblem(value)
  if (problem) throw new StoreError('corrupt', `Stored checkpoint under ${key} cannot be resumed from (${problem}): delete it (store.delete(key)) or every checkpoint (store.clear())`)
  return value
}

class ResumableSubscription implements Subscription {
  readonly key: string
  readonly #config: ResolvedConfig
  readonly #channel: EventChannel
  readonly #listeners = new Set<StatusListener>()
  #committer: Committer | undefined
  #supervisor: Source | undefined
  #role: Role = 'solo'
  #status: Status = 'connecting'
  /** The event the consumer holds: committed when it asks for the next one. */
  #held: DeliveredEvent | undefined
  #consumed = false
  /** The pending slow-path next(), if any; later calls queue behind it. */
  #waiting: Promise<IteratorResult<SSEEvent>> | undefined
  readonly #nextAfter = (): Promise<IteratorResult<SSEEvent>> => this.#next()
  #closing: Promise<void> | undefined
  #finished: Promise<void>
  #finish!: () => void
  /** A store failure in 'fail' mode, raised as the subscription's error. */
  #fatal: ResumableSSEError | undefined
  // close() only rejects when the final checkpoint write fails; from an abort there is nobody to throw
  // to, so that failure becomes a notice rather than an unhandled rejection.
  readonly #abortListener = () => {
    this.close().catch((error: unknown) => this.#config.onNotice?.({ kind: 'store-error', error: toStoreError(error, 'flush') }))
  }

  constructor(config: ResolvedConfig, share = false) {
    this.#config = config
    if (share) this.#role = canShare() ? 'follower' : this.#notifyRole('solo')
    this.key = config.key ?? deriveKey(config)
    this.#channel = new EventChannel(config.highWaterMark, config.highWaterSize, (marker) => this.#onMarker(marker))
    this.#finished = new Promise((resolve) => {
      this.#finish = resolve
    })
    if (config.signal?.aborted) {
      this.#status = 'closed'
      this.#channel.end()
      this.#finish()
      return
    }
    config.signal?.addEventListener('abort', this.#abortListener, { once: true })
    void this.#start()
  }

  get status(): Status {
    return this.#status
  }

  get checkpoint(): Checkpoint | undefined {
    return this.#committer?.checkpoint
  }

  get role(): Role {
    return this.#role
  }

  #notifyRole(role: Role): Role {
    this.#config.onNotice?.({ kind: 'role', role })
    return (this.#role = role)
  }

  get reconnects(): number {
    return this.#supervisor?.state.reconnects ?? 0
  }

  async #start(): Promise<void> {
    const config = this.#config
    let start: Checkpoint | undefined
    try {
      if (config.from === 'start') start = undefined
      else if (config.from !== undefined) start = config.from
      else start = readBack(await config.store.get(this.key), this.key)
    } catch (error) {
      // Closed while the read was in flight: the subscription already ended; nothing more to report.
      if (!this.#closing) this.#failBeforeStart(toStoreError(error, 'get'))
      return
    }
    if (this.#closing) return
    if (start !== undefined && config.from === undefined) config.onNotice?.({ kind: 'resumed', checkpoint: start })

    this.#committer = new Committer(config.store, this.key, config.runtime, config.commitInterval, (error) => this.#onStoreError(error), start)
    const options: DriverOptions = {
      runtime: config.runtime,
      request: config.request,
      dialect: config.dialect,
      machine: config.machine,
      channel: this.#channel,
      start,
      maxEventSize: config.maxEventSize,
      heartbeatTimeout: config.heartbeatTimeout,
      strictGaps: config.strictGaps,
      redirect: config.redirect,
      refreshAuth: config.refreshAuth,
      onStatus: (change) => this.#setStatus(change),
      onNotice: (notice) => config.onNotice?.(notice),
      onClosed: (state) => this.#onClosed(state),
    }
    // shareAcrossTabs: the share code is loaded only now, so a plain import does not pay for it.
    const source = this.#role === 'solo' ? new Driver(options) : await this.#shared(options)
    if (this.#closing) return
    this.#supervisor = source
    source.start()
  }

  async #shared(options: DriverOptions): Promise<Source> {
    try {
      const { SharedSource } = await loadShare()
      return new SharedSource(options, this.key, (role) => this.#notifyRole(role))
    } catch {
      this.#notifyRole('solo')
      return new Driver(options)
    }
  }

  /** The consumer has finished everything before `marker`. */
  #onMarker(marker: PositionMarker): void {
    if (!(marker instanceof ResetMarker)) {
      this.#committer?.commit(marker)
      return
    }
    // A new history begins: tell the consumer now, between the old history's last event and the new
    // one's first; the store moves to the new history with its first commit.
    const checkpoint = this.#committer?.checkpoint
    this.#committer?.reset()
    this.#config.onNotice?.({ kind: 'cursor-expired', error: marker.error, checkpoint })
  }

  #failBeforeStart(error: ResumableSSEError): void {
    const change: StatusChange = { status: 'closed', previous: this.#status, attempt: 0, reconnects: 0, reason: 'error', error }
    this.#setStatus(change)
    this.#channel.end(error)
    this.#cleanup()
  }

  #onClosed(state: MachineState): void {
    this.#channel.end(this.#fatal ?? state.error)
    // Write what the consumer committed now rather than when the spacing timer fires. Failures are
    // already on their way to the consumer as the subscription's error (or were reported).
    this.#committer?.flush().catch(() => {})
    this.#cleanup()
  }

  #cleanup(): void {
    this.#config.signal?.removeEventListener('abort', this.#abortListener)
    this.#finish()
  }

  #onStoreError(error: StoreError): void {
    if (this.#config.onStoreError === 'report') {
      this.#config.onNotice?.({ kind: 'store-error', error })
      return
    }
    this.#fatal ??= error
    this.#supervisor?.post({ type: 'failed', error })
  }

  #setStatus(change: StatusChange): void {
    this.#status = change.status
    if (this.#config.onStatus) callUser(this.#config.onStatus, change)
    if (this.#listeners.size > 0) {
      const event: StatusEvent = { type: 'status', detail: change }
      for (const listener of this.#listeners) callUser(listener, event)
    }
  }

  addEventListener(type: 'status', listener: StatusListener): void {
    if (type === 'status') this.#listeners.add(listener)
  }

  removeEventListener(type: 'status', listener: StatusListener): void {
    if (type === 'status') this.#listeners.delete(listener)
  }

  #commitHeld(): void {
    const held = this.#held
    if (held === undefined) return
    this.#held = undefined
    if (held.positioned) this.#committer?.commit(held)
  }

  #next(): Promise<IteratorResult<SSEEvent>> {
    // A next() called while the previous one is still waiting runs after it: asking for the next
    // event is what commits the previous one, so calls must not overtake each other.
    if (this.#waiting) return this.#waiting.then(this.#nextAfter, this.#nextAfter)
    this.#commitHeld()
    // Fast path without an extra await: on a busy stream the buffer is rarely empty, and every
    // promise hop per event shows up in throughput.
    const ready = this.#channel.shift()
    if (ready !== undefined) {
      this.#held = ready
      return Promise.resolve({ value: ready, done: false })
    }
    // Plain callbacks, not async ones: this path runs once per event whenever the consumer is
    // faster than the network, and each extra promise shows up in throughput.
    const waiting = this.#channel.pull().then(
      (result): IteratorResult<SSEEvent> | Promise<IteratorResult<SSEEvent>> => {
        this.#waiting = undefined
        if (!result.done) {
          this.#held = result.value
          return result
        }
        return this.#settleCheckpoint().then(() => result)
      },
      (error: unknown) => {
        this.#waiting = undefined
        // A fatal error: make what the consumer finished durable before it hears about it.
        return this.#settleCheckpoint().then(
          () => Promise.reject(error),
          () => Promise.reject(error),
        )
      },
    )
    this.#waiting = waiting
    return waiting
  }

  [Symbol.asyncIterator](): AsyncIterator<SSEEvent> {
    this.#claim('iterate')
    return {
      next: () => this.#next(),
      return: async () => {
        await this.close()
        return { value: undefined, done: true }
      },
    }
  }

  async forEach(handler: Handler): Promise<void> {
    if (typeof handler !== 'function') throw new ConfigError('Expected `handler` to be a function')
    this.#claim('forEach')
    for (;;) {
      let event = this.#channel.shift()
      if (event === undefined) {
        try {
          event = (await this.#channel.pull()).value
        } catch (error) {
          await this.#settleCheckpoint().catch(() => {})
          throw error
        }
      }
      if (event === undefined) return this.#settleCheckpoint()
      try {
        // Await only what is awaitable: a synchronous handler should not pay a microtask per event.
        const result = handler(event)
        if (result !== undefined && typeof (result as PromiseLike<void>).then === 'function') await result
      } catch (error) {
        // The event was not finished, so it is not committed: it will be delivered again next run.
        // The handler's error is the one that matters; a checkpoint failure during close is a notice.
        await this.close().catch((closeError: unknown) => this.#config.onNotice?.({ kind: 'store-error', error: toStoreError(closeError, 'flush') }))
        throw error
      }
      if (event.positioned) this.#committer?.commit(event)
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
  async #settleCheckpoint(): Promise<void> {
    try {
      await this.#boundedFlush()
    } catch (error) {
      if (this.#config.onStoreError === 'report') this.#config.onNotice?.({ kind: 'store-error', error: toStoreError(error, 'flush') })
      else throw error
    }
  }

  flush(): Promise<void> {
    return this.#committer?.flush() ?? Promise.resolve()
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

  close(): Promise<void> {
    this.#closing ??= this.#close()
    return this.#closing
  }

  async #close(): Promise<void> {
    if (this.#config.commitOnClose && this.#held) {
      this.#commitHeld()
      // Positions right behind the event just finished are finished too: shift commits them on its way.
      this.#channel.shift()
    }
    this.#held = undefined
    // Hand the last checkpoint to the store now, before the first await: a Worker that does not await
    // close() but keeps the request alive with `ctx.waitUntil(store.flush())` must find it there.
    this.#committer?.flush().catch(() => {})
    this.#supervisor?.abort()
    if (!this.#supervisor && this.#status !== 'closed') {
      this.#setStatus({ status: 'closed', previous: this.#status, attempt: 0, reconnects: 0, reason: 'aborted' })
    }
    this.#channel.discard()
    this.#cleanup()
    await this.#finished
    await this.#settleCheckpoint()
  }
}
