import type { Checkpoint } from '../checkpoint/contract.js'
import { ConfigError, ProtocolError } from '../errors.js'
import type { DialectSink } from './dialect.js'

// What the server-specific dialects (aviso, Durable Streams, Mercure) share. The core's default dialect
// (last-event-id) does not import it, so a plain `import { subscribe }` never pays for it.

/** A dialect factory's options must be an object; anything else fails where the dialect is made. */
export function optionsObject<T>(options: T, dialect: string): T {
  if (typeof options !== 'object' || options === null) throw new ConfigError(`Expected \`${dialect}()\` to be given an options object`)
  return options
}

/**
 * A `restart` hook: the new history starts at `cursor`, numbered on from the last sequence received
 * (so the supervisor's sequence rules still hold across the restart).
 */
export const restartAt =
  (cursor: string) =>
  (last: Checkpoint | undefined): Checkpoint => ({ sequence: last?.sequence ?? 0, cursor })

/**
 * The frame's data as a JSON object (not an array), or `undefined` after failing the connection with
 * a ProtocolError that says which frame (`what`) was malformed.
 */
export function jsonObject(data: string, what: string, sink: DialectSink): Record<string, unknown> | undefined {
  let value: unknown
  try {
    value = JSON.parse(data)
  } catch (error) {
    sink.fail(new ProtocolError(`${what} is not JSON`, { cause: error }))
    return undefined
  }
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Record<string, unknown>
  sink.fail(new ProtocolError(`${what} is not a JSON object`))
  return undefined
}
