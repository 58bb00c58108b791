// The shareAcrossTabs protocol's pieces, pure: ordering, the version stamp, the recent window. The
// protocol end to end between subscriptions: test/integration/share.test.ts.
import { describe, expect, it } from 'vitest'
import { PositionMarker } from '../../src/delivery/event.js'
import { channelName, isAfter, isOurs, NOTHING, ordinalOf, PROTOCOL, toWire, type WireEvent } from '../../src/share/protocol.js'
import { RecentWindow } from '../../src/share/window.js'

const wire = (sequence: number, k = 0): WireEvent => ['message', `d${sequence}.${k}`, k === 0 ? String(sequence) : null, sequence, k, String(sequence), null]

describe('the protocol pieces', () => {
  it('orders id-less events after the positioned event they follow, and before the next', () => {
    expect(isAfter([5, 1], [5, 0])).toBe(true)
    expect(isAfter([6, 0], [5, 3])).toBe(true)
    expect(isAfter([5, 0], [5, 1])).toBe(false)
    expect(isAfter([5, 1], [5, 1])).toBe(false)
    expect(isAfter([0, 1], NOTHING)).toBe(true)
  })

  it('accepts only messages stamped with this protocol version', () => {
    expect(isOurs({ v: PROTOCOL, t: 'hi' })).toBe(true)
    expect(isOurs({ v: PROTOCOL + 1, t: 'hi' })).toBe(false)
    expect(isOurs({ t: 'hi' })).toBe(false)
    expect(isOurs('hi')).toBe(false)
    expect(isOurs(null)).toBe(false)
    // Lock and channel carry the version too, so another version elects its own leader.
    expect(channelName('k')).toBe(`rsse:${PROTOCOL}:k`)
  })

  it('a position without an event has a wire form of its own, ordered by its own sequence', () => {
    const marker = toWire(new PositionMarker(7, 'seven', { c: 'x' }), 3)
    expect(marker).toEqual([null, '', null, 7, 0, 'seven', { c: 'x' }])
    expect(ordinalOf(marker)).toEqual([7, 0])
    // An id-less event after it counts from it, like one after a positioned event.
    expect(isAfter([7, 1], ordinalOf(marker))).toBe(true)
  })

  it('the recent window answers a joiner with what follows its position, or with its floor when it is older', () => {
    const window = new RecentWindow([10, 0], 3)
    for (const sequence of [11, 12, 13]) window.add(wire(sequence))
    expect(window.answer([11, 0])).toEqual({ events: [wire(12), wire(13)], floor: null })
    expect(window.answer([10, 0])).toEqual({ events: [wire(11), wire(12), wire(13)], floor: null })
    expect(window.answer([9, 0])).toEqual({ events: [wire(11), wire(12), wire(13)], floor: [10, 0] })
    window.add(wire(13, 1))
    window.add(wire(14))
    // Two evicted: the floor is the newest evicted event; the joiner at 11 is now behind it.
    expect(window.answer([11, 0])).toEqual({ events: [wire(13), wire(13, 1), wire(14)], floor: [12, 0] })
    expect(window.answer([13, 0])).toEqual({ events: [wire(13, 1), wire(14)], floor: null })
    // A tab with no position at all starts where the window starts.
    expect(window.answer(NOTHING)).toEqual({ events: [wire(13), wire(13, 1), wire(14)], floor: null })
    for (let sequence = 15; sequence < 5000; sequence++) window.add(wire(sequence))
    expect(window.answer([4996, 0])).toEqual({ events: [wire(4997), wire(4998), wire(4999)], floor: null })
  })

  // Regression (memory): the window was bounded by count only, so 1 024 events of 1 MiB held 1 GiB.
  it('the recent window is bounded by size too, but never drops the newest `keep` events', () => {
    const big = (sequence: number): WireEvent => ['message', 'x'.repeat(1000), String(sequence), sequence, 0, String(sequence), null]
    const window = new RecentWindow([0, 0], 1024, 3500)
    for (let sequence = 1; sequence <= 10; sequence++) window.add(big(sequence))
    // 3 events of ~1 000 characters fit 3 500; the floor is the newest evicted.
    expect(window.answer([0, 0])).toEqual({ events: [big(8), big(9), big(10)], floor: [7, 0] })
    // What the leader's consumer has not had yet stays, whatever its size.
    window.add(big(11), 5)
    expect(window.answer(NOTHING).events.map((event) => event[3])).toEqual([8, 9, 10, 11])
    window.add(big(12))
    expect(window.answer(NOTHING).events.map((event) => event[3])).toEqual([10, 11, 12])
  })
})
