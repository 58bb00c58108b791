// The identity rule in a browser-like page (happy-dom has a `document`): same-origin requests carry the
// session cookie, so a persistent store always needs `key` or `fingerprint`, even with no auth header.
import { describe, expect, it } from 'vitest'
import { type CheckpointStore, ConfigError, MemoryStore, subscribe } from '../../src/index.js'

const persistent = (): CheckpointStore => Object.assign(new MemoryStore(), { persistent: true })
const url = 'http://127.0.0.1:9/feed'

describe('identity rule in a page', () => {
  it('a persistent store without key or fingerprint is a ConfigError that names fingerprint', () => {
    expect(typeof document).toBe('object')
    expect(() => subscribe({ url, store: persistent() })).toThrow(ConfigError)
    expect(() => subscribe({ url, store: persistent() })).toThrow(/fingerprint: 'public'/)
  })
  it("`fingerprint: 'public'`, a `key`, or a store that does not persist are fine", async () => {
    const subs = [
      subscribe({ url, store: persistent(), fingerprint: 'public', signal: AbortSignal.abort() }),
      subscribe({ url, store: persistent(), key: 'feed', signal: AbortSignal.abort() }),
      subscribe({ url, store: new MemoryStore(), signal: AbortSignal.abort() }),
    ]
    for (const sub of subs) await sub.close()
  })
})
