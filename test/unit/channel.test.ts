import { describe, expect, it } from 'vitest'
import { EventChannel } from '../../src/delivery/channel.js'
import { DeliveredEvent } from '../../src/delivery/event.js'
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
  it('drops sequences at or below the last, and only reports gaps on contiguous streams', () => {
    const loose = new Sequencer({ sequence: 5, cursor: '5' }, false)
    expect(loose.judge(5)).toBe('duplicate')
    expect(loose.judge(4)).toBe('duplicate')
    expect(loose.judge(9)).toBe('new')
    const strict = new Sequencer({ sequence: 5, cursor: '5' }, true)
    expect(strict.judge(6)).toBe('new')
    expect(strict.judge(9)).toBe('gap')
    expect(strict.expected).toBe(6)
  })
  it('accepts anything first when there is no position', () => {
    expect(new Sequencer(undefined, true).judge(42)).toBe('new')
  })
})
