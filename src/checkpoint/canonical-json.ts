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
  if (typeof value === 'object' && value !== null && typeof (value as { toJSON?: unknown }).toJSON === 'function') {
    value = (value as { toJSON(key: string): unknown }).toJSON(key)
  }
  if (value instanceof Number || value instanceof String || value instanceof Boolean) value = value.valueOf()

  switch (typeof value) {
    case 'string':
      return JSON.stringify(value)
    case 'boolean':
      return value ? 'true' : 'false'
    case 'number':
      if (!Number.isFinite(value)) fail(path, `${String(value)} is not a finite number`)
      return JSON.stringify(value)
    case 'bigint':
      return fail(path, `a bigint (${String(value)}n) has no JSON form`)
    case 'function':
    case 'symbol':
      return fail(path, `a ${typeof value} has no JSON form`)
    case 'undefined':
      return fail(path, 'undefined has no JSON form')
  }
  if (value === null) return 'null'

  const object = value as object
  if (ancestors.has(object)) fail(path, 'it contains itself (a cycle)')
  ancestors.add(object)
  let out: string
  if (Array.isArray(object)) {
    const items = object.map((item: unknown, index) =>
      item === undefined ? 'null' : encode(item, `${path}[${index}]`, String(index), ancestors),
    )
    out = `[${items.join(',')}]`
  } else {
    const record = object as Record<string, unknown>
    const members: string[] = []
    // Array#sort without a comparator orders by UTF-16 code units, which is exactly JCS §3.2.3.
    for (const name of Object.keys(record).sort()) {
      if (record[name] === undefined) continue
      members.push(`${JSON.stringify(name)}:${encode(record[name], memberPath(path, name), name, ancestors)}`)
    }
    out = `{${members.join(',')}}`
  }
  // Only ancestors count as cycles: the same object twice side by side is fine, as in JSON.stringify.
  ancestors.delete(object)
  return out
}

function memberPath(path: string, name: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(name) ? `${path}.${name}` : `${path}[${JSON.stringify(name)}]`
}

function fail(path: string, reason: string): never {
  throw new ConfigError(`\`${path}\` cannot be encoded as JSON: ${reason}`)
}
