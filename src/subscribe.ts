import { Committer } from './checkpoint/committer.js'
import type { Checkpoint } from './checkpoint/contract.js'
import { assertIdentity, resumeKey } from './checkpoint/resume-key.js'
import { Consumer } from './delivery/consumer.js'
import { StatusReporter, type StatusListener } from './delivery/status.js'
import { type ResumableSSEError, StoreError } from './errors.js'
import { resolveConfig, type ResolvedConfig } from './config.js'
import { checkpointProblem } from './dialects/dialect.js'
import { Driver, type DriverOptions } from './supervisor/driver.js'
import { canShare } from './share/detect.js'
import { loadShare } from './share/load.js'
import type { Source } from './share/source.js'
import type { MachineState } from './supervisor/machine.js'
import type { Handler, Role, SSEEvent, Status, StatusChange, Subscription, SubscribeOptions } from './types.js'
import { toStoreError } from './checkpoint/contract.js'

/**
 * Opens a supervised, resumable SSE subscription. Validation errors throw synchronously (a
 * `ConfigError`); everything after that — the store read, every connection — happens in the
 * background and reaches you through iteration, `forEach`, and status events.
 */
export function subscribe(options: SubscribeOptions): Subscription {
  return new ResumableSubscription(resolveConfig(options), options.shareAcrossTabs === true)
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

/**
 * A subscription is three parts wired together: the store read and the committer (checkpoint/), the
 * source that feeds the channel (a `Driver`, or a `SharedSource` with `shareAcrossTabs`), and the
 * consumer that drains it (delivery/). This class starts them in order and ends them together.
 */
class ResumableSubscription implements Subscription {
  readonly key: string
  readonly #config: ResolvedConfig
  readonly #consumer: Consumer
  readonly #status: StatusReporter
  #source: Source | undefined
  #role: Role = 'solo'
  #closing: Promise<void> | undefined
  #finished: Promise<void>
  #finish!: () => void
  /** A store failure in 'fail' mode, raised as the subscription's error. */
  #fatal: ResumableSSEError | undefined
  // close() only rejects when the final checkpoint write fails; from an abort there is nobody to throw
  // to, so that failure becomes a notice rather than an unhandled rejection.
  readonly #abortListener = () => {
    this.close().catch(this.#consumer.reportFlushError)
  }

  constructor(config: ResolvedConfig, share = false) {
    this.#config = config
    this.#status = new StatusReporter(config.onStatus)
    if (share) this.#role = canShare() ? 'follower' : this.#notifyRole('solo')
    this.key = config.key ?? deriveKey(config)
    this.#consumer = new Consumer(config, () => this.close())
    this.#finished = new Promise((resolve) => {
      this.#finish = resolve
    })
    if (config.signal?.aborted) {
      this.#status.status = 'closed'
      // Told like a later abort, once the caller holds the handle (an onStatus may use it).
      queueMicrotask(() => this.#status.set({ status: 'closed', previous: 'connecting', attempt: 0, reconnects: 0, reason: 'aborted' }))
      this.#consumer.channel.end()
      this.#finish()
      return
    }
    config.signal?.addEventListener('abort', this.#abortListener, { once: true })
    void this.#start()
  }

  get status(): Status {
    return this.#status.status
  }

  get checkpoint(): Checkpoint | undefined {
    return this.#consumer.committer?.checkpoint
  }

  get role(): Role {
    return this.#role
  }

  #notifyRole(role: Role): Role {
    // The role first: the notice is user code, and whatever it does (throw) the role is true.
    this.#role = role
    this.#config.onNotice?.({ kind: 'role', role })
    return role
  }

  get reconnects(): number {
    return this.#source?.state.reconnects ?? 0
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

    this.#consumer.committer = new Committer(config.store, this.key, config.runtime, config.commitInterval, (error) => this.#onStoreError(error), start)
    // The resolved config carries the driver's own options (runtime, request, dialect, machine, limits).
    const options: DriverOptions = {
      ...config,
      channel: this.#consumer.channel,
      start,
      onStatus: (change) => this.#status.set(change),
      onNotice: (notice) => config.onNotice?.(notice),
      onClosed: (state) => this.#onClosed(state),
    }
    // shareAcrossTabs: the share code is loaded only now, so a plain import does not pay for it.
    const source = this.#role === 'solo' ? new Driver(options) : await this.#shared(options)
    if (this.#closing) return
    this.#source = source
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

  #failBeforeStart(error: ResumableSSEError): void {
    const change: StatusChange = { status: 'closed', previous: this.#status.status, attempt: 0, reconnects: 0, reason: 'error', error }
    this.#status.set(change)
    this.#consumer.channel.end(error)
    this.#cleanup()
  }

  #onClosed(state: MachineState): void {
    this.#consumer.channel.end(this.#fatal ?? state.error)
    // Write what the consumer committed now rather than when the spacing timer fires. Failures are
    // already on their way to the consumer as the subscription's error (or were reported).
    this.#consumer.committer?.flush().catch(() => {})
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
    this.#source?.post({ type: 'failed', error })
  }

  addEventListener(type: 'status', listener: StatusListener): void {
    if (type === 'status') this.#status.add(listener)
  }

  removeEventListener(type: 'status', listener: StatusListener): void {
    if (type === 'status') this.#status.remove(listener)
  }

  [Symbol.asyncIterator](): AsyncIterator<SSEEvent> {
    return this.#consumer.iterator()
  }

  forEach(handler: Handler): Promise<void> {
    return this.#consumer.forEach(handler)
  }

  flush(): Promise<void> {
    return this.#consumer.flush()
  }

  close(): Promise<void> {
    this.#closing ??= this.#close()
    return this.#closing
  }

  async #close(): Promise<void> {
    this.#consumer.release()
    this.#source?.abort()
    if (!this.#source && this.#status.status !== 'closed') {
      this.#status.set({ status: 'closed', previous: this.#status.status, attempt: 0, reconnects: 0, reason: 'aborted' })
    }
    this.#consumer.channel.discard()
    this.#cleanup()
    await this.#finished
    await this.#consumer.settle()
  }
}
