import type { Position } from '../checkpoint/contract.js'
import { type Checkpoint, positionOf } from '../checkpoint/contract.js'
import { DEFAULTS } from '../config.js'
import type { EventChannel } from '../delivery/channel.js'
import { DeliveredEvent, PositionMarker } from '../delivery/event.js'
import { HttpError, ResumableSSEError } from '../errors.js'
import { callUser } from '../delivery/status.js'
import { initialState, type Input, type MachineState } from '../supervisor/machine.js'
import { Driver, type DriverOptions } from '../supervisor/driver.js'
import type { Role, Status, StatusChange, StatusReason } from '../types.js'
import { channelName, isAfter, isOurs, type Body, NOTHING, type Ordinal, ordinalOf, PROTOCOL, toWire, type WireEvent, type WireStatus } from './protocol.js'
import { RecentWindow, sizeOf } from './window.js'

/** What feeds a subscription's channel: a `Driver`, or a `SharedSource`. */
export interface Source {
  start(): void
  abort(): void
  post(input: Input): void
  readonly state: { readonly reconnects: number }
}

/** The slice of the channel a supervisor pushes into. */
type Sink = Pick<EventChannel, 'push' | 'isFull' | 'waitForRoom'>

/** What a source pushes into a channel: an event, or a position without one (committed, never seen). */
type Entry = DeliveredEvent | PositionMarker

const toEntry = (wire: WireEvent): Entry =>
  wire[0] === null ? new PositionMarker(wire[3], wire[5], wire[6] ?? undefined) : new DeliveredEvent(wire[0], wire[1], wire[2] ?? undefined, wire[3], wire[5], wire[6] ?? undefined, wire[4] === 0)

/** Whether a connection can resume from it: a marker always, an event when it had an id (or offset). */
const positioned = (entry: Entry): boolean => entry instanceof PositionMarker || entry.positioned

interface LocksLike {
  request(name: string, options: { signal: AbortSignal }, callback: () => Promise<void>): Promise<unknown>
}

/**
 * One subscription shared by every tab of an origin and profile that uses the same resume key.
 *
 * Each tab asks for the Web Lock named after the key; the tab holding it is the leader and runs a real
 * `Driver` whose events go to its own consumer and, over the BroadcastChannel of the same name, to
 * every other tab. The others wait in the lock's queue as followers and push what the leader relays into
 * their own channel, so their consumers (iteration, forEach, commits to the store) work exactly as with a
 * connection of their own. The browser releases a lock when its tab closes, reloads or crashes, so the
 * next tab in the queue takes over at once and resumes from the newest position *it* has seen; the other
 * followers then tell it where they are and get what they lack from its window of recent events.
 *
 * Every tab orders events by `Ordinal` (sequence, and a count for id-less events) and accepts only what
 * is after the newest one it has: nothing repeats across a hand-off or a catch-up, and every gap is
 * filled from a window or a catch-up connection before live events are accepted again. Positions
 * without events (`PositionMarker`s: id-only blocks, control frames) travel the same way, each with a
 * sequence of its own: every tab's consumer commits them, and a new leader resumes from one.
 */
export class SharedSource implements Source {
  readonly #options: DriverOptions
  readonly #name: string
  readonly #onRole: (role: Role) => void
  readonly #id: string
  readonly #window: RecentWindow
  /** Withdraws this tab from the lock's queue. */
  readonly #queue = new AbortController()
  #bc: BroadcastChannel | undefined
  #release: (() => void) | undefined
  #leader: Driver | undefined
  #catchUp: Driver | undefined
  /** Follower catching up: the leader's window floor, past which we ask it again. */
  #target: Ordinal | undefined
  /** The newest event or marker pushed into our channel. */
  #last: Ordinal
  /** The newest positioned one (or marker): where a connection of ours resumes. */
  #position: Position | undefined
  /** Follower: live events are accepted (false until the leader answered our `join`). */
  #synced = false
  #status: Status = 'connecting'
  #wireStatus: WireStatus | null = null
  #reconnects = 0
  /** The leader's own store failed: its end is not the stream's end, so followers are not told. */
  #ownFailure = false
  #closed = false
  /** Leader: events delivered in the current task, relayed in one message when it ends. */
  #outbox: WireEvent[] | undefined
  /** Leader: ms to keep the lock after we stop (see `#lead`). */
  #hold = 0
  /** Leader: events its own consumer has not been given yet (the newest ones in the window). */
  #behind = 0
  /** Leader: the characters of those events (bounded like the consumer's buffer, see `#leaderSink`). */
  #behindChars = 0
  /** Leader: hands the consumer its whole backlog (set by `#leaderSink`). */
  #giveAll: (() => void) | undefined

  constructor(options: DriverOptions, key: string, onRole: (role: Role) => void) {
    this.#options = options
    // A replay ends where a live subscription goes on: tabs share only with tabs of the same mode.
    this.#name = channelName(options.machine.mode === 'replay' ? `replay:${key}` : key)
    this.#onRole = onRole
    this.#id = options.runtime.random().toString(36).slice(2)
    this.#position = options.start
    this.#last = options.start ? [options.start.sequence, 0] : NOTHING
    this.#window = new RecentWindow(this.#last, DEFAULTS.shareWindow, options.highWaterSize)
  }

  get state(): { readonly reconnects: number } {
    return this.#leader?.state ?? { reconnects: this.#reconnects }
  }

  start(): void {
    const bc = new BroadcastChannel(this.#name)
    bc.onmessage = (message: MessageEvent) => this.#receive(message.data)
    this.#bc = bc
    const locks = (globalThis as unknown as { navigator: { locks: LocksLike } }).navigator.locks
    locks
      .request(this.#name, { signal: this.#queue.signal }, () => {
        if (this.#closed) return Promise.resolve()
        // Held until we close; the browser releases it by itself when the tab goes away.
        const held = new Promise<void>((resolve) => {
          this.#release = resolve
        })
        try {
          this.#lead()
        } catch (cause) {
          // Thrown here it would only reject the request, unseen, and leave the tab neither leading
          // nor in the queue. It is this tab's failure, not the stream's (as when its store fails):
          // its subscription ends with it (`post` as a leader or not), the others are not told, and the
          // next tab in the queue leads.
          this.post({ type: 'failed', error: new ResumableSSEError('share', 'could not lead the shared connection', { cause }) })
        }
        return held
      })
      .catch(() => {}) // withdrawn from the queue by close()
    this.#join()
  }

  post(input: Input): void {
    if (this.#leader) {
      // Our own store failed (subscribe posts nothing else): that ends our connection, not the stream.
      if (input.type === 'failed') this.#ownFailure = true
      this.#leader.post(input)
    } else if (input.type === 'failed') this.#end('error', input.error)
  }

  abort(): void {
    if (this.#leader) this.#leader.abort()
    else this.#end('aborted')
  }

  #send(message: Body): void {
    // Whatever else we say must not overtake the events before it (a status 'closed' after the last ones).
    if (this.#outbox) this.#flushOutbox()
    if (this.#closed) return
    try {
      this.#bc?.postMessage({ v: PROTOCOL, ...message })
    } catch (error) {
      // Structured clone refused a status's `cause` (whatever the app's headers() threw: a Response,
      // an error caused by one): the others get the status without it, and so do later joiners.
      const s = (message as { s?: WireStatus | null }).s
      if (!s?.cause) throw error
      const { cause, ...rest } = s
      if (this.#wireStatus === s) this.#wireStatus = rest
      this.#send({ ...message, s: rest } as Body)
    }
  }

  /**
   * One message per task rather than per event: posting costs the leader's main thread more than the
   * event itself, and a network chunk often carries many events. A microtask adds no latency.
   */
  #relay(wire: WireEvent): void {
    if (this.#outbox) {
      this.#outbox.push(wire)
      return
    }
    this.#outbox = [wire]
    queueMicrotask(() => this.#flushOutbox())
  }

  #flushOutbox(): void {
    const events = this.#outbox
    this.#outbox = undefined
    if (events && !this.#closed) this.#bc?.postMessage({ v: PROTOCOL, t: 'ev', e: events })
  }

  #receive(data: unknown): void {
    if (!isOurs(data) || this.#closed) return
    if (this.#leader) {
      if (data.t === 'join') {
        const { events, floor } = this.#window.answer(data.after)
        this.#send({ t: 'cu', to: data.from, e: events, floor, s: this.#wireStatus })
      }
      return
    }
    switch (data.t) {
      case 'ev':
        if (this.#synced) {
          for (const event of data.e) this.#accept(event)
          // No backpressure across tabs: a follower whose consumer falls behind stops taking live
          // events and asks again from where it is once there is room (from the window, or fetching).
          if (this.#options.channel.isFull()) {
            this.#synced = false
            void this.#options.channel.waitForRoom().then(() => this.#join())
          }
        }
        return
      case 'st':
        this.#mirror(data.s)
        return
      case 'hi':
        this.#join()
        return
      case 'cu':
        if (data.to === this.#id) this.#caughtUp(data.e, data.floor, data.s)
        return
    }
  }

  #join(): void {
    if (this.#leader || this.#closed) return
    this.#synced = false
    this.#send({ t: 'join', from: this.#id, after: this.#last })
  }

  #caughtUp(events: readonly WireEvent[], floor: Ordinal | null, status: WireStatus | null): void {
    if (status) this.#mirror(status)
    if (this.#closed) return
    if (floor && isAfter(floor, this.#last)) {
      // Behind the window: our catch-up connection (the one running, or a new one) asks again once
      // past this floor, and stays open until an answer has no floor: a server that sends history
      // no faster than live events costs one connection, not a new one per lap.
      this.#target = floor
      if (!this.#catchUp) this.#fetchUpTo()
      return
    }
    this.#dropCatchUp()
    for (const event of events) this.#accept(event)
    this.#synced = true
  }

  /**
   * Pushes one event or marker into our channel unless we have it already; every tab keeps it in its
   * window. Returns whether it was new.
   */
  #accept(wire: WireEvent, given?: Entry): boolean {
    const ordinal = ordinalOf(wire)
    if (!isAfter(ordinal, this.#last)) return false
    this.#last = ordinal
    this.#window.add(wire)
    const entry = given ?? toEntry(wire)
    if (positioned(entry)) this.#position = entry
    this.#options.channel.push(entry)
    return true
  }

  /**
   * Numbers the id-less events of a supervisor of ours. It resumes from #position, so id-less events
   * after it are counted from there again (and then recognised as ones we have).
   */
  #numbering(): (entry: Entry) => WireEvent {
    let previous: Ordinal = this.#position ? [this.#position.sequence, 0] : NOTHING
    return (entry) => {
      // The dialects give an id-less event the sequence of the position before it, a marker's included.
      const k = positioned(entry) ? 0 : previous[0] === entry.sequence ? previous[1] + 1 : 1
      previous = [entry.sequence, k]
      return toWire(entry, k)
    }
  }

  /** The catch-up connection's sink: our channel, as a follower's (`then` sees each event). */
  #sink(then: (wire: WireEvent) => void): Sink {
    const channel = this.#options.channel
    const number = this.#numbering()
    return {
      push: (entry: Entry) => {
        const wire = number(entry)
        this.#accept(wire, entry)
        then(wire)
      },
      isFull: () => channel.isFull(),
      waitForRoom: () => channel.waitForRoom(),
    }
  }

  /**
   * The leader's sink. Its own consumer must not pace the other tabs: when its buffer is full, events
   * still go to the window and to the others, and the consumer is given them from the window as it
   * makes room (`#behind` counts them). Only half a window behind does reading pause (backpressure).
   */
  #leaderSink(): Sink {
    const channel = this.#options.channel
    const half = this.#window.capacity / 2
    const halfChars = this.#window.maxChars / 2
    const number = this.#numbering()
    const waiters: Array<() => void> = []
    // Reading pauses when the consumer is half a window behind, by count or by size (what the window
    // must keep for it is then bounded by size too).
    const behind = (): boolean => this.#behind >= half || this.#behindChars >= halfChars
    /** Hands the consumer its backlog: as much as its buffer takes, or (`all`) everything. */
    const give = (all: boolean): void => {
      // One event at a time from the window, O(1) each: no copy of the backlog per step.
      while (this.#behind > 0 && (all || !channel.isFull())) {
        const wire = this.#window.back(this.#behind--)
        this.#behindChars -= sizeOf(wire)
        channel.push(toEntry(wire))
      }
      if (!behind()) for (const wake of waiters.splice(0)) wake()
    }
    const drain = (): void => {
      give(false)
      // An ended channel has room forever and takes nothing: the backlog went to it at the end (#giveAll).
      if (this.#behind > 0 && !channel.ended) void channel.waitForRoom().then(drain)
    }
    this.#giveAll = () => give(true)
    return {
      push: (entry: Entry) => {
        const wire = number(entry)
        const ordinal = ordinalOf(wire)
        if (!isAfter(ordinal, this.#last)) return
        this.#last = ordinal
        // The window never drops what the consumer has not had yet (the backlog, and maybe this one).
        this.#window.add(wire, this.#behind + 1)
        this.#relay(wire)
        if (this.#behind === 0 && !channel.isFull()) return channel.push(entry)
        this.#behindChars += sizeOf(wire)
        if (++this.#behind === 1) void channel.waitForRoom().then(drain)
        // A window's worth behind within one network chunk: give the consumer everything rather than
        // let the window hold more than it may (its buffer overshoots by that chunk).
        if (this.#behind >= this.#window.capacity || this.#behindChars >= this.#window.maxChars) give(true)
      },
      isFull: behind,
      waitForRoom: () => (behind() ? new Promise<void>((resolve) => waiters.push(resolve)) : Promise.resolve()),
    }
  }

  #checkpoint(): Checkpoint | undefined {
    return this.#position && positionOf(this.#position)
  }

  /** We won the lock: run the connection, relay it, and ask the followers where they are. */
  #lead(): void {
    this.#dropCatchUp()
    // User code (onNotice): its exception is reported like a listener's and does not stop the take-over.
    callUser(this.#onRole, 'leader')
    const options = this.#options
    const wireStatus = ({ error, ...rest }: StatusChange): WireStatus =>
      error ? { ...rest, error: { code: error.code, message: error.message, ...(error instanceof HttpError && { http: [error.status, error.body, error.requestId] as const }) } } : rest
    const report = (change: StatusChange): void => {
      this.#wireStatus = wireStatus(change)
      // 'closed' is told (or not) by onClosed, which runs first.
      if (change.status !== 'closed') this.#send({ t: 'st', s: this.#wireStatus })
      this.#status = change.status
      options.onStatus(change)
    }
    // A hand-off: every tab shows the new connection being opened (a first leader is connecting already).
    if (this.#status !== 'connecting') report({ status: 'connecting', previous: this.#status, attempt: 0, reconnects: this.#reconnects })
    const leader = new Driver({
      ...options,
      start: this.#checkpoint(),
      channel: this.#leaderSink() as EventChannel,
      onStatus: report,
      onClosed: (state) => {
        // Our close() hands the stream over rather than ending it; nor does our own store failing.
        // Any other end is the stream's (a fatal error, the end of a replay): every tab ends with it,
        // and we keep the lock a moment, or a follower could win it before our message reaches it.
        if (state.reason !== 'aborted' && !this.#ownFailure) {
          const { status, attempt, reconnects, reason, error } = state
          this.#send({ t: 'st', s: wireStatus({ status, previous: this.#status, attempt, reconnects, ...(reason && { reason }), ...(error && { error }) }) })
          this.#hold = DEFAULTS.shareEndGrace
          // The stream is over: our consumer gets what it is behind on before its channel ends.
          this.#giveAll?.()
        }
        this.#stop()
        options.onClosed(state)
      },
    })
    this.#leader = leader
    this.#send({ t: 'hi' })
    leader.start()
  }

  /** Follower: mirror the leader's connection status; its end (done, fatal error) is ours too. */
  #mirror(s: WireStatus): void {
    this.#reconnects = s.reconnects
    if (s.status === 'closed') {
      // The stream is over, but a follower that was not taking live events (its consumer behind, a
      // catch-up under way, a join unanswered) lacks the last ones: it fetches them itself and ends
      // as its own connection does. A fatal error ends it at once.
      if (!this.#synced && s.reason !== 'error') return this.#finishAlone()
      const e = s.error
      this.#end(s.reason ?? 'error', e && (e.http ? new HttpError(...e.http, e.code as 'http', e.message) : new ResumableSSEError(e.code as never, e.message)))
      return
    }
    if (s.status === this.#status && s.delay === undefined) return
    const previous = this.#status
    this.#status = s.status
    this.#options.onStatus({ ...s, previous } as StatusChange)
  }

  /** The stream ended while we lacked events: no more leader to follow, the rest on our own connection. */
  #finishAlone(): void {
    this.#queue.abort()
    this.#bc?.close()
    this.#bc = undefined
    this.#dropCatchUp()
    this.#fetchUpTo(true)
  }

  /**
   * Our position is older than the leader's window: fetch the part in between over a short connection
   * of our own (our headers, from our own position), asking the leader again for the rest each time
   * it passes `#target`. `toEnd` (the stream is over, `#finishAlone`): it runs to the stream's end
   * and we end with it.
   */
  #fetchUpTo(toEnd = false): void {
    const catchUp: Driver = new Driver({
      ...this.#options,
      start: this.#checkpoint(),
      channel: this.#sink((wire) => {
        if (this.#target && !isAfter(this.#target, ordinalOf(wire))) {
          this.#target = undefined
          this.#join()
        }
      }) as EventChannel,
      onStatus: () => {},
      onClosed: (state) => {
        if (this.#catchUp !== catchUp) return
        this.#catchUp = undefined
        if (state.error || toEnd) this.#end(state.error ? 'error' : (state.reason ?? 'error'), state.error)
        else this.#join()
      },
    })
    this.#catchUp = catchUp
    catchUp.start()
  }

  /** Closes our catch-up connection, if any (forgotten first: its onClosed then does nothing). */
  #dropCatchUp(): void {
    const catchUp = this.#catchUp
    this.#catchUp = undefined
    catchUp?.abort()
  }

  /** Follower ending: the stream ended, our store failed, or close(). */
  #end(reason: StatusReason, error?: ResumableSSEError): void {
    if (this.#closed) return
    this.#stop()
    const change: StatusChange = { status: 'closed', previous: this.#status, attempt: 0, reconnects: this.#reconnects, reason, ...(error && { error }) }
    this.#status = 'closed'
    this.#options.onStatus(change)
    this.#options.onClosed({ ...initialState(), ...change } as MachineState)
  }

  #stop(): void {
    this.#flushOutbox()
    this.#closed = true
    this.#dropCatchUp()
    this.#queue.abort()
    const release = this.#release
    if (release) {
      if (this.#hold > 0) this.#options.runtime.setTimeout(release, this.#hold)
      else release()
    }
    this.#bc?.close()
  }
}
