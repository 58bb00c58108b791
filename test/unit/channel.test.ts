import { describe, expect, it } from 'vitest'
import { EventChannel } from '../../src/delivery/channel.js'
import { DeliveredEvent, PositionMarker } from '../../src/delivery/event.js'
import { GapError, type Notice } from '../../src/index.js'
import { Sequencer } from '../../src/delivery/sequencer.js'

const ev = (n: number) => new DeliveredEvent('message', `{"n":${n}}`, String(n), n, String(n), undefined, true)

describe('event channel', () => {
  it('delivers in order, to a waiting consumer and from the buffer', async () => {
    const channel = new EventChannel(10)
    const waiting = channel.pull()
    channel.push(ev(1))
    channel.push(ev(2))
    expect((await waiting).value?.sequence).toBe(1)
    expect((await channel.pull()).value?.sequence).toBe(2)
  })
  it('reports full at the high-water mark and wakes the producer when the consumer drains', async () => {
    const channel = new EventChannel(2)
    channel.push(ev(1))
    channel.push(ev(2))
    expect(channel.isFull()).toBe(true)
    let woke = false
    const room = channel.waitForRoom().then(() => {
      woke = true
    })
    await Promise.resolve()
    expect(woke).toBe(false)
    await channel.pull()
    await room
    expect(woke).toBe(true)
  })
  it('an error is thrown after the buffered events, exactly once', async () => {
    const channel = new EventChannel(10)
    channel.push(ev(1))
    channel.end(new Error('fatal'))
    expect((await channel.pull()).value?.sequence).toBe(1)
    await expect(channel.pull()).rejects.toThrow('fatal')
    expect(await channel.pull()).toEqual({ value: undefined, done: true })
  })
  it('ending wakes a waiting consumer', async () => {
    const channel = new EventChannel(10)
    const waiting = channel.pull()
    channel.end()
    expect(await waiting).toEqual({ value: undefined, done: true })
  })
  it('discard drops what is buffered', async () => {
    const channel = new EventChannel(10)
    channel.push(ev(1))
    channel.discard()
    expect(await channel.pull()).toEqual({ value: undefined, done: true })
  })
  it('stays in order across buffer compaction', async () => {
    const channel = new EventChannel(100_000)
    for (let i = 1; i <= 5000; i++) channel.push(ev(i))
    const seen: number[] = []
    for (let i = 1; i <= 5000; i++) seen.push((await channel.pull()).value!.sequence)
    expect(seen).toEqual(Array.from({ length: 5000 }, (_, i) => i + 1))
  })
  it('json() parses the data', () => {
    expect(ev(3).json<{ n: number }>().n).toBe(3)
  })
})

describe('sequencer', () => {
  const at = (sequence: number) => ({ sequence, cursor: String(sequence) })
  it('drops sequences at or below the last (a duplicate notice for events), records what goes on', () => {
    const notices: Notice[] = []
    const loose = new Sequencer(at(5), false, false, (notice) => notices.push(notice))
    expect(loose.admit(at(5), true)).toBe(false)
    expect(loose.admit(at(4), true)).toBe(false)
    expect(loose.admit(at(3), false)).toBe(false) // a replayed position without an event: silent
    expect(loose.admit(at(9), true)).toBe(true)
    expect(loose.last?.sequence).toBe(9)
    expect(notices).toEqual([
      { kind: 'duplicate', sequence: 5 },
      { kind: 'duplicate', sequence: 4 },
    ])
  })
  it('on a contiguous stream a jump is a gap notice and goes on, or with strictGaps the GapError (nothing recorded)', () => {
    const notices: Notice[] = []
    const contiguous = new Sequencer(at(5), true, false, (notice) => notices.push(notice))
    expect(contiguous.admit(at(6), true)).toBe(true)
    expect(contiguous.admit(at(9), true)).toBe(true)
    expect(notices).toEqual([{ kind: 'gap', expected: 7, received: 9 }])
    const strict = new Sequencer(at(5), true, true, () => {})
    const verdict = strict.admit(at(9), true)
    expect(verdict).toBeInstanceOf(GapError)
    expect(verdict).toMatchObject({ expected: 6, received: 9 })
    expect(strict.last?.sequence).toBe(5)
  })
  it('accepts anything first when there is no position', () => {
    expect(new Sequencer(undefined, true, true, () => {}).admit(at(42), true)).toBe(true)
  })
})

describe('positions without events in the queue', () => {
  const marker = (n: number) => new PositionMarker(n, `m${n}`, undefined)
  it('are committed when the consumer reaches them, never delivered', async () => {
    const committed: number[] = []
    const channel = new EventChannel(10, Number.POSITIVE_INFINITY, (m) => committed.push(m.sequence))
    channel.push(ev(1))
    channel.push(marker(2))
    channel.push(ev(3))
    expect(committed).toEqual([])
    expect(channel.shift()?.sequence).toBe(1)
    expect(committed).toEqual([])
    expect(channel.shift()?.sequence).toBe(3)
    expect(committed).toEqual([2])
  })
  it('consecutive markers collapse into the newest; one that arrives while the consumer waits commits at once', async () => {
    const committed: number[] = []
    const channel = new EventChannel(10, Number.POSITIVE_INFINITY, (m) => committed.push(m.sequence))
    channel.push(marker(1))
    channel.push(marker(2))
    expect(channel.size).toBe(1)
    const waiting = channel.pull()
    expect(committed).toEqual([2])
    channel.push(marker(3))
    expect(committed).toEqual([2, 3])
    channel.push(ev(4))
    expect((await waiting).value?.sequence).toBe(4)
  })
  it('markers before the end of the stream are committed before the consumer hears the end', async () => {
    const committed: number[] = []
    const channel = new EventChannel(10, Number.POSITIVE_INFINITY, (m) => committed.push(m.sequence))
    channel.push(ev(1))
    channel.push(marker(2))
    channel.end()
    expect((await channel.pull()).value?.sequence).toBe(1)
    expect((await channel.pull()).done).toBe(true)
    expect(committed).toEqual([2])
  })
})
