// Expired cursors, the pure parts: the machine's restart decision, the committer's reset and the reset
// marker in the consumer's queue. The same behaviour over a real server: test/integration/cursor-expired.test.ts.
import { describe, expect, it } from 'vitest'
import { Committer } from '../../src/checkpoint/committer.js'
import { EventChannel } from '../../src/delivery/channel.js'
import { DeliveredEvent, PositionMarker, ResetMarker } from '../../src/delivery/event.js'
import { ResumableSSEError } from '../../src/errors.js'
import { type Checkpoint, MemoryStore } from '../../src/index.js'
import { type Input, initialState, type MachineConfig, step } from '../../src/supervisor/machine.js'
import { machineConfig } from '../support/machine.js'

// ---------------------------------------------------------------------------------------------------
// The machine: an expired cursor is a restart under 'restart', once per bit of progress.

const config: MachineConfig = machineConfig({ canRefreshAuth: false })
const restart: MachineConfig = { ...config, onCursorExpired: 'restart' }
const gone = new ResumableSSEError('cursor-expired', 'gone')

function run(inputs: Input[], cfg: MachineConfig) {
  let state = initialState()
  let command
  for (const input of inputs) ({ state, command } = step(state, input, cfg, 0.5))
  return { state, command }
}

const expired: Input = { type: 'expired', error: gone }
const opened: Input[] = [{ type: 'start' }, { type: 'opened', at: 0 }, { type: 'progress' }]

describe('state machine: expired cursors', () => {
  it("'fail' (the default) ends with the dialect's error", () => {
    for (const cfg of [config, { ...config, onCursorExpired: 'fail' as const }]) {
      const r = run([...opened, expired], cfg)
      expect(r.command).toEqual({ type: 'stop' })
      expect(r.state).toMatchObject({ status: 'closed', reason: 'error', error: gone })
    }
  })
  it("'restart' restarts (connecting) and remembers that the restart has made no progress yet", () => {
    const r = run([...opened, expired], restart)
    expect(r.command).toEqual({ type: 'restart', error: gone })
    expect(r.state).toMatchObject({ status: 'connecting', restarting: true })
  })
  it('an expiry on the very first connection restarts too', () => {
    expect(run([{ type: 'start' }, expired], restart).command).toEqual({ type: 'restart', error: gone })
  })
  it('expiring again before the restart delivered anything ends with the error (no loop)', () => {
    const r = run([...opened, expired, { type: 'opened', at: 0 }, expired], restart)
    expect(r.command).toEqual({ type: 'stop' })
    expect(r.state).toMatchObject({ status: 'closed', reason: 'error', error: gone })
  })
  it('failed attempts between do not count as progress', () => {
    const r = run([...opened, expired, { type: 'ended', reason: 'transport', at: 0 }, { type: 'waited' }, { type: 'opened', at: 0 }, expired], restart)
    expect(r.command).toEqual({ type: 'stop' })
  })
  it('a restart that delivered something may restart again later', () => {
    const r = run([...opened, expired, { type: 'opened', at: 0 }, { type: 'progress' }, expired], restart)
    expect(r.command).toEqual({ type: 'restart', error: gone })
    expect(r.state.restarting).toBe(true)
  })
  it('other fatal errors stay fatal under restart', () => {
    const r = run([...opened, { type: 'failed', error: new ResumableSSEError('protocol', 'bad') }], restart)
    expect(r.command).toEqual({ type: 'stop' })
  })
})

// ---------------------------------------------------------------------------------------------------
// The committer: the new history's first commit replaces the stored checkpoint, however low.

describe('committer reset', () => {
  const runtime = { now: () => 0, setTimeout: (fn: () => void) => setTimeout(fn, 0), clearTimeout: (h: unknown) => clearTimeout(h as ReturnType<typeof setTimeout>) }
  it('keeps the old checkpoint until the first commit of the new history, then deletes and puts it', async () => {
    const store = new MemoryStore()
    const calls: string[] = []
    const spy = {
      get: (key: string) => store.get(key),
      put: (key: string, cp: Checkpoint) => (calls.push(`put ${cp.sequence}`), store.put(key, cp)),
      delete: (key: string) => (calls.push('delete'), store.delete(key)),
    }
    const committer = new Committer(spy, 'k', runtime, 0, (error) => { throw error })
    committer.commit({ sequence: 7, cursor: '7' })
    await committer.flush()
    committer.reset()
    await committer.flush()
    expect(await store.get('k')).toMatchObject({ sequence: 7 }) // nothing of the new history finished yet
    committer.commit({ sequence: 2, cursor: '2' })
    await committer.flush()
    committer.commit({ sequence: 3, cursor: '3' })
    committer.commit({ sequence: 1, cursor: '1' }) // below the new history's newest: ignored as usual
    await committer.flush()
    expect(calls).toEqual(['put 7', 'delete', 'put 2', 'put 3'])
    expect(await store.get('k')).toMatchObject({ sequence: 3, cursor: '3' })
  })
})

describe('the reset marker in the consumer queue', () => {
  it('is never collapsed with the positions before or after it, and waits behind the old events', () => {
    const seen: string[] = []
    const channel = new EventChannel(16, Number.POSITIVE_INFINITY, (marker) => seen.push(marker instanceof ResetMarker ? 'reset' : `position ${marker.sequence}`))
    const event = (sequence: number) => new DeliveredEvent('message', '', String(sequence), sequence, String(sequence), undefined, true)
    channel.push(event(1))
    channel.push(new PositionMarker(2, '2', undefined))
    channel.push(new ResetMarker(gone))
    channel.push(new PositionMarker(1, 'a', undefined))
    channel.push(new PositionMarker(2, 'b', undefined)) // collapses with the one before: both after the reset
    channel.push(event(3))
    expect(channel.shift()?.sequence).toBe(1)
    expect(seen).toEqual([])
    expect(channel.shift()?.sequence).toBe(3)
    expect(seen).toEqual(['position 2', 'reset', 'position 2'])
  })
})
