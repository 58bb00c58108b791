/**
 * Whether this context can share a subscription with other tabs: it needs Web Locks (leader election)
 * and BroadcastChannel (the relay), in a window or a worker of a browser. Deno, Node and Cloudflare
 * Workers lack one or the other (or, like Node ≥ 22 with BroadcastChannel, have no tabs to share with).
 * Small and in the core on purpose: the share code itself is loaded only when this says yes.
 */
export function canShare(): boolean {
  const scope = globalThis as { BroadcastChannel?: unknown; navigator?: { locks?: { request?: unknown } }; document?: unknown; importScripts?: unknown }
  return (
    typeof scope.BroadcastChannel === 'function' &&
    typeof scope.navigator?.locks?.request === 'function' &&
    (typeof scope.document === 'object' || typeof scope.importScripts === 'function')
  )
}
