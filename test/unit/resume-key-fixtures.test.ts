import { describe, expect, it } from 'vitest'
import { aviso, durableStreams, MemoryStore, mercure, resumeKey, type ResumeKeyParts, type SubscribeOptions, subscribe } from '../../src/index.js'

/**
 * Keys pinned as literal hex, recorded from v1 of the encoding. Stored checkpoints of existing users
 * live under these keys: a refactor that changes any of them orphans every checkpoint, so these values
 * never change (a new encoding is a new RESUME_KEY_VERSION and a new table).
 */
const KEYS: Array<[string, ResumeKeyParts, string]> = [
  ['minimal GET', { url: 'http://localhost/x' }, '38e5970f87aca27e05b3183298d0c6d76809122ee7e6ddb8d42afd30eaa1f3a6'],
  [
    'URL object, default port, fragment, userinfo, empty query',
    { url: new URL('HTTPS://u:p@Api.Example.com:443/feed?#f') },
    '912e5c1b7ec363c3b0a61e81bdf3b203e03385370136c1123cc633295c1e0b0b',
  ],
  [
    'query kept, method lower-cased',
    { url: 'https://api.example.com/v1/feed?topic=orders&x=1', method: 'post' },
    'ffb5a93924d14ae5b6c62dc95198abb5c83337b64183719e6ab11f31d27a5647',
  ],
  ['string body', { url: 'http://h/feed', method: 'POST', body: '{"a":1}' }, 'eb1772fba76b0a52111ed5d4bc6d1d88dd626a16d8c569c09de09c9d05536689'],
  [
    'empty string body, empty dialect, empty fingerprint',
    { url: 'http://h/feed', body: '', dialect: '', fingerprint: '' },
    '1eee765ed17ef7c92a87790a6e4364c4c2863e003739b20f3ee1c53a60f2c331',
  ],
  ['null body is no body', { url: 'http://h/feed', body: null, dialect: 'last-event-id' }, '5f235f630c95dfaf3ae568e2d0b8f67a3a99495e326d1c63da61477900bbd350'],
  [
    'nested JSON body',
    {
      url: 'https://api.example.com/v1/feed?topic=orders',
      method: 'POST',
      body: { filter: { region: 'eu', ids: [3, 1, 2] }, limit: 10 },
      dialect: 'last-event-id',
      fingerprint: 'user-42',
    },
    'c644d5595ab5ef363e01ad28bbd196e127d6523168d15ae0422b108f5075ca7a',
  ],
  [
    'array body with undefined, -0, toJSON, boxed values',
    {
      url: 'http://h/',
      body: [undefined, -0, new Date(0), new String('s'), new Number(1.5), new Boolean(false), { b: undefined, 'a b': 1e21, é: 'ü' }],
    },
    '4c4a21509dff7c8b6c8335764565cac0672015769c917b6527e07fec03d46c54',
  ],
  ['number body', { url: 'http://h/', body: 0.1, dialect: 'aviso', fingerprint: 'public' }, 'aae0c03fad49a3f186f990ce5b257a04b184799ebeb0e6f973f7e9970ccaa3bf'],
  ['false body', { url: 'http://h/', body: false }, '978e461a28d714f32f8f1d71df8f8b403a390b08a8388f9fffb2fa6df54df89b'],
  [
    'non-ASCII URL, body and fingerprint',
    { url: 'HTTP://Ünï.example:80/ñ?q=€#frag', body: 'ünï', fingerprint: '👤' },
    '2124c04503b4f2b0ab0e5bbb0f436db9c5dc9cb281ceeb4134343651e23c3062',
  ],
  ['non-default port and dot segments', { url: 'wss://h:8443/a/../b/./c', dialect: 'durable-streams' }, '691b0a7ab154be3d149a2f7074564d58c5ee960813138744ab697261da39c03e'],
]

/** The keys `subscribe` derives (dialect name and identity included), pinned the same way. */
const never: typeof fetch = () => new Promise(() => {})
const SUBSCRIPTIONS: Array<[string, () => SubscribeOptions, string]> = [
  ['the default dialect, GET', () => ({ url: 'http://127.0.0.1:9/feed?x=1' }), 'f7cdbfcf0d006d1b44d9d74fd694623b666684859959f00b3fec4f4364567ba6'],
  [
    'POST with a JSON body and a fingerprint',
    () => ({ url: 'http://127.0.0.1:9/feed', method: 'post', body: { q: ['a', 'b'], n: 1 }, fingerprint: 'user-7' }),
    'f5b6e0ae34e33694c37f68ee8d254f2ef3f465f44b78874eb9026f0661e00d38',
  ],
  [
    'aviso (its identity is canonical JSON)',
    () => ({ url: 'http://127.0.0.1:9/api/v1/watch', dialect: aviso({ eventType: 'mars', identifier: { time: '12', class: 'od' } }) }),
    '9ad42dd11843a1ea9325d0fba3c16827b3cdf2130313638126adec2b7f35c3b4',
  ],
  [
    'mercure (its identity is the sorted topics)',
    () => ({ url: 'http://127.0.0.1:9/.well-known/mercure', dialect: mercure({ topics: ['b', 'a', 'b'] }) }),
    'e657b8bcb126ecbdd053979a1414a4df959bd71f96ba0d1dae9ec39563e25793',
  ],
  ['durable streams', () => ({ url: 'http://127.0.0.1:9/v1/stream/s', dialect: durableStreams() }), '39537203fdc1605696cb54aae3953a06ea915ab3b1ca380ff24fd3f96ba9052e'],
]

describe('resume keys stay byte-identical (stored checkpoints live under them)', () => {
  it.each(KEYS)('resumeKey: %s', (_name, parts, key) => {
    expect(resumeKey(parts)).toBe(key)
  })

  it.each(SUBSCRIPTIONS)('subscribe derives the same key: %s', async (_name, options, key) => {
    const subscription = subscribe({ ...options(), fetch: never, store: new MemoryStore() })
    expect(subscription.key).toBe(key)
    await subscription.close()
  })
})
