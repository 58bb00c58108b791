import { afterEach, describe, expect, it } from 'vitest'
import { isHidden, isOffline, watchPageLife } from '../../src/supervisor/page-life.js'

// happy-dom reports a fixed `onLine === true` and `visibilityState === 'visible'`; the browser would
// change them before firing the event, so these helpers do the same on the instances.
function setOnLine(value: boolean): void {
  Object.defineProperty(globalThis.navigator, 'onLine', { configurable: true, get: () => value })
}
function setVisibility(value: 'visible' | 'hidden'): void {
  Object.defineProperty(globalThis.document, 'visibilityState', { configurable: true, get: () => value })
}
function goOffline(): void {
  setOnLine(false)
  globalThis.dispatchEvent(new Event('offline'))
}
function goOnline(): void {
  setOnLine(true)
  globalThis.dispatchEvent(new Event('online'))
}
function hide(): void {
  setVisibility('hidden')
  document.dispatchEvent(new Event('visibilitychange'))
}
function show(): void {
  setVisibility('visible')
  document.dispatchEvent(new Event('visibilitychange'))
}

// Removing the own properties brings back happy-dom's defaults (online, visible).
afterEach(() => {
  delete (globalThis.navigator as { onLine?: boolean }).onLine
  delete (globalThis.document as { visibilityState?: string }).visibilityState
})

describe('page life in a browser-like environment', () => {
  it('reads the current connectivity and visibility', () => {
    expect(isOffline()).toBe(false)
    expect(isHidden()).toBe(false)
    setOnLine(false)
    setVisibility('hidden')
    expect(isOffline()).toBe(true)
    expect(isHidden()).toBe(true)
  })

  it('reports offline and online events in order', () => {
    const seen: string[] = []
    const stop = watchPageLife((change) => seen.push(change))
    goOffline()
    goOnline()
    stop()
    expect(seen).toEqual(['offline', 'online'])
  })

  it('reports hidden and visible transitions, ignoring a visibilitychange that changed nothing', () => {
    const seen: string[] = []
    const stop = watchPageLife((change) => seen.push(change))
    document.dispatchEvent(new Event('visibilitychange')) // still visible: not a transition
    hide()
    hide()
    show()
    stop()
    expect(seen).toEqual(['hidden', 'visible'])
  })

  it('stops reporting after unsubscribe, and unsubscribing twice is harmless', () => {
    const seen: string[] = []
    const stop = watchPageLife((change) => seen.push(change))
    stop()
    stop()
    goOffline()
    goOnline()
    hide()
    show()
    expect(seen).toEqual([])
  })

  it('keeps independent watchers independent, even with the same callback', () => {
    const seen: string[] = []
    const record = (change: string) => seen.push(change)
    const stopA = watchPageLife(record)
    const stopB = watchPageLife(record)
    stopA()
    goOffline()
    stopB()
    expect(seen).toEqual(['offline'])
  })

  it('reports connectivity and visibility changes through the one callback, in order', () => {
    const seen: string[] = []
    const stop = watchPageLife((change) => seen.push(change))
    goOffline()
    hide()
    goOnline()
    show()
    stop()
    expect(seen).toEqual(['offline', 'hidden', 'online', 'visible'])
  })
})
