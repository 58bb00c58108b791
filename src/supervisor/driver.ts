import { type Checkpoint, positionOf } from '../checkpoint/contract.js'
import type { Dialect, DialectSink } from '../dialects/dialect.js'
import { DeliveredEvent, PositionMarker, ResetMarker } from '../delivery/event.js'
import type { EventChannel } from '../delivery/channel.js'
import { Sequencer } from '../delivery/sequencer.js'
import { ResumableSSEError } from '../errors.js'
import type { Environment, Notice, StatusChange } from '../types.js'
import { runAttempt, type AttemptEnd } from '../wire/attempt.js'
import { buildRequest, type RequestSpec } from '../wire/request.js'
import { type Command, initialState, type Input, type MachineConfig, type MachineState, step } from './machine.js'
import { isHidden, isOffline, type PageChange, watchPageLife } from './page-life.js'

export interface DriverOptions {
  runtime: Environment
  request: RequestSpec
  dialect: Dialect
  machine: MachineConfig
  channel: EventChannel
  /** Where to resume from on the first connection (the checkpoint or the `from` option). */
  start: Checkpoint | undefined
  maxEventSize: number
  /** Characters buffered ahead of the consumer (also bounds shareAcrossTabs' window of recent events). */
  highWaterSize?: number
  heartbeatTimeout: number | false
  strictGaps: boolean
  redirect: 'same-origin' | 'follow'
  refreshAuth: ((context: { status: number; signal: AbortSignal }) => unknown) | undefined
  onStatus(change: StatusChange): void
  onNotice(notice: Notice): void
  /** Called once when the machine reaches `closed`. */
  onClosed(state: MachineState): void
}

/**
 * The driver: performs the machine's commands (connect, wait, refresh auth, stop) and feeds what
 * happened back as inputs. It decides nothing itself. Each command gets a fresh AbortController; a new
 * command aborts the previous one, and outcomes from an aborted effect are ignored (stale token), so
 * a late timer or a late fetch can never act on a state it no longer belongs to.
 */
export class Driver {
  #state: MachineState = initialState()
  readonly #options: DriverOptions
  readonly #sequencer: Sequencer
  #effect: AbortController | undefined
  /** After a restart, where the new history starts until its first position arrives. */
  #restartFrom: Checkpoint | undefined
  /** The next event admitted is the first of a new history. */
  #restarted = false
  #stopPageLife: (() => void) | undefined

  constructor(options: DriverOptions) {
    this.#options = options
    this.#sequencer = new Sequencer(options.start, options.dialect.contiguous, options.strictGaps, options.onNotice)
  }

  get state(): MachineState {
    return this.#state
  }

  start(): void {
    const post = (type: PageChange | 'start') => this.post({ type })
    this.#stopPageLife = watchPageLife(post)
    // The page may already be offline or hidden when we start; the machine must know before `start`.
    if (isOffline()) post('offline')
    if (isHidden()) post('hidden')
    post('start')
  }

  post(input: Input): void {
    const previous = this.#state
    if (previous.status === 'closed') return
    const { state, command } = step(previous, input, this.#options.machine, this.#options.runtime.random())
    this.#state = state
    // Act first, then tell: user code runs in the status report, and whatever it does (throw, close)
    // must find the command already under way rather than a state with nothing behind it.
    this.#perform(command)
    if (state.status !== previous.status || state.delay !== previous.delay) {
      const { status, attempt, reconnects, delay, reason, error, cause } = state
      const change: Record<string, unknown> = { status, previous: previous.status, attempt, reconnects, delay, reason, error, cause }
      // Only the fields that apply: a status listener sees no `delay: undefined`.
      for (const key in change) if (change[key] === undefined) delete change[key]
      this.#options.onStatus(change as unknown as StatusChange)
    }
  }

  #perform(command: Command): void {
    if (command.type === 'none') return
    this.#effect?.abort()
    // Every command gets its own controller, even one with nothing to abort (stop, an endless wait):
    // whatever the previous one started can no longer post.
    const effect = (this.#effect = new AbortController())
    switch (command.type) {
      case 'restart':
        this.#restart(command.error)
        return void this.#connect(effect)
      case 'connect':
        return void this.#connect(effect)
      case 'wait':
        if (command.ms !== Infinity) this.#wait(command.ms, effect)
        return
      case 'refresh-auth':
        return void this.#refresh(command.status, effect)
      case 'stop':
        this.#stopPageLife?.()
        this.#options.onClosed(this.#state)
    }
  }

  /**
   * A new history: the dialect says where it starts (the oldest the server has, or live; without a
   * hook, wherever the server starts). Dedupe and gap detection start over, since its sequences may
   * be lower than the old ones, and the consumer's queue gets the marker that tells it, in order.
   */
  #restart(error: ResumableSSEError): void {
    const { dialect, machine, channel } = this.#options
    this.#restartFrom = dialect.restart?.(this.#positionCheckpoint(), machine.mode)
    this.#sequencer.last = undefined
    this.#restarted = true
    channel.push(new ResetMarker(error))
  }

  /**
   * Posts an input only while `effect` is still the current one. Identity, not `aborted`: an attempt
   * aborts its own controller on heartbeat starvation and must still report that outcome.
   */
  #postFrom(effect: AbortController, input: Input): void {
    if (this.#effect === effect) this.post(input)
  }

  #wait(ms: number, effect: AbortController): void {
    const { runtime } = this.#options
    // A delay past 2^31 - 1 ms is clamped by the runtime wrapper (config.ts), not run at once.
    const handle = runtime.setTimeout(() => this.#postFrom(effect, { type: 'waited' }), ms)
    effect.signal.addEventListener('abort', () => runtime.clearTimeout(handle), { once: true })
  }

  async #refresh(status: number, effect: AbortController): Promise<void> {
    try {
      await this.#options.refreshAuth?.({ status, signal: effect.signal })
      this.#postFrom(effect, { type: 'auth-refreshed' })
    } catch (error) {
      this.#postFrom(effect, { type: 'failed', error: new ResumableSSEError('auth', 'refreshAuth failed', { cause: error }) })
    }
  }

  async #connect(effect: AbortController): Promise<void> {
    const options = this.#options
    const position = this.#positionCheckpoint()
    const { mode, onCursorExpired } = options.machine
    let end: AttemptEnd
    try {
      const session = options.dialect.open(position, mode, onCursorExpired)
      // The attempt builds the request itself, under its starvation clock (headers()/body() may hang).
      end = await runAttempt(buildRequest(options.request, options.dialect, position, mode, effect.signal, this.#state.attempt), effect, {
        ...options, // runtime, maxEventSize, heartbeatTimeout, redirect, channel
        session,
        sink: this.#sink(effect),
        mode,
        report: (input) => this.#postFrom(effect, input),
      })
    } catch (error) {
      // A dialect of the user's own whose `open` threw: its typed error is fatal, anything else a failed attempt.
      end = error instanceof ResumableSSEError ? { type: 'failed', error } : { type: 'ended', reason: 'request', at: options.runtime.now(), error }
    }
    // An expired cursor is the machine's to judge (fail, or restart from the oldest history).
    this.#postFrom(effect, end.type === 'failed' && end.error.code === 'cursor-expired' ? { type: 'expired', error: end.error } : end)
  }

  /** The last received position as a checkpoint, for the next request. */
  #positionCheckpoint(): Checkpoint | undefined {
    const last = this.#sequencer.last ?? this.#restartFrom
    return last && positionOf(last)
  }

  #sink(effect: AbortController): Pick<DialectSink, 'deliver' | 'deliverUnpositioned' | 'position'> {
    const { channel } = this.#options
    const sequencer = this.#sequencer
    let progressed = false
    let positioned = false
    // Events and positions without events take the same path: the sequencer judges and records them,
    // then they queue for the consumer in order. A new position proves the connection healthy too.
    const admit = (entry: DeliveredEvent | PositionMarker, event: boolean) => {
      const verdict = sequencer.admit(entry, event)
      if (verdict === false) return
      if (verdict !== true) {
        this.#postFrom(effect, { type: 'failed', error: verdict })
        return
      }
      // The rare cases are tested here so the calls are rarely made: this runs per event, and V8 only
      // inlines it into the parser's callbacks while the chain stays small.
      if (event && this.#restarted) firstAfterRestart(entry as DeliveredEvent)
      channel.push(entry)
      if (!positioned) {
        positioned = progressed = true
        this.#postFrom(effect, { type: 'progress', positioned })
      }
    }
    const firstAfterRestart = (entry: DeliveredEvent) => {
      if (this.#restarted) {
        this.#restarted = false
        entry.restarted = true
      }
    }
    const progress = () => {
      if (!progressed) {
        progressed = true
        this.#postFrom(effect, { type: 'progress' })
      }
    }
    return {
      deliver: (type, data, id, sequence, cursor, meta) => admit(new DeliveredEvent(type, data, id, sequence, cursor, meta, true), true),
      position: (sequence, cursor, meta) => admit(new PositionMarker(sequence, cursor, meta), false),
      deliverUnpositioned: (type, data, cursor, id) => {
        const last = sequencer.last
        const entry = new DeliveredEvent(type, data, id, last?.sequence ?? 0, cursor ?? last?.cursor ?? '', undefined, false)
        firstAfterRestart(entry)
        channel.push(entry)
        progress()
      },
    }
  }

  /** close() / abort: stop whatever runs now. */
  abort(): void {
    this.post({ type: 'abort' })
  }
}
