import { describe, expect, it } from 'vitest'
import { isHidden, isOffline, watchPageLife } from '../../src/supervisor/page-life.js'

// Node (like Deno and Workers) has no document and no meaningful navigator.onLine: page life must be
// absent there, never a ReferenceError and never a false "offline" that would stall reconnects.
describe('page life outside a browser', () => {
  it('says online and visible', () => {
    expect(isOffline()).toBe(false)
    expect(isHidden()).toBe(false)
  })

  it('attaches nothing and returns a harmless unsubscribe', () => {
    const seen: string[] = []
    const stop = watchPageLife((change) => seen.push(change))
    // Node 20's globalThis is not an EventTarget; if a later Node makes it one, an `offline` event
    // dispatched there must still not reach handlers, because onLine is not a boolean.
    const scope = globalThis as unknown as { dispatchEvent?: (event: Event) => boolean }
    scope.dispatchEvent?.(new Event('offline'))
    stop()
    stop()
    expect(seen).toEqual([])
  })

  it('ignores a navigator without onLine (as in Deno and Workers)', () => {
    const had = Object.getOwnPropertyDescriptor(globalThis, 'navigator')
    Object.defineProperty(globalThis, 'navigator', { configurable: true, value: { userAgent: 'test' } })
    try {
      expect(isOffline()).toBe(false)
    } finally {
      if (had) Object.defineProperty(globalThis, 'navigator', had)
      else delete (globalThis as { navigator?: unknown }).navigator
    }
  })
})
