import { describe, expect, it } from 'vitest'
import { redact } from '../../src/errors.js'

describe('redact (URLs in messages)', () => {
  it.each([
    ['https://alice:secret@api.example.com/v1/feed?token=abc#frag', 'https://api.example.com/v1/feed'],
    ['http://127.0.0.1:9/feed', 'http://127.0.0.1:9/feed'],
    ['/relative/path?token=abc', '/relative/path'],
    ['user@host/path#x', 'host/path'],
    ['http://h/a\nb?c\nd', 'http://h/a\nb'],
    ['', ''],
  ])('%j → %j', (href, shown) => {
    expect(redact(href)).toBe(shown)
  })
})
