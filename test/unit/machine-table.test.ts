import { expect, it } from 'vitest'
import { HttpError, ResumableSSEError } from '../../src/errors.js'
import { type Input, initialState, type MachineConfig, type MachineState, step } from '../../src/supervisor/machine.js'
import { machineConfig } from '../support/machine.js'

/**
 * The machine's decision table, generated: every (status, input) pair from representative states and
 * the (status, reason, command) it leads to, in one reviewed file. A change to any decision shows up
 * as a diff of machine-table.txt (regenerate with `npx vitest run -u test/unit/machine-table.test.ts`).
 */
const config: MachineConfig = machineConfig({ pauseWhenHidden: true })
const UNIT = 0.5
const http = (status: number, retryAfter?: number): Input => ({ type: 'http', error: new HttpError(status, '', undefined), retryAfter })

function after(inputs: Input[]): MachineState {
  return inputs.reduce((state, input) => step(state, input, config, UNIT).state, initialState())
}
const started: Input[] = [{ type: 'start' }]
const opened: Input[] = [...started, { type: 'opened', at: 0 }]

const states: Array<[string, MachineState]> = [
  ['connecting (first)', after(started)],
  ['connecting (2nd failure in a row next)', after([...started, http(503), { type: 'waited' }])],
  ['open (nothing new yet)', after(opened)],
  ['open (delivered)', after([...opened, { type: 'progress' }])],
  ['backoff (eof)', after([...opened, { type: 'ended', reason: 'eof', at: 10 }])],
  ['backoff (offline)', after([{ type: 'offline' }, ...opened, { type: 'ended', reason: 'transport', at: 10 }])],
  ['backoff (hidden)', after([{ type: 'hidden' }, ...started])],
  ['refreshing-auth', after([...started, http(401)])],
  ['refreshing-auth (already refreshed)', after([...started, http(401), { type: 'auth-refreshed' }, http(401)])],
  ['closed', after([...started, { type: 'abort' }])],
]

const inputs: Input[] = [
  { type: 'start' },
  { type: 'opened', at: 5000 },
  { type: 'progress' },
  { type: 'retry-hint', ms: 0 },
  { type: 'ended', reason: 'eof', at: 5000 },
  { type: 'ended', reason: 'transport', at: 5000 },
  { type: 'ended', reason: 'starved', at: 5000 },
  { type: 'ended', reason: 'request', at: 5000 },
  { type: 'server-closing', reconnect: 0, at: 5000 },
  { type: 'server-closing', reconnect: 3000, at: 5000 },
  { type: 'server-closing', reconnect: 'stream-closed', at: 5000 },
  { type: 'finished', reason: 'up-to-date' },
  { type: 'finished', reason: 'stream-closed' },
  http(500),
  http(503, 0),
  http(429, 7000),
  http(401),
  http(404),
  { type: 'auth-refreshed' },
  { type: 'failed', error: new ResumableSSEError('protocol', 'bad frame') },
  { type: 'waited' },
  { type: 'abort' },
  { type: 'offline' },
  { type: 'online' },
  { type: 'hidden' },
  { type: 'visible' },
]

function describeInput(input: Input): string {
  const { type, ...rest } = input as Input & Record<string, unknown>
  const fields = Object.entries(rest)
    .filter(([key]) => key !== 'at')
    .map(([key, value]) => (value instanceof HttpError ? String(value.status) : value instanceof ResumableSSEError ? value.code : `${key}=${String(value)}`))
  return fields.length ? `${type}(${fields.join(', ')})` : type
}

function describeState(state: MachineState): string {
  const parts = [state.status, state.reason && `reason=${state.reason}`, `attempt=${state.attempt}`, state.error && `error=${state.error.code}`]
  return parts.filter(Boolean).join(' ')
}

it('the decision table (status × input → status, command)', async () => {
  const lines: string[] = []
  for (const [name, state] of states) {
    lines.push(`## ${name}: ${describeState(state)}`)
    for (const input of inputs) {
      const { state: next, command } = step(state, input, config, UNIT)
      const what = command.type === 'wait' ? `wait ${command.ms}` : command.type === 'refresh-auth' ? `refresh-auth ${command.status}` : command.type
      lines.push(`${describeInput(input).padEnd(34)} → ${what.padEnd(14)} ${describeState(next)}`)
    }
    lines.push('')
  }
  await expect(lines.join('\n')).toMatchFileSnapshot('./__snapshots__/machine-table.txt')
})
