import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it, onTestFinished, vi } from 'vitest'
import { OPTIONS, resolveConfig } from '../../src/config.js'
import { ConfigError, type SubscribeOptions, subscribe } from '../../src/index.js'

const root = join(import.meta.dirname, '..', '..')
const URL_ = 'http://127.0.0.1:9/feed'

function refused(options: object): string {
  try {
    subscribe(options as SubscribeOptions)
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError)
    return (error as Error).message
  }
  throw new Error(`accepted ${JSON.stringify(options)}`)
}

describe('unknown option names', () => {
  it('a typo at the top level is a ConfigError naming the option it was meant as', () => {
    expect(refused({ url: URL_, heartbeatTimout: 5000 })).toBe('Unknown option `heartbeatTimout`: did you mean `heartbeatTimeout`?')
    expect(refused({ url: URL_, comitInterval: 10 })).toBe('Unknown option `comitInterval`: did you mean `commitInterval`?')
    expect(refused({ url: URL_, strictgaps: true })).toBe('Unknown option `strictgaps`: did you mean `strictGaps`?')
    expect(refused({ url: URL_, maxEventSzie: 10 })).toBe('Unknown option `maxEventSzie`: did you mean `maxEventSize`?')
  })

  it('a typo inside `backoff` names the nested option', () => {
    expect(refused({ url: URL_, backoff: { maxDelai: 10 } })).toBe('Unknown option `backoff.maxDelai`: did you mean `backoff.maxDelay`?')
    expect(refused({ url: URL_, backoff: { retries: 3 } })).toBe('Unknown option `backoff.retries`')
  })

  it('a top-level option put inside `backoff` points to the top level', () => {
    expect(refused({ url: URL_, backoff: { maxRetries: 3 } })).toBe('Unknown option `backoff.maxRetries`: did you mean `maxRetries`?')
  })

  it('a name with nothing close (an option of a newer version) is refused without a guess', () => {
    expect(refused({ url: URL_, reconnectStrategy: 'smart' })).toBe('Unknown option `reconnectStrategy`')
  })

  it('an unknown name left undefined changes nothing and is accepted (a wrapper passing its own fields through)', () => {
    expect(() => resolveConfig({ url: URL_, heartbeatTimout: undefined } as SubscribeOptions)).not.toThrow()
  })

  it('`runtime.fetch` is gone: the error says to pass `fetch`', () => {
    expect(refused({ url: URL_, runtime: { fetch: globalThis.fetch } })).toBe('Unknown option `runtime.fetch`: did you mean `fetch`?')
  })

  it('`fetch` is the way to inject fetch, and `runtime` still injects timers, clock and randomness', async () => {
    const seen: string[] = []
    const fetch = async (input: RequestInfo | URL) => {
      seen.push(input instanceof Request ? input.url : String(input))
      return new Response('data: a\n\n', { headers: { 'content-type': 'text/event-stream' } })
    }
    const config = resolveConfig({ url: URL_, fetch, runtime: { now: () => 42, random: () => 0.25 } })
    expect(config.runtime.now()).toBe(42)
    expect(config.runtime.random()).toBe(0.25)
    await config.runtime.fetch(URL_)
    expect(seen).toEqual([URL_])
  })
})

describe('option values', () => {
  it('without a global fetch, the error says to pass `fetch`', () => {
    vi.stubGlobal('fetch', undefined)
    onTestFinished(() => void vi.unstubAllGlobals())
    expect(refused({ url: URL_ })).toBe('Expected `fetch` to be passed: this runtime has no global fetch')
  })

  it('credentials, onCursorExpired and backoff.jitter are known, checked and reach the config', () => {
    const config = resolveConfig({ url: URL_, credentials: 'include', onCursorExpired: 'restart', backoff: { jitter: false } })
    expect(config.credentials).toBe('include')
    expect(config.onCursorExpired).toBe('restart')
    expect(config.backoff.jitter).toBe(false)
    const defaults = resolveConfig({ url: URL_ })
    expect([defaults.credentials, defaults.onCursorExpired, defaults.backoff.jitter]).toEqual([undefined, 'fail', true])
    expect(refused({ url: URL_, credentials: 'always' })).toBe('Expected `credentials` to be \'omit\', \'same-origin\' or \'include\', got "always"')
    expect(refused({ url: URL_, onCursorExpired: 'retry' })).toBe('Expected `onCursorExpired` to be \'fail\' or \'restart\', got "retry"')
    expect(refused({ url: URL_, backoff: { jitter: 'no' } })).toBe('Expected `backoff.jitter` to be true or false')
  })

  it('every message names the option the way it is written', () => {
    const cases: Array<[object, string]> = [
      [{}, 'Expected `url` to be an absolute URL string or a URL'],
      [{ url: URL_, method: 'GE T' }, 'Expected `method` to be an HTTP method, got "GE T"'],
      [{ url: URL_, headers: 'x' }, 'Expected `headers` to be a Headers init (object, array or Headers) or a function returning one'],
      [{ url: URL_, key: '' }, 'Expected `key` to be a non-empty string'],
      [{ url: URL_, fingerprint: 1 }, 'Expected `fingerprint` to be a string'],
      [{ url: URL_, dialect: {} }, 'Expected `dialect` to be a dialect object such as `lastEventId()`'],
      [{ url: URL_, signal: {} }, 'Expected `signal` to be an AbortSignal'],
      [{ url: URL_, backoff: 5 }, 'Expected `backoff` to be an object'],
      [{ url: URL_, backoff: { baseDelay: -1 } }, 'Expected `backoff.baseDelay` to be a non-negative number'],
      [{ url: URL_, backoff: { factor: -1 } }, 'Expected `backoff.factor` to be at least 1'],
      [{ url: URL_, maxRetries: '3' }, 'Expected `maxRetries` to be a non-negative integer or Infinity'],
      [{ url: URL_, heartbeatTimeout: Number.POSITIVE_INFINITY }, 'Expected `heartbeatTimeout` to be a positive number of milliseconds or false'],
      [{ url: URL_, highWaterMark: 1.5 }, 'Expected `highWaterMark` to be a positive integer'],
      [{ url: URL_, highWaterSize: 0 }, 'Expected `highWaterSize` to be a positive integer'],
      [{ url: URL_, flushTimeout: Number.NaN }, 'Expected `flushTimeout` to be a non-negative number'],
      [{ url: URL_, commitInterval: -5 }, 'Expected `commitInterval` to be a non-negative number'],
      [{ url: URL_, redirect: 'manual' }, 'Expected `redirect` to be \'same-origin\' or \'follow\', got "manual"'],
      [{ url: URL_, onStoreError: 'ignore' }, 'Expected `onStoreError` to be \'fail\' or \'report\', got "ignore"'],
      [{ url: URL_, strictGaps: 'yes' }, 'Expected `strictGaps` to be true or false'],
      [{ url: URL_, shareAcrossTabs: 1 }, 'Expected `shareAcrossTabs` to be true or false'],
      [{ url: URL_, onStatus: 'log' }, 'Expected `onStatus` to be a function'],
      [{ url: URL_, fetch: {} }, 'Expected `fetch` to be a function'],
      [{ url: URL_, runtime: { now: 5 } }, 'Expected `runtime.now` to be a function'],
      [{ url: 'http://user:secret@127.0.0.1:9/' }, '`url` must not contain credentials (http://127.0.0.1:9/): send them in `headers`'],
    ]
    for (const [options, message] of cases) expect(refused(options), JSON.stringify(options)).toBe(message)
  })
})

// ---- One source of truth: the README's options table and the `@default` tags follow the table ----

type Row = readonly [check: unknown, fallback?: unknown]
type Table = { readonly [name: string]: Row | Table }

/** How a plain default is written in the README and in `@default` tags. */
function written(value: unknown): string | undefined {
  if (typeof value === 'string') return `'${value}'`
  if (typeof value === 'number' || typeof value === 'boolean') return String(value)
  return undefined // computed or none: not a plain value the docs could copy
}

/** The README's options table: each name (a row may name several) with its default column. */
function readmeOptions(readme: string): Map<string, string> {
  const section = /\n### Options\n([\s\S]*?)\n### /.exec(readme)?.[1]
  if (!section) throw new Error('README has no "### Options" section')
  const rows = new Map<string, string>()
  for (const line of section.split('\n')) {
    const cells = /^\| (`[^|]*`) \| ([^|]*) \|/.exec(line)
    if (!cells) continue
    for (const name of cells[1]!.split(', ')) rows.set(name.replace(/`/g, ''), cells[2]!.trim().replace(/^`(.*)`$/, '$1'))
  }
  return rows
}

/** The members of one interface in types.ts with their `@default` tag's first word, if any. */
function typeDefaults(source: string, name: string): Map<string, string | undefined> {
  const body = new RegExp(`export interface ${name} \\{\\n([\\s\\S]*?)\\n\\}`).exec(source)?.[1]
  if (!body) throw new Error(`types.ts has no interface ${name}`)
  const members = new Map<string, string | undefined>()
  let doc = ''
  for (const line of body.split('\n')) {
    const member = /^ {2}(\w+)\??:/.exec(line)
    if (member) {
      members.set(member[1]!, /@default (\S+)/.exec(doc)?.[1])
      doc = ''
    } else doc += `${line}\n`
  }
  return members
}

/** Every way the README table and the types' `@default` tags disagree with the options table. */
function drift(table: Table, readme: string, types: string): string[] {
  const problems: string[] = []
  const documented = readmeOptions(readme)
  const declared = typeDefaults(types, 'SubscribeOptions')
  const nested: Record<string, Map<string, string | undefined>> = { backoff: typeDefaults(types, 'BackoffOptions'), runtime: typeDefaults(types, 'Runtime') }
  for (const name of documented.keys()) if (!(name in table)) problems.push(`README documents \`${name}\`, which is not an option`)
  for (const name of declared.keys()) if (!(name in table)) problems.push(`types.ts declares \`${name}\`, which is not in the table`)
  for (const [name, row] of Object.entries(table)) {
    const readmeDefault = documented.get(name)
    if (readmeDefault === undefined) problems.push(`README does not document \`${name}\``)
    if (!declared.has(name)) problems.push(`types.ts does not declare \`${name}\``)
    if (Array.isArray(row)) {
      const expected = written(row[1])
      if (expected === undefined) continue
      if (readmeDefault !== undefined && readmeDefault !== expected) problems.push(`README: \`${name}\` defaults to ${readmeDefault}, the table says ${expected}`)
      if (declared.has(name) && declared.get(name) !== expected) problems.push(`types.ts: \`${name}\` @default ${declared.get(name)}, the table says ${expected}`)
      continue
    }
    // A nested table (`backoff`, `runtime`): its members in their own interface; in the README, the
    // plain defaults as an object literal in the default column (`{ baseDelay: 250, … }`).
    const members = nested[name] ?? new Map()
    const readmeMembers = new Map([...(readmeDefault ?? '').matchAll(/(\w+): ([^,}]+)/g)].map((m) => [m[1]!, m[2]!.trim()]))
    for (const member of members.keys()) if (!(member in row)) problems.push(`types.ts declares \`${name}.${member}\`, which is not in the table`)
    for (const member of readmeMembers.keys()) if (!(member in row)) problems.push(`README documents \`${name}.${member}\`, which is not an option`)
    for (const [member, memberRow] of Object.entries(row as Table)) {
      if (!members.has(member)) problems.push(`types.ts does not declare \`${name}.${member}\``)
      const expected = written((memberRow as Row)[1])
      if (expected === undefined) continue
      if (readmeMembers.get(member) !== expected) problems.push(`README: \`${name}.${member}\` defaults to ${readmeMembers.get(member)}, the table says ${expected}`)
      if (members.get(member) !== expected) problems.push(`types.ts: \`${name}.${member}\` @default ${members.get(member)}, the table says ${expected}`)
    }
  }
  return problems
}

describe('the options table is the one source of truth', () => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8')
  const types = readFileSync(join(root, 'src/types.ts'), 'utf8')

  it('the README options table and the @default tags in types.ts say what the table in config.ts says', () => {
    expect(drift(OPTIONS, readme, types)).toEqual([])
  })

  it('finds a changed default, a missing row and an undocumented option in either place', () => {
    expect(drift(OPTIONS, readme.replace('| `heartbeatTimeout` | `60000` |', '| `heartbeatTimeout` | `30000` |'), types)).toEqual([
      'README: `heartbeatTimeout` defaults to 30000, the table says 60000',
    ])
    expect(drift(OPTIONS, readme.replace('maxDelay: 30000,', 'maxDelay: 3000,'), types)).toEqual(['README: `backoff.maxDelay` defaults to 3000, the table says 30000'])
    expect(drift(OPTIONS, readme.replace(/\n\| `strictGaps` .*/, ''), types)).toEqual(['README does not document `strictGaps`'])
    expect(drift(OPTIONS, readme, types.replace('@default 1024 */', '@default 512 */'))).toEqual(['types.ts: `highWaterMark` @default 512, the table says 1024'])
    expect(drift(OPTIONS, readme, types.replace('@default 300000 */', '*/'))).toEqual(['types.ts: `backoff.maxRetryAfter` @default undefined, the table says 300000'])
    expect(drift({ ...OPTIONS, retries: [null, 3] }, readme, types)).toEqual(['README does not document `retries`', 'types.ts does not declare `retries`'])
  })
})
