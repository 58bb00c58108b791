import { ConfigError } from '../errors.js'

/**
 * Throws a `ConfigError` unless `value` is an object with these methods: a missing or misspelt
 * binding (`env.CHECKPIONTS` is `undefined`) must fail where it is made, with a message that says so,
 * not as a `TypeError` deep inside the first read.
 */
export function checkBinding(value: unknown, what: string, methods: readonly string[]): void {
  const missing = methods.filter((m) => typeof (value as Record<string, unknown> | null)?.[m] !== 'function')
  if (missing.length > 0) {
    throw new ConfigError(
      `Expected ${what}, got ${typeof value === 'object' && value !== null ? `an object without ${missing.join('/')}` : String(value)}: check the binding's name`,
    )
  }
}
