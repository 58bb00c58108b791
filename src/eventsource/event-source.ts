import { baseUrl } from '../config.js'
import { subscribe } from '../subscribe.js'
import type { StoreError } from '../errors.js'
import type { StatusChange, SubscribeOptions, Subscription } from '../types.js'
import { eventSourceDialect } from './dialect.js'

/**
 * The `EventSource` init dictionary: the standard's `withCredentials`, plus `subscribe`'s options with
 * the same meaning (`fetch`, `headers`, `method`, `body`, `store`, `key`, `fingerprint`, `backoff`,
 * `heartbeatTimeout`, `refreshAuth`, ...). What the class decides itself (the URL, the dialect, the
 * status callback, the credentials mode) is not among them.
 */
export interface EventSourceInit extends Omit<SubscribeOptions, 'url' | 'dialect' | 'mode' | 'from' | 'strictGaps' | 'onStatus' | 'credentials'> {
  /** Send cookies cross-origin (fetch `credentials: 'include'`). @default false */
  withCredentials?: boolean
  /**
   * Treat 5xx and 429 as `subscribe` does (back off, honour `Retry-After`) instead of failing the
   * connection for good as the HTML standard says. @default false
   */
  retryHttpErrors?: boolean
}

type Listener<E extends Event> = ((this: EventSource, event: E) => unknown) | null

/** The events an EventSource dispatches by name; any other name (`event:`) is a MessageEvent too. */
export interface EventSourceEventMap {
  open: Event
  error: Event
  message: MessageEvent<string>
}

type Options = boolean | AddEventListenerOptions

// Typed listeners, as lib.dom types the native EventSource: `e.data` needs no cast.
export interface EventSource {
  addEventListener<K extends keyof EventSourceEventMap>(type: K, listener: (this: EventSource, event: EventSourceEventMap[K]) => unknown, options?: Options): void
  addEventListener(type: string, listener: (this: EventSource, event: MessageEvent<string>) => unknown, options?: Options): void
  addEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: Options): void
  removeEventListener<K extends keyof EventSourceEventMap>(type: K, listener: (this: EventSource, event: EventSourceEventMap[K]) => unknown, options?: boolean | EventListenerOptions): void
  removeEventListener(type: string, listener: (this: EventSource, event: MessageEvent<string>) => unknown, options?: boolean | EventListenerOptions): void
  removeEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | EventListenerOptions): void
}

const CONNECTING = 0
const OPEN = 1
const CLOSED = 2

/** workerd's EventTarget calls `on<type>` properties itself; elsewhere the class registers them. */
let runtimeCallsHandlers: boolean | undefined
function callsHandlers(): boolean {
  if (runtimeCallsHandlers === undefined) {
    const probe = new EventTarget() as EventTarget & { onx?: () => void }
    runtimeCallsHandlers = false
    probe.onx = () => (runtimeCallsHandlers = true)
    probe.dispatchEvent(new Event('x'))
  }
  return runtimeCallsHandlers
}

function messageEvent(type: string, init: { data: string; lastEventId: string; origin: string }): MessageEvent {
  const event = new MessageEvent(type, init)
  // workerd's MessageEvent takes only `data` from its init.
  if (event.lastEventId !== init.lastEventId || event.origin !== init.origin) {
    Object.defineProperties(event, { lastEventId: { value: init.lastEventId }, origin: { value: init.origin } })
  }
  return event
}

/**
 * A drop-in `EventSource` (WHATWG HTML §9.2) on top of `subscribe`: same interface and events, plus a
 * checkpoint store, so a reload or a restart resumes after the last event dispatched.
 *
 * Order: `open` and `error` come from the supervisor's status changes, messages through the consumer
 * queue. The queue is drained synchronously as soon as it is woken, and a status change after a
 * delivery always comes at least one async return later (the attempt has to end first), so listeners
 * see what a browser shows: the messages, then `error` with `readyState` CONNECTING. The shared
 * scenarios assert that order in every runtime.
 *
 * Checkpoint: an event counts as done when `dispatchEvent` returns, i.e. when every listener has
 * returned. A listener's promise is not awaited (EventTarget never does).
 */
export class EventSource extends EventTarget {
  declare static readonly CONNECTING: 0
  declare static readonly OPEN: 1
  declare static readonly CLOSED: 2
  declare readonly CONNECTING: 0
  declare readonly OPEN: 1
  declare readonly CLOSED: 2

  static {
    // The standard puts the constants on the interface object and its prototype, read-only.
    ;['CONNECTING', 'OPEN', 'CLOSED'].forEach((name, value) => {
      for (const target of [this, this.prototype]) Object.defineProperty(target, name, { value, enumerable: true })
    })
    // `String(es)` is "[object EventSource]", as the native class's.
    Object.defineProperty(this.prototype, Symbol.toStringTag, { value: 'EventSource', configurable: true })
  }

  // Accessors on the prototype, as WebIDL attributes: read-only at run time too, no own properties.
  readonly #url: string
  readonly #credentials: boolean
  #state: number = CONNECTING
  readonly #sub: Subscription
  readonly #handlers: Record<string, Listener<Event>> = {}
  readonly #wrappers: Record<string, (event: Event) => void> = {}
  readonly #onNotice: EventSourceInit['onNotice']

  constructor(url: string | URL, init: EventSourceInit | null = null) {
    super()
    // WebIDL: the URL is required (`new EventSource()` must not open the page's own URL), and the init
    // dictionary may be null or undefined but not another primitive.
    if (!arguments.length || (init != null && Object(init) !== init)) throw new TypeError('EventSource: bad arguments')
    let parsed: URL
    try {
      // As the native class resolves it: against the document's base URL (`<base href>`).
      parsed = new URL(url, baseUrl())
    } catch {
      throw new DOMException(`Invalid URL: ${String(url)}`, 'SyntaxError')
    }
    const { withCredentials, retryHttpErrors, ...options } = init ?? {}
    this.#onNotice = options.onNotice
    this.#url = parsed.href
    this.#credentials = !!withCredentials
    const custom = options.fetch
    this.#sub = subscribe({
      ...options,
      url: parsed,
      // Like the native class (and the `eventsource` package): redirects are followed, to another origin
      // too, under the browser's CORS rules. `redirect: 'same-origin'` opts into subscribe's refusal.
      redirect: options.redirect ?? 'follow',
      // The `eventsource` package calls `fetch(url, init)` with plain-object headers, and wrappers written
      // for it spread `init.headers`: call a custom fetch the same way.
      ...(custom && { fetch: (input: RequestInfo | URL, init?: RequestInit) => (input instanceof Request ? asInit(input).then((plain) => custom(input.url, plain)) : custom(input, init)) }),
      // Browser-like: wait exactly the reconnection time (`retry:`, else 3 s like Chromium), however
      // long `retry:` says (up to the longest timer), not at most subscribe's 5 min (`maxRetryAfter`).
      backoff: { baseDelay: 3000, factor: 1, jitter: false, maxDelay: 2 ** 31 - 1, maxRetryAfter: 2 ** 31 - 1, ...options.backoff },
      heartbeatTimeout: options.heartbeatTimeout ?? false,
      credentials: withCredentials ? 'include' : 'same-origin',
      dialect: eventSourceDialect(!!options.refreshAuth, !!retryHttpErrors),
      onStatus: (change) => this.#announce(change),
    })
    this.#sub
      .forEach((event) => {
        if (this.#state === CLOSED) return
        this.dispatchEvent(messageEvent(event.type, { data: event.data, lastEventId: event.cursor, origin: parsed.origin }))
      })
      // The fatal error already arrived as the `closed` status (an `error` event).
      .catch(() => {})
  }

  get url(): string {
    return this.#url
  }

  get withCredentials(): boolean {
    return this.#credentials
  }

  get readyState(): number {
    return this.#state
  }

  /** With `shareAcrossTabs`: whether this tab holds the connection (`leader`), relays it, or has its own. */
  get role(): Subscription['role'] {
    return this.#sub.role
  }

  #announce({ status, previous, reason }: StatusChange): void {
    if (this.#state === CLOSED) return
    if (status === 'open') {
      this.#state = OPEN
      this.dispatchEvent(new Event('open'))
    } else if (status === 'closed') {
      this.#state = CLOSED
      if (reason !== 'aborted') this.dispatchEvent(new Event('error'))
    } else if (status === 'backoff' && previous !== 'backoff') {
      this.#state = CONNECTING
      this.dispatchEvent(new Event('error'))
    }
  }

  /** Stops for good: no event is dispatched after it. The last finished event's checkpoint is flushed. */
  close(): void {
    this.#state = CLOSED
    // The final checkpoint write: a failure has nobody to throw to, so it is a notice.
    this.#sub.close().catch((error: StoreError) => this.#onNotice?.({ kind: 'store-error', error }))
  }

  /** Event handler attributes keep their listener's place when replaced, as the standard says. */
  #on(type: string, value: unknown): void {
    // WebIDL [LegacyTreatNonObjectAsNull]: any object is kept (and read back), a primitive is null;
    // a non-callable object is silently skipped when the event comes.
    const handler = Object(value) === value ? (value as NonNullable<Listener<Event>>) : null
    const wrapper = this.#wrappers[type]
    const call = (event: Event) => {
      const current = this.#handlers[type]
      if (typeof current === 'function') current.call(this, event)
    }
    if (handler && !wrapper && !callsHandlers()) this.addEventListener(type, (this.#wrappers[type] = call))
    if (!handler && wrapper) {
      this.removeEventListener(type, wrapper)
      delete this.#wrappers[type]
    }
    this.#handlers[type] = handler
  }

  get onopen(): Listener<Event> {
    return this.#handlers.open ?? null
  }
  set onopen(value: Listener<Event>) {
    this.#on('open', value)
  }
  get onmessage(): Listener<MessageEvent<string>> {
    return this.#handlers.message ?? null
  }
  set onmessage(value: Listener<MessageEvent<string>>) {
    this.#on('message', value)
  }
  get onerror(): Listener<Event> {
    return this.#handlers.error ?? null
  }
  set onerror(value: Listener<Event>) {
    this.#on('error', value)
  }
}

/** A Request as the `(url, init)` pair the `eventsource` package passes to a custom fetch. */
async function asInit(request: Request): Promise<RequestInit> {
  const init: RequestInit = { method: request.method, headers: Object.fromEntries(request.headers), signal: request.signal, redirect: request.redirect }
  if (request.method !== 'GET' && request.method !== 'HEAD') init.body = await request.text()
  // Only what differs from fetch's defaults, so a runtime without these fields (workerd) never sees them.
  if (request.credentials && request.credentials !== 'same-origin') init.credentials = request.credentials
  if (request.cache && request.cache !== 'default') init.cache = request.cache
  return init
}
