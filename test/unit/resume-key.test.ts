import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { canonicalJson } from '../../src/checkpoint/canonical-json.js'
import { RESUME_KEY_VERSION, resumeKey, type ResumeKeyParts } from '../../src/checkpoint/resume-key.js'
import { ConfigError, isResumableSSEError } from '../../src/errors.js'

const base: ResumeKeyParts = {
  url: 'https://api.example.com/v1/feed?topic=orders',
  method: 'POST',
  body: { filter: { region: 'eu', ids: [3, 1, 2] }, limit: 10 },
  dialect: 'last-event-id',
  fingerprint: 'user-42',
}

/** The documented encoding, written out independently of the implementation. */
function referenceKey(fields: Array<string | undefined>): string {
  const chunks: Buffer[] = []
  for (const field of fields) {
    const length = Buffer.alloc(4)
    if (field === undefined) {
      length.writeUInt32BE(0xffffffff)
      chunks.push(length)
    } else {
      const bytes = Buffer.from(field, 'utf8')
      length.writeUInt32BE(bytes.length)
      chunks.push(length, bytes)
    }
  }
  return createHash('sha256').update(Buffer.concat(chunks)).digest('hex')
}

describe('resumeKey', () => {
  it('is 64 lower-case hex characters', () => {
    expect(resumeKey(base)).toMatch(/^[0-9a-f]{64}$/)
    expect(resumeKey({ url: 'http://localhost/x' })).toMatch(/^[0-9a-f]{64}$/)
  })

  it('gives equal subscriptions equal keys', () => {
    expect(resumeKey({ ...base })).toBe(resumeKey(structuredClone(base)))
    expect(resumeKey({ ...base, url: new URL(base.url as string) })).toBe(resumeKey(base))
  })

  it('ignores JSON member order, nested too', () => {
    const reordered = { limit: 10, filter: { ids: [3, 1, 2], region: 'eu' } }
    expect(resumeKey({ ...base, body: reordered })).toBe(resumeKey(base))
  })

  it('treats array order as significant', () => {
    const shuffled = { filter: { region: 'eu', ids: [1, 2, 3] }, limit: 10 }
    expect(resumeKey({ ...base, body: shuffled })).not.toBe(resumeKey(base))
  })

  it('ignores what does not change the request: host case, default port, fragment, userinfo, empty query', () => {
    const key = resumeKey(base)
    expect(resumeKey({ ...base, url: 'HTTPS://API.Example.COM/v1/feed?topic=orders' })).toBe(key)
    expect(resumeKey({ ...base, url: 'https://api.example.com:443/v1/feed?topic=orders' })).toBe(key)
    expect(resumeKey({ ...base, url: 'https://api.example.com/v1/feed?topic=orders#latest' })).toBe(key)
    expect(resumeKey({ ...base, url: 'https://alice:secret@api.example.com/v1/feed?topic=orders' })).toBe(key)
    expect(resumeKey({ url: 'http://h/feed?' })).toBe(resumeKey({ url: 'http://h/feed' }))
    expect(resumeKey({ url: 'http://h:80/feed' })).toBe(resumeKey({ url: 'http://h/feed' }))
  })

  it('defaults the method to GET and compares it upper-cased', () => {
    expect(resumeKey({ url: 'http://h/feed' })).toBe(resumeKey({ url: 'http://h/feed', method: 'GET' }))
    expect(resumeKey({ ...base, method: 'post' })).toBe(resumeKey(base))
  })

  it.each<[string, Partial<ResumeKeyParts>]>([
    ['url path', { url: 'https://api.example.com/v2/feed?topic=orders' }],
    ['query', { url: 'https://api.example.com/v1/feed?topic=invoices' }],
    ['no query', { url: 'https://api.example.com/v1/feed' }],
    ['host', { url: 'https://api2.example.com/v1/feed?topic=orders' }],
    ['a non-default port', { url: 'https://api.example.com:8443/v1/feed?topic=orders' }],
    ['scheme', { url: 'http://api.example.com/v1/feed?topic=orders' }],
    ['method', { method: 'GET' }],
    ['body value', { body: { filter: { region: 'us', ids: [3, 1, 2] }, limit: 10 } }],
    ['nested body value', { body: { filter: { region: 'eu', ids: [3, 1, 2, 4] }, limit: 10 } }],
    ['number vs string in body', { body: { filter: { region: 'eu', ids: [3, 1, 2] }, limit: '10' } }],
    ['no body', { body: undefined }],
    ['dialect', { dialect: 'aviso' }],
    ['no dialect', { dialect: undefined }],
    ['fingerprint', { fingerprint: 'user-43' }],
    ['no fingerprint', { fingerprint: undefined }],
  ])('changes with the %s', (_name, change) => {
    expect(resumeKey({ ...base, ...change })).not.toBe(resumeKey(base))
  })

  it('tells an absent field from an empty one', () => {
    const url = 'http://h/feed'
    expect(resumeKey({ url, fingerprint: '' })).not.toBe(resumeKey({ url }))
    expect(resumeKey({ url, dialect: '' })).not.toBe(resumeKey({ url }))
    expect(resumeKey({ url, body: '' })).not.toBe(resumeKey({ url }))
  })

  it('does not let one field leak into the next', () => {
    const url = 'http://h/feed'
    expect(resumeKey({ url, dialect: 'ab', fingerprint: 'c' })).not.toBe(resumeKey({ url, dialect: 'a', fingerprint: 'bc' }))
  })

  it('keeps a string body apart from the JSON it looks like', () => {
    const url = 'http://h/feed'
    expect(resumeKey({ url, body: '{}' })).not.toBe(resumeKey({ url, body: {} }))
    expect(resumeKey({ url, body: '"x"' })).not.toBe(resumeKey({ url, body: 'x' }))
    expect(resumeKey({ url, body: '[1]' })).not.toBe(resumeKey({ url, body: [1] }))
  })

  it('matches a vector computed independently over the documented encoding', () => {
    expect(RESUME_KEY_VERSION).toBe('resumable-sse/resume-key/v1')
    const expected = referenceKey([
      'resumable-sse/resume-key/v1',
      'https://api.example.com/v1/feed?topic=orders',
      'POST',
      'j{"filter":{"ids":[3,1,2],"region":"eu"},"limit":10}',
      'last-event-id',
      'user-42',
    ])
    expect(resumeKey(base)).toBe(expected)

    // Absent optional fields, the default method, and a normalised URL; non-ASCII counted in bytes.
    expect(resumeKey({ url: 'HTTP://Ünï.example:80/ñ?q=€#frag', body: 'ünï' })).toBe(
      referenceKey([
        'resumable-sse/resume-key/v1',
        'http://xn--n-nga1b.example/%C3%B1?q=%E2%82%AC',
        'GET',
        'sünï',
        undefined,
        undefined,
      ]),
    )
  })

  it('rejects a relative URL with a ConfigError', () => {
    expect(() => resumeKey({ url: '/events' })).toThrow(new ConfigError('Expected `url` to be an absolute URL, got "/events"'))
  })

  it('asks for `key` when the body is a function', () => {
    expect(() => resumeKey({ url: 'http://h/', body: () => ({}) })).toThrow(
      'Pass `key` when `body` is a function: a function cannot be part of the derived resume key',
    )
  })

  it.each<[string, unknown, string]>([
    ['NaN', { a: Number.NaN }, '`body.a` cannot be encoded as JSON: NaN is not a finite number'],
    ['Infinity', [1, Number.POSITIVE_INFINITY], '`body[1]` cannot be encoded as JSON: Infinity is not a finite number'],
    ['-Infinity', { 'a b': Number.NEGATIVE_INFINITY }, '`body["a b"]` cannot be encoded as JSON: -Infinity is not a finite number'],
    ['a bigint', { n: 10n }, '`body.n` cannot be encoded as JSON: a bigint (10n) has no JSON form'],
    ['a nested function', { x: { f() {} } }, '`body.x.f` cannot be encoded as JSON: a function has no JSON form'],
    ['a symbol', { s: Symbol('s') }, '`body.s` cannot be encoded as JSON: a symbol has no JSON form'],
  ])('rejects %s in the body with a ConfigError and its path', (_name, body, message) => {
    let caught: unknown
    try {
      resumeKey({ url: 'http://h/', body })
    } catch (error) {
      caught = error
    }
    expect(caught).toBeInstanceOf(ConfigError)
    expect(isResumableSSEError(caught, 'config')).toBe(true)
    expect((caught as Error).message).toBe(message)
  })

  it('rejects a body that contains itself', () => {
    const body: Record<string, unknown> = { a: 1 }
    body.self = body
    expect(() => resumeKey({ url: 'http://h/', body })).toThrow('`body.self` cannot be encoded as JSON: it contains itself (a cycle)')
  })
})

describe('canonicalJson (RFC 8785)', () => {
  it('serialises the RFC 8785 §3.2.2 example exactly', () => {
    const input = JSON.parse(String.raw`{
      "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
      "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
      "literals": [null, true, false]
    }`)
    expect(canonicalJson(input)).toBe(
      String.raw`{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}`,
    )
  })

  it('orders members by UTF-16 code units (RFC 8785 §3.2.3 example)', () => {
    const input = JSON.parse(String.raw`{
      "\u20ac": "Euro Sign",
      "\r": "Carriage Return",
      "\ufb33": "Hebrew Letter Dalet With Dagesh",
      "1": "One",
      "\ud83d\ude00": "Emoji: Grinning Face",
      "\u0080": "Control",
      "\u00f6": "Latin Small Letter O With Diaeresis"
    }`)
    expect(canonicalJson(input)).toBe(
      '{"\\r":"Carriage Return","1":"One","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis",' +
        '"\u20ac":"Euro Sign","\ud83d\ude00":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}',
    )
  })

  // RFC 8785 Appendix B: IEEE 754 bit patterns and their JCS text.
  it.each([
    ['0000000000000000', '0'],
    ['8000000000000000', '0'],
    ['0000000000000001', '5e-324'],
    ['8000000000000001', '-5e-324'],
    ['7fefffffffffffff', '1.7976931348623157e+308'],
    ['ffefffffffffffff', '-1.7976931348623157e+308'],
    ['4340000000000000', '9007199254740992'],
    ['c340000000000000', '-9007199254740992'],
    ['4430000000000000', '295147905179352830000'],
    ['44b52d02c7e14af5', '9.999999999999997e+22'],
    ['44b52d02c7e14af6', '1e+23'],
    ['44b52d02c7e14af7', '1.0000000000000001e+23'],
    ['444b1ae4d6e2ef4e', '999999999999999700000'],
    ['444b1ae4d6e2ef4f', '999999999999999900000'],
    ['444b1ae4d6e2ef50', '1e+21'],
    ['3eb0c6f7a0b5ed8c', '9.999999999999997e-7'],
    ['3eb0c6f7a0b5ed8d', '0.000001'],
    ['41b3de4355555553', '333333333.3333332'],
    ['41b3de4355555554', '333333333.33333325'],
    ['41b3de4355555555', '333333333.3333333'],
    ['41b3de4355555556', '333333333.3333334'],
    ['41b3de4355555557', '333333333.33333343'],
    ['becbf647612f3696', '-0.0000033333333333333333'],
    ['43143ff3c1cb0959', '1424953923781206.2'],
  ])('writes the number with bits %s as %s', (bits, text) => {
    const view = new DataView(new ArrayBuffer(8))
    view.setBigUint64(0, BigInt(`0x${bits}`))
    expect(canonicalJson(view.getFloat64(0))).toBe(text)
    expect(canonicalJson([view.getFloat64(0)])).toBe(`[${text}]`)
  })

  it('rejects the non-finite bit patterns of Appendix B', () => {
    expect(() => canonicalJson(Number.NaN)).toThrow(ConfigError)
    expect(() => canonicalJson(Number.POSITIVE_INFINITY)).toThrow(ConfigError)
  })

  it('sorts nested objects, keeps arrays in order, and follows JSON.stringify for undefined and toJSON', () => {
    const input = { b: [{ z: 1, a: undefined, y: [2, 1] }, undefined], a: new Date(0), c: new String('s') }
    expect(canonicalJson(input)).toBe('{"a":"1970-01-01T00:00:00.000Z","b":[{"y":[2,1],"z":1},null],"c":"s"}')
  })

  it('allows the same object twice when it is not a cycle', () => {
    const shared = { k: 1 }
    expect(canonicalJson({ x: shared, y: [shared] })).toBe('{"x":{"k":1},"y":[{"k":1}]}')
  })
})

describe('canonicalJson: holes in arrays', () => {
  it('writes an array hole as null, exactly as JSON.stringify puts it on the wire', () => {
    // eslint-disable-next-line no-sparse-arrays
    const sparse = [1, , 2]
    expect(canonicalJson(sparse)).toBe(JSON.stringify(sparse))
    expect(canonicalJson({ a: new Array(2) })).toBe('{"a":[null,null]}')
  })
})
