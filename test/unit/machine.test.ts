import { describe, expect, it } from 'vitest'
import { HttpError } from '../../src/errors.js'
import { type Input, initialState, type MachineConfig, type MachineState, step } from '../../src/supervisor/machine.js'
import { machineConfig } from '../support/machine.js'

const config: MachineConfig = machineConfig()

/** An input whose timestamp the test may leave out: `run` then supplies a clock 2 s per input. */
type Loose<T> = T extends { at: number } ? Omit<T, 'at'> & { at?: number } : T
type TestInput = Loose<Input>
const at = (input: TestInput, now: number): Input => ('at' in input || !['opened', 'ended', 'server-closing'].includes(input.type) ? input : { ...input, at: now }) as Input

/** Runs inputs from the initial state; `unit` is the random draw given to every step. */
function run(inputs: TestInput[], cfg: MachineConfig = config, unit = 0.5) {
  let state = initialState()
  const commands = []
  let now = 0
  for (const input of inputs) {
    const t = step(state, at(input, (now += 2000)), cfg, unit)
    state = t.state
    commands.push(t.command)
  }
  return { state, commands, last: commands[commands.length - 1] }
}

const http = (status: number, retryAfter?: number): TestInput => ({ type: 'http', error: new HttpError(status, '', undefined), retryAfter })
const open: TestInput[] = [{ type: 'start' }, { type: 'opened' }]

describe('state machine: connecting and opening', () => {
  it('start connects', () => {
    const r = run([{ type: 'start' }])
    expect(r.state.status).toBe('connecting')
    expect(r.last).toEqual({ type: 'connect' })
  })
  it('opened is status open and keeps the connection running', () => {
    const r = run(open)
    expect(r.state.status).toBe('open')
    expect(r.last).toEqual({ type: 'none' })
    expect(r.state.reconnects).toBe(0)
  })
  it('counts a reconnect only when a later connection opens', () => {
    const r = run([...open, { type: 'ended', reason: 'eof' }, { type: 'waited' }, { type: 'opened' }])
    expect(r.state.reconnects).toBe(1)
  })
  it('records the server retry: field as the new base delay', () => {
    const r = run([...open, { type: 'retry-hint', ms: 4000 }, { type: 'ended', reason: 'eof' }], config, 0.5)
    expect(r.state.retryBase).toBe(4000)
    expect(r.last).toEqual({ type: 'wait', ms: 2000 })
  })
})

describe('state machine: the server retry: field', () => {
  it('retry: 0 makes the first retry immediate but later failures still grow from our base', () => {
    let state = step(initialState(), { type: 'start' }, config, 0.999).state
    state = step(state, { type: 'retry-hint', ms: 0 }, config, 0.999).state
    const delays: number[] = []
    for (let i = 0; i < 4; i++) {
      const t = step(state, { type: 'ended', reason: 'transport', at: 0 }, config, 0.999)
      if (t.command.type === 'wait') delays.push(t.command.ms)
      state = step(t.state, { type: 'waited' }, config, 0.999).state
    }
    expect(delays).toEqual([0, 499, 999, 1998])
  })
})

describe('state machine: a retry: above maxDelay, and 408 (supervisor review)', () => {
  // Both failed before: the retry: window was capped at maxDelay, and 408 was fatal.
  it('a retry: above maxDelay is the window, capped at maxRetryAfter; later windows stay at least that', () => {
    const delays = (hint: number, cfg: MachineConfig) => {
      let state = step(initialState(), { type: 'start' }, cfg, 0.999).state
      state = step(state, { type: 'retry-hint', ms: hint }, cfg, 0.999).state
      const out: number[] = []
      for (let i = 0; i < 3; i++) {
        const t = step(state, { type: 'ended', reason: 'transport', at: 0 }, cfg, 0.999)
        if (t.command.type === 'wait') out.push(t.command.ms)
        state = step(t.state, { type: 'waited' }, cfg, 0.999).state
      }
      return out
    }
    expect(delays(60_000, machineConfig({ jitter: false }))).toEqual([60_000, 60_000, 60_000])
    expect(delays(900_000, machineConfig({ jitter: false, maxRetryAfter: 40_000 }))).toEqual([40_000, 40_000, 40_000])
    expect(delays(5_000, machineConfig({ jitter: false }))).toEqual([5_000, 10_000, 20_000])
  })
  it('408 backs off like a 5xx; 400 and 425 are fatal', () => {
    expect(run([{ type: 'start' }, http(408)]).state).toMatchObject({ status: 'backoff', reason: 'http', attempt: 1 })
    for (const status of [400, 425]) expect(run([{ type: 'start' }, http(status)]).state).toMatchObject({ status: 'closed', reason: 'error' })
  })
})

describe('state machine: connection endings', () => {
  for (const reason of ['eof', 'transport', 'starved'] as const) {
    it(`${reason} backs off with full jitter and remembers why`, () => {
      const r = run([...open, { type: 'ended', reason }], config, 0.5)
      expect(r.state.status).toBe('backoff')
      expect(r.state.reason).toBe(reason)
      expect(r.last).toEqual({ type: 'wait', ms: 125 })
      expect(r.state.attempt).toBe(1)
    })
  }
  it('the window doubles per failure and is capped at maxDelay', () => {
    const fails: TestInput[] = []
    for (let i = 0; i < 12; i++) fails.push({ type: 'ended', reason: 'transport' }, { type: 'waited' })
    let state = initialState()
    const delays: number[] = []
    for (const input of [{ type: 'start' } as TestInput, ...fails]) {
      const t = step(state, at(input, 0), config, 0.999999)
      state = t.state
      if (t.command.type === 'wait') delays.push(t.command.ms)
    }
    expect(delays.slice(0, 4)).toEqual([249, 499, 999, 1999])
    expect(Math.max(...delays)).toBe(29_999)
  })
  it('full jitter: unit 0 reconnects at once, the delay is never negative', () => {
    const r = run([...open, { type: 'ended', reason: 'transport' }], config, 0)
    expect(r.last).toEqual({ type: 'wait', ms: 0 })
  })
  it('an event delivered resets the attempt counter', () => {
    const r = run([{ type: 'start' }, { type: 'ended', reason: 'transport' }, { type: 'waited' }, { type: 'ended', reason: 'transport' }, { type: 'waited' }, { type: 'opened' }, { type: 'progress' }, { type: 'ended', reason: 'eof' }], config, 0.999999)
    expect(r.last).toEqual({ type: 'wait', ms: 249 })
  })
  it('waited in backoff connects; a stale waited elsewhere is ignored', () => {
    expect(run([...open, { type: 'ended', reason: 'eof' }, { type: 'waited' }]).last).toEqual({ type: 'connect' })
    const stale = run([...open, { type: 'waited' }])
    expect(stale.state.status).toBe('open')
    expect(stale.last).toEqual({ type: 'none' })
  })
  it('maxRetries: gives up with retries-exhausted after that many failures in a row', () => {
    const cfg = { ...config, maxRetries: 2 }
    const r = run([{ type: 'start' }, { type: 'ended', reason: 'transport' }, { type: 'waited' }, { type: 'ended', reason: 'transport' }, { type: 'waited' }, { type: 'ended', reason: 'transport' }], cfg)
    expect(r.state.status).toBe('closed')
    expect(r.state.error?.code).toBe('retries-exhausted')
    expect(r.last).toEqual({ type: 'stop' })
  })
  it('replay mode: finished closes cleanly with the reason it ended (up-to-date or stream-closed)', () => {
    const r = run([...open, { type: 'finished', reason: 'up-to-date' }], { ...config, mode: 'replay' })
    expect(r.state).toMatchObject({ status: 'closed', reason: 'up-to-date' })
    expect(r.state.error).toBeUndefined()
    expect(run([...open, { type: 'finished', reason: 'stream-closed' }]).state).toMatchObject({ status: 'closed', reason: 'stream-closed' })
  })
  it('a quiet connection that lasted, closed by the server, is routine: no failure counted, no backoff', () => {
    const r = run([...open, { type: 'server-closing', reconnect: 0 }, { type: 'opened' }, { type: 'server-closing', reconnect: 0 }])
    expect(r.commands.map((c) => c.type)).toEqual(['connect', 'none', 'connect', 'none', 'connect'])
    expect(r.state.attempt).toBe(0)
  })
  it('server-closing after a healthy connection: immediate reconnect, a delay, or done', () => {
    expect(run([...open, { type: 'progress' }, { type: 'server-closing', reconnect: 0 }]).last).toEqual({ type: 'connect' })
    const later = run([...open, { type: 'progress' }, { type: 'server-closing', reconnect: 5000 }])
    expect(later.last).toEqual({ type: 'wait', ms: 5000 })
    expect(later.state.reason).toBe('server-closing')
    expect(run([...open, { type: 'progress' }, { type: 'server-closing', reconnect: 'stream-closed' }]).state).toMatchObject({ status: 'closed', reason: 'stream-closed' })
  })
})

// Regression (issue 10, "Request rate a server can drive"): each of these let a server drive hundreds
// of requests per second.
describe('state machine: no server input drives a reconnect loop', () => {
  const delays = (r: { commands: Array<{ type: string; ms?: number }> }) => r.commands.filter((c) => c.type === 'wait').map((c) => c.ms)
  it('503 with Retry-After: 0 is honoured once; from the second failure in a row the jittered backoff is the floor', () => {
    const r = run([{ type: 'start' }, http(503, 0), { type: 'waited' }, http(503, 0), { type: 'waited' }, http(503, 0), { type: 'waited' }, http(429, 0)], config, 0.999)
    expect(delays(r)).toEqual([0, 499, 999, 1998])
  })
  it('a Retry-After longer than the backoff still wins', () => {
    const r = run([{ type: 'start' }, http(503, 0), { type: 'waited' }, http(503, 60_000)], config, 0.999)
    expect(delays(r)).toEqual([0, 60_000])
  })
  it('retry: 0 plus one id-less event per connection: a connection that ends right after opening does not reset the counter', () => {
    const inputs: TestInput[] = [{ type: 'start' }, { type: 'retry-hint', ms: 0 }]
    for (let i = 0; i < 4; i++) inputs.push({ type: 'opened', at: i * 10 }, { type: 'progress' }, { type: 'ended', reason: 'eof', at: i * 10 + 5 }, { type: 'waited' })
    const r = run(inputs, config, 0.999)
    expect(delays(r)).toEqual([0, 499, 999, 1998])
    expect(r.state.attempt).toBe(4)
  })
  // Changed by the supervisor review: "however long it lasted" penalised quiet feeds whose idle
  // connections a proxy cuts (every cut a failure, fatal under maxRetries). Open at least maxDelay, a
  // connection ends the streak: one reconnect per such connection is no faster than the slowest backoff.
  it('a connection that only repeated what we had (no progress) does not reset the counter unless it lasted maxDelay', () => {
    const lasting = (ms: number): TestInput[] => [{ type: 'start' }, { type: 'ended', reason: 'transport' }, { type: 'waited' }, { type: 'opened', at: 0 }, { type: 'ended', reason: 'eof', at: ms }]
    expect(run(lasting(29_999), config, 0.999).state.attempt).toBe(2)
    expect(run(lasting(30_000), config, 0.999).state.attempt).toBe(1)
    expect(run(lasting(600_000), config, 0.999).state.attempt).toBe(1)
    // Dropped for silence (heartbeatTimeout) is a failure however long it was open.
    const starved: TestInput[] = [{ type: 'start' }, { type: 'ended', reason: 'transport' }, { type: 'waited' }, { type: 'opened', at: 0 }, { type: 'ended', reason: 'starved', at: 600_000 }]
    expect(run(starved, config, 0.999).state.attempt).toBe(2)
  })
  it('a healthy feed that delivers for a while and closes is not penalised', () => {
    const inputs: TestInput[] = [{ type: 'start' }]
    for (let i = 0; i < 4; i++) inputs.push({ type: 'opened', at: i * 10_000 }, { type: 'progress' }, { type: 'ended', reason: 'eof', at: i * 10_000 + 1000 }, { type: 'waited' })
    const r = run(inputs, config, 0.999)
    expect(delays(r)).toEqual([249, 249, 249, 249])
  })
  it('401/200 alternating: refreshAuth runs once per failure streak, then the 401 is fatal', () => {
    const r = run([{ type: 'start' }, http(401), { type: 'auth-refreshed' }, { type: 'opened', at: 0 }, { type: 'progress' }, { type: 'ended', reason: 'eof', at: 5 }, { type: 'waited' }, http(401)])
    expect(r.commands.filter((c) => c.type === 'refresh-auth')).toHaveLength(1)
    expect(r.state).toMatchObject({ status: 'closed', error: { code: 'auth' } })
  })
  it('a short connection after the refresh that brought a new position proves the credentials: a later 401 refreshes again, paced by the backoff', () => {
    const cycle: TestInput[] = [http(401), { type: 'auth-refreshed' }, { type: 'opened', at: 0 }, { type: 'progress', positioned: true }, { type: 'ended', reason: 'eof', at: 5 }, { type: 'waited' }]
    const r = run([{ type: 'start' }, ...cycle, ...cycle, http(401)], config, 0.999)
    expect(r.commands.filter((c) => c.type === 'refresh-auth')).toHaveLength(3)
    // The connections were not healthy (they ended at once), so the failures still add up.
    expect(r.commands.filter((c) => c.type === 'wait').map((c) => (c as { ms: number }).ms)).toEqual([249, 499])
  })
  it("the server's immediate reconnect is followed by backoff when the next connection makes no progress", () => {
    const r = run(
      [
        ...open,
        { type: 'progress' },
        { type: 'server-closing', reconnect: 0 },
        { type: 'opened', at: 100_000 },
        { type: 'server-closing', reconnect: 0, at: 100_005 },
        { type: 'waited' },
        { type: 'opened', at: 200_000 },
        { type: 'server-closing', reconnect: 0, at: 200_005 },
      ],
      config,
      0.999,
    )
    expect(r.commands.slice(3).map((c) => c.type)).toEqual(['connect', 'none', 'wait', 'connect', 'none', 'wait'])
    expect(delays(r)).toEqual([499, 999])
  })
})

describe('state machine: errors keep why', () => {
  it('backoff carries the failure; retries-exhausted has it as cause and counts every failed attempt', () => {
    const network = new TypeError('fetch failed')
    const backoff = run([{ type: 'start' }, { type: 'ended', reason: 'transport', error: network }])
    expect(backoff.state).toMatchObject({ status: 'backoff', cause: network })
    const r = run([{ type: 'start' }, { type: 'ended', reason: 'transport' }, { type: 'waited' }, http(503)], { ...config, maxRetries: 1 })
    expect(r.state.error).toMatchObject({ code: 'retries-exhausted', message: 'Gave up after 2 failed attempt(s) in a row (last: http)', cause: { status: 503 } })
    const none = run([{ type: 'start' }, { type: 'ended', reason: 'transport', error: network }], { ...config, maxRetries: 0 })
    expect(none.state.error?.message).toBe('Gave up after 1 failed attempt(s) in a row (last: transport)')
    expect(none.state.error?.cause).toBe(network)
  })
})

describe('state machine: HTTP status classification', () => {
  for (const status of [500, 502, 504, 599]) {
    it(`${status} retries with backoff`, () => {
      const r = run([{ type: 'start' }, http(status, 9000)], config, 0.5)
      expect(r.state.status).toBe('backoff')
      expect(r.last).toEqual({ type: 'wait', ms: 125 }) // Retry-After only counts for 429/503
    })
  }
  for (const status of [429, 503]) {
    it(`${status} honours Retry-After`, () => {
      expect(run([{ type: 'start' }, http(status, 7000)]).last).toEqual({ type: 'wait', ms: 7000 })
    })
    it(`${status} caps Retry-After at maxRetryAfter`, () => {
      expect(run([{ type: 'start' }, http(status, 10_000_000)]).last).toEqual({ type: 'wait', ms: 300_000 })
    })
    it(`${status} without Retry-After uses the jittered backoff`, () => {
      expect(run([{ type: 'start' }, http(status)], config, 0.5).last).toEqual({ type: 'wait', ms: 125 })
    })
  }
  for (const status of [204, 301, 400, 403, 404, 405, 410, 418, 422]) {
    it(`${status} is fatal and keeps the HttpError`, () => {
      const r = run([{ type: 'start' }, http(status)])
      expect(r.state.status).toBe('closed')
      expect(r.state.error).toMatchObject({ code: 'http', status })
      expect(r.last).toEqual({ type: 'stop' })
    })
  }
  it('401 refreshes auth once, then reconnects at once', () => {
    const r = run([{ type: 'start' }, http(401)])
    expect(r.state.status).toBe('refreshing-auth')
    expect(r.last).toEqual({ type: 'refresh-auth', status: 401 })
    const after = run([{ type: 'start' }, http(401), { type: 'auth-refreshed' }])
    expect(after.last).toEqual({ type: 'connect' })
  })
  it('a second 401 after the refresh is fatal with code auth', () => {
    const r = run([{ type: 'start' }, http(401), { type: 'auth-refreshed' }, http(401)])
    expect(r.state.status).toBe('closed')
    expect(r.state.error).toMatchObject({ code: 'auth', status: 401 })
  })
  it('401 without refreshAuth is fatal at once', () => {
    const r = run([{ type: 'start' }, http(401)], { ...config, canRefreshAuth: false })
    expect(r.state.error?.code).toBe('auth')
  })
  it('a connection that delivered events earns a fresh refresh for a later 401', () => {
    const r = run([{ type: 'start' }, http(401), { type: 'auth-refreshed' }, { type: 'opened' }, { type: 'progress' }, { type: 'ended', reason: 'eof' }, { type: 'waited' }, http(401)])
    expect(r.state.status).toBe('refreshing-auth')
  })
})

describe('state machine: fatal, abort and closed', () => {
  it('failed closes with the error', () => {
    const error = new HttpError(400, '', undefined)
    const r = run([...open, { type: 'failed', error }])
    expect(r.state).toMatchObject({ status: 'closed', reason: 'error' })
    expect(r.state.error).toBe(error)
  })
  const phases: Array<[string, TestInput[]]> = [
    ['connecting', [{ type: 'start' }]],
    ['open', open],
    ['backoff', [...open, { type: 'ended', reason: 'eof' }]],
    ['refreshing-auth', [{ type: 'start' }, http(401)]],
  ]
  for (const [name, inputs] of phases) {
    it(`abort in ${name} closes with reason aborted and stops`, () => {
      const r = run([...inputs, { type: 'abort' }])
      expect(r.state).toMatchObject({ status: 'closed', reason: 'aborted' })
      expect(r.last).toEqual({ type: 'stop' })
    })
  }
  it('closed absorbs every input', () => {
    const closed = run([...open, { type: 'abort' }]).state
    const all: TestInput[] = [{ type: 'start' }, { type: 'opened' }, { type: 'waited' }, { type: 'ended', reason: 'eof' }, http(503), { type: 'online' }, { type: 'visible' }, { type: 'auth-refreshed' }]
    for (const input of all) {
      const t = step(closed, at(input, 0), config, 0.5)
      expect(t.state).toBe(closed)
      expect(t.command).toEqual({ type: 'none' })
    }
  })
})

describe('state machine: browser life', () => {
  it('offline while open changes nothing until the connection fails, then parks without a timer', () => {
    const r = run([...open, { type: 'offline' }])
    expect(r.state.status).toBe('open')
    const failed = run([...open, { type: 'offline' }, { type: 'ended', reason: 'transport' }])
    expect(failed.state).toMatchObject({ status: 'backoff', reason: 'offline' })
    expect(failed.last).toEqual({ type: 'wait', ms: Number.POSITIVE_INFINITY })
  })
  it('online while parked or backing off reconnects at once', () => {
    expect(run([...open, { type: 'offline' }, { type: 'ended', reason: 'transport' }, { type: 'online' }]).last).toEqual({ type: 'connect' })
    expect(run([...open, { type: 'ended', reason: 'transport' }, { type: 'online' }]).last).toEqual({ type: 'connect' })
  })
  it('offline does not spend retries: maxRetries is not reached while parked', () => {
    const r = run([...open, { type: 'offline' }, { type: 'ended', reason: 'transport' }, { type: 'online' }], { ...config, maxRetries: 1 })
    expect(r.state.status).toBe('connecting')
  })
  it('hidden is ignored by default', () => {
    const r = run([...open, { type: 'hidden' }])
    expect(r.state.status).toBe('open')
    expect(r.last).toEqual({ type: 'none' })
  })
  it('pauseWhenHidden: hidden drops the connection, visible reconnects', () => {
    const cfg = { ...config, pauseWhenHidden: true }
    const hidden = run([...open, { type: 'hidden' }], cfg)
    expect(hidden.state).toMatchObject({ status: 'backoff', reason: 'hidden' })
    expect(hidden.last).toEqual({ type: 'wait', ms: Number.POSITIVE_INFINITY })
    expect(run([...open, { type: 'hidden' }, { type: 'visible' }], cfg).last).toEqual({ type: 'connect' })
  })
  it('pauseWhenHidden: starting hidden waits for visible', () => {
    const cfg = { ...config, pauseWhenHidden: true }
    const r = run([{ type: 'hidden' }, { type: 'start' }], cfg)
    expect(r.state).toMatchObject({ status: 'backoff', reason: 'hidden' })
  })
})

describe('state machine: purity', () => {
  it('never mutates the state it is given', () => {
    const state: MachineState = Object.freeze(initialState())
    expect(() => step(state, { type: 'start' }, config, 0.3)).not.toThrow()
  })
})
