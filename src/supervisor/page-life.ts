// The one place that knows about browser life: connectivity (`navigator.onLine` + `online`/`offline`)
// and page visibility (`document.visibilityState` + `visibilitychange`). Everything is looked up on
// `globalThis` at call time and feature-detected, so the same code is inert in Deno, Workers and Node
// (which have neither a `document` nor a meaningful `onLine`) and never throws a ReferenceError there.

/** What the supervisor wants to hear about. */
export type PageChange = 'online' | 'offline' | 'visible' | 'hidden'

/** The slice of EventTarget we use; typed locally so no DOM global is named. */
interface Listenable {
  addEventListener(type: string, listener: () => void): void
  removeEventListener(type: string, listener: () => void): void
  visibilityState?: unknown
}

const isListenable = (value: unknown): value is Listenable =>
  typeof value === 'object' &&
  typeof (value as Listenable | null)?.addEventListener === 'function' &&
  typeof (value as Listenable).removeEventListener === 'function'

/** `navigator.onLine`, where there is a navigator object. */
function onLine(): unknown {
  const nav = (globalThis as { navigator?: unknown }).navigator
  return typeof nav === 'object' ? (nav as { onLine?: unknown } | null)?.onLine : undefined
}

/** The document, where there is one that reports its visibility. */
function documentLike(): Listenable | undefined {
  const doc = (globalThis as { document?: unknown }).document
  return isListenable(doc) && typeof doc.visibilityState === 'string' ? doc : undefined
}

/** `true` only when the platform positively says it is offline. Unknown means online. */
export const isOffline = (): boolean => onLine() === false

/** `true` only when a document exists and says it is hidden. No document means visible. */
export const isHidden = (): boolean => documentLike()?.visibilityState === 'hidden'

/**
 * Calls `on` with each connectivity and visibility change. Returns an unsubscribe function; where the
 * platform has neither feature it attaches nothing and the unsubscribe is a no-op.
 */
export function watchPageLife(on: (change: PageChange) => void): () => void {
  const detach: Array<() => void> = []
  // Own listener functions per watcher: two watchers given the same callback stay independent.
  const listen = (target: Listenable, type: string, listener: () => void): void => {
    target.addEventListener(type, listener)
    detach.push(() => target.removeEventListener(type, listener))
  }

  // Connectivity is reported only where `navigator.onLine` is a real boolean. Deno and Workers have a
  // `navigator` without it (or, in some versions, with it stuck at `true`), and they also expose a
  // global `addEventListener` that would never fire `online`; attaching there is harmless but pointless.
  const scope = globalThis as unknown
  if (typeof onLine() === 'boolean' && isListenable(scope)) {
    for (const type of ['online', 'offline'] as const) listen(scope, type, () => on(type))
  }

  const doc = documentLike()
  if (doc) {
    // `visibilitychange` carries no payload: read the state when it fires. Browsers may fire it
    // without a real change (e.g. prerender activation), so only report actual transitions.
    let last = doc.visibilityState
    listen(doc, 'visibilitychange', () => {
      const state = doc.visibilityState
      if (state === last) return
      last = state
      if (state === 'hidden' || state === 'visible') on(state)
    })
  }

  // Emptied as it runs: a second call finds nothing to detach.
  return () => {
    for (const off of detach.splice(0)) off()
  }
}
