// Pre-generated SSE byte streams. Runtime-neutral (TextEncoder only) because the Chromium part of the
// bench bundles this file into a page and must see byte-for-byte the same stream as Node.
import { seededRandom } from './prng.js'

export type ShapeName = 'small' | 'json1k' | 'big64k'

export interface Shape {
  readonly name: ShapeName
  readonly label: string
  /** SSE `event:` field sent with each event (undefined = the default `message`). */
  readonly eventType: string | undefined
  /** One event's wire form, CRLF line endings throughout so chunk cuts can land inside `\r\n`. */
  wire(n: number): string
}

const HEX = '0123456789abcdef'

function pad(text: string, random: () => number, length: number): string {
  let out = text
  while (out.length < length) out += HEX[Math.floor(random() * 16)]
  return out
}

/** ~60 B per event: a ticker. */
const small: Shape = {
  name: 'small',
  label: '~60 B events',
  eventType: 'tick',
  wire: (n) => `id: ${n}\r\nevent: tick\r\ndata: {"seq":${n},"price":"101.25"}\r\n\r\n`,
}

/** ~1 kB per event: a typical JSON update (nested object, array, strings, numbers). */
function json1kData(n: number): string {
  const random = seededRandom(n)
  const items = []
  for (let i = 0; i < 8; i++) {
    items.push({ sku: `SKU-${n}-${i}`, qty: Math.floor(random() * 100), price: Math.round(random() * 10_000) / 100, tag: pad('', random, 24) })
  }
  return JSON.stringify({
    seq: n,
    type: 'order.updated',
    at: 1_700_000_000_000 + n * 17,
    customer: { id: `c_${Math.floor(random() * 1e9)}`, name: 'Ada Lovelace', tier: 'gold' },
    items,
    note: pad('', random, 180),
  })
}
const json1k: Shape = {
  name: 'json1k',
  label: '~1 kB JSON events',
  eventType: 'update',
  wire: (n) => `id: ${n}\r\nevent: update\r\ndata: ${json1kData(n)}\r\n\r\n`,
}

/** 64 kB per event: one large JSON payload on a single data line, default event type. */
const big64k: Shape = {
  name: 'big64k',
  label: '64 kB events',
  eventType: undefined,
  wire: (n) => `id: ${n}\r\ndata: {"seq":${n},"blob":"${pad('', seededRandom(n), 65_500 - String(n).length)}"}\r\n\r\n`,
}

export const SHAPES: Record<ShapeName, Shape> = { small, json1k, big64k }

export interface Stream {
  readonly shape: Shape
  readonly events: number
  readonly bytes: number
  /** The body, cut at seeded random places; each chunk is its own buffer, like network reads. */
  readonly chunks: readonly Uint8Array[]
  /** Chunk boundaries that fall between a `\r` and its `\n`. */
  readonly crlfSplits: number
  /** Sum of `data.length` over all events: every client must report exactly this (nothing skipped). */
  readonly dataChars: number
}

export interface ChunkOptions {
  /** Chunk lengths are uniform in [1, 2 × meanChunk). */
  meanChunk: number
  /** Share of cuts moved forward to just after the next `\r` (a split inside `\r\n`). */
  crlfSplitRate: number
  seed: number
}

export const DEFAULT_CHUNKING: ChunkOptions = { meanChunk: 8192, crlfSplitRate: 0.25, seed: 0x5eed }

/** Events `first`..`first + count - 1` of `shape` as one string, plus their data length sum. */
export function wireText(shape: Shape, count: number, first = 1): { text: string; dataChars: number } {
  const parts: string[] = []
  let dataChars = 0
  for (let n = first; n < first + count; n++) {
    const wire = shape.wire(n)
    parts.push(wire)
    const start = wire.indexOf('data: ') + 6
    dataChars += wire.indexOf('\r\n', start) - start
  }
  return { text: parts.join(''), dataChars }
}

export function buildStream(shape: Shape, count: number, options: ChunkOptions = DEFAULT_CHUNKING): Stream {
  const { text, dataChars } = wireText(shape, count)
  const body = new TextEncoder().encode(text)
  const random = seededRandom(options.seed)
  const chunks: Uint8Array[] = []
  let crlfSplits = 0
  let at = 0
  while (at < body.length) {
    let cut = Math.min(body.length, at + 1 + Math.floor(random() * (2 * options.meanChunk - 1)))
    if (cut < body.length && random() < options.crlfSplitRate) {
      const cr = body.indexOf(13, cut)
      if (cr !== -1 && cr - cut < options.meanChunk) cut = cr + 1
    }
    if (cut < body.length && body[cut - 1] === 13 && body[cut] === 10) crlfSplits++
    chunks.push(body.slice(at, cut))
    at = cut
  }
  return { shape, events: count, bytes: body.length, chunks, crlfSplits, dataChars }
}
