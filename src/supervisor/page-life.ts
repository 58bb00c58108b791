// The one place that knows about browser life: connectivity (`navigator.onLine` + `online`/`offline`)
// and page visibility (`document.visibilityState` + `visibilitychange`). Everything is looked up on
// `globalThis` at call time and feature-detected, so the same code is inert in Deno, Workers and Node
// (which have neither a `document` nor a meaningful `onLine`) and never throws a ReferenceError there.

/** What the supervisor wants to hear about. Every handler is optional. */
export interface PageLifeHandlers {
  online?(): void
  offline?(): void
  visible?(): void
  hidden?(): void
}

/** The slice of EventTarget we use; typed locally so no DOM global is named. */
interface Listenable {
  addEventListener(type: string, listener: () => void): void
  removeEventListener(type: string, listener: () => void): void
}

interface NavigatorLike {
  onLine?: unknown
}

interface DocumentLike extends Listenable {
  visibilityState?: unknown
}

function isListenable(value: unknown): value is Listenable {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Listenable).addEventListener === 'function' &&
    typeof (value as Listenable).removeEventListener === 'function'
  )
}

function navigatorLike(): NavigatorLike | undefined {
  const nav = (globalThis as { navigator?: unknown }).navigator
  return typeof nav === 'object' && nav !== null ? (nav as NavigatorLike) : undefined
}

/**
 * Connectivity is reported only where `navigator.onLine` is a real boolean. Deno and Workers have a
 * `navigator` without it (or, in some versions, with it stuck at `true`), and they also expose a global
 * `addEventListener` that would never fire `online`; attaching there is harmless but pointless.
 */
function hasConnectivity(): boolean {
  return typeof navigatorLike()?.onLine === 'boolean'
}

function documentLike(): DocumentLike | undefined {
  const doc = (globalThis as { document?: unknown }).document
  return isListenable(doc) && typeof (doc as DocumentLike).visibilityState === 'string'
    ? (doc as DocumentLike)
    : undefined
}

/** `true` only when the platform positively says it is offline. Unknown means online. */
export function isOffline(): boolean {
  return navigatorLike()?.onLine === false
}

/** `true` only when a document exists and says it is hidden. No document means visible. */
export function isHidden(): boolean {
  return documentLike()?.visibilityState === 'hidden'
}

/**
 * Calls the handlers on connectivity and visibility changes. Returns an unsubscribe function; where the
 * platform has neither feature it attaches nothing and the unsubscribe is a no-op.
 */
export function watchPageLife(handlers: PageLifeHandlers): () => void {
  const detach: Array<() => void> = []
  const listen = (target: Listenable, type: string, listener: (() => void) | undefined): void => {
    if (!listener) return
    target.addEventListener(type, listener)
    detach.push(() => target.removeEventListener(type, listener))
  }

  const scope = globalThis as unknown
  if (hasConnectivity() && isListenable(scope)) {
    // Own functions, not the handlers themselves: two watchers given the same handler stay independent.
    listen(scope, 'online', handlers.online && (() => handlers.online?.()))
    listen(scope, 'offline', handlers.offline && (() => handlers.offline?.()))
  }

  const doc = documentLike()
  if (doc) {
    // `visibilitychange` carries no payload: read the state when it fires. Browsers may fire it
    // without a real change (e.g. prerender activation), so only report actual transitions.
    let last = doc.visibilityState
    listen(doc, 'visibilitychange', (handlers.visible || handlers.hidden) && (() => {
      const state = doc.visibilityState
      if (state === last) return
      last = state
      if (state === 'hidden') handlers.hidden?.()
      else if (state === 'visible') handlers.visible?.()
    }))
  }

  // Emptied as it runs: a second call finds nothing to detach.
  return () => {
    for (const off of detach.splice(0)) off()
  }
}
