import { ConfigError } from '../errors.js'

/**
 * Canonical JSON per RFC 8785 (JCS): object members sorted by the UTF-16 code units of their names,
 * recursively; arrays in order; strings and numbers exactly as ECMAScript `JSON.stringify` writes
 * them (JCS §3.2.2 defines its number and string forms as ES's, so the engine does that part).
 *
 * Written here rather than taken from npm: the `canonicalize` package (the usual choice) is ESM-only
 * in its current major, relies on ES2024 `String#isWellFormed`, and silently drops functions and
 * symbols the way `JSON.stringify` does. A resume key must not quietly ignore part of a body, and we
 * want a `ConfigError` naming the offending path, so the ~40 lines live here.
 *
 * Deliberate `JSON.stringify` compatibility, because the key should describe what goes on the wire:
 * `undefined` members are omitted (and `undefined` array items become `null`), `toJSON()` is honoured
 * (a `Date` encodes as its ISO string), boxed primitives unwrap, `-0` is `0`.
 * Rejected with a `ConfigError`: non-finite numbers, bigints, functions, symbols, cycles.
 */
export function canonicalJson(value: unknown, name = 'value'): string {
  return encode(value, name, '', new Set())
}

function encode(input: unknown, path: string, key: string, ancestors: Set<object>): string {
  let value = input
  // Only an object's toJSON is called (`null?.` finds none): a bigint is an error even with one.
  if (typeof value === 'object' && typeof (value as { toJSON?: unknown } | null)?.toJSON === 'function') {
    value = (value as { toJSON(key: string): unknown }).toJSON(key)
  }
  if (value instanceof Number || value instanceof String || value instanceof Boolean) value = value.valueOf()
  const type = typeof value
  if (type === 'number' && !Number.isFinite(value)) fail(path, `${value} is not a finite number`)
  // Strings, finite numbers, booleans and null are written exactly as ES writes them (see above).
  if (type === 'string' || type === 'number' || type === 'boolean' || value === null) return JSON.stringify(value)
  if (type !== 'object') fail(path, `${type === 'undefined' ? type : `a ${type}${type === 'bigint' ? ` (${value}n)` : ''}`} has no JSON form`)

  const object = value as Record<string, unknown>
  if (ancestors.has(object)) fail(path, 'it contains itself (a cycle)')
  ancestors.add(object)
  // An array's items join with commas in a template; an `undefined` item is `null`, as in JSON.stringify.
  // Array.from, not map: map skips holes, which would leave `[1,,2]`; a hole is `undefined` here.
  const out = Array.isArray(object)
    ? `[${Array.from(object, (item: unknown, index) => (item === undefined ? 'null' : encode(item, `${path}[${index}]`, String(index), ancestors)))}]`
    : // Array#sort without a comparator orders by UTF-16 code units, which is exactly JCS §3.2.3.
      `{${Object.keys(object)
        .sort()
        .flatMap((name) =>
          object[name] === undefined
            ? []
            : `${JSON.stringify(name)}:${encode(object[name], /^[A-Za-z_$][\w$]*$/.test(name) ? `${path}.${name}` : `${path}[${JSON.stringify(name)}]`, name, ancestors)}`,
        )}}`
  // Only ancestors count as cycles: the same object twice side by side is fine, as in JSON.stringify.
  ancestors.delete(object)
  return out
}

function fail(path: string, reason: string): never {
  throw new ConfigError(`\`${path}\` cannot be encoded as JSON: ${reason}`)
}
