import { ConfigError } from '../errors.js'

/**
 * Throws a `ConfigError` unless `value` has these methods: a missing or misspelt binding
 * (`env.CHECKPIONTS` is `undefined`) must fail where it is made, with a message that says so, not as
 * a `TypeError` deep inside the first read.
 */
export function checkBinding(value: unknown, what: string, methods: readonly string[]): void {
  for (const method of methods) {
    if (typeof (value as Record<string, unknown> | null)?.[method] !== 'function') {
      throw new ConfigError(`Expected ${what}, got ${value && typeof value === 'object' ? `one without ${method}()` : String(value)}: check the binding's name`)
    }
  }
}

/**
 * The `prefix` option of the prefixed stores: a non-empty string, `'resumable-sse:'` when not given.
 * Empty, `clear()` would delete every entry of the origin, namespace or object, the application's too.
 */
export function prefixOption(prefix: unknown = 'resumable-sse:'): string {
  if (typeof prefix !== 'string' || !prefix) throw new ConfigError(`Expected \`prefix\` to be a non-empty string, got ${typeof prefix === 'string' ? "''" : String(prefix)}`)
  return prefix
}
