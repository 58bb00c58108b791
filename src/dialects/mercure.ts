import { canonicalJson } from '../checkpoint/canonical-json.js'
import type { Checkpoint } from '../checkpoint/contract.js'
import { ConfigError, ResumableSSEError } from '../errors.js'
import { optionsObject, restartAt } from './common.js'
import { type AttemptRequest, cursorFits, type Dialect, type DialectSession, type DialectSink, type Frame } from './dialect.js'
import { headerValue } from './last-event-id.js'

export interface MercureOptions {
  /**
   * The topics to receive. On a draft-08 hub (Mercure 1.x) each is an exact topic (`match=`); on a
   * draft-07 hub (0.x) a topic selector (`topic=`: a topic, a URI template or `*`).
   */
  topics: string | readonly string[]
  /** Draft-08 hubs: URL Pattern matchers (`match_urlpattern=`), e.g. `https://example.com/books/:id`. */
  urlPatterns?: readonly string[]
  /**
   * The protocol revision the hub speaks: `'draft-08'` (Mercure 1.x) or `'draft-07'` (0.x hubs,
   * and 1.x hubs in their 0.x compatibility mode). @default 'draft-08'
   */
  protocol?: 'draft-08' | 'draft-07'
  /**
   * Where the cursor goes: `'query'` (preflight-free across origins) or the `Last-Event-ID` header.
   * @default 'query'
   */
  cursor?: 'query' | 'header'
  /**
   * With no position yet (no checkpoint, `from: 'start'`), ask for all the history the hub keeps
   * (the reserved id `earliest`) rather than only what is published from now on. @default false
   */
  earliest?: boolean
}

/** The reserved id: "everything you have" as a request, "no event before" as the hub's answer. */
const EARLIEST = 'earliest'

/**
 * Mercure (the hub of Symfony / API Platform). Topic matchers go in the query; ids are opaque IRIs,
 * so sequences are local and count on from the checkpoint's; the cursor goes back as a query
 * parameter (or the header). A hub that no longer holds the event we resume from says so in its
 * `Mercure-Last-Event-ID` answer (draft-07: `Last-Event-ID`): what it names differs from what we
 * asked for, and that lost history is reported as a gap.
 */
export function mercure(options: MercureOptions): Dialect {
  const { protocol = 'draft-08', cursor = 'query', earliest = false } = optionsObject(options, 'mercure')
  if (protocol !== 'draft-08' && protocol !== 'draft-07') throw new ConfigError("Expected mercure `protocol` to be 'draft-08' or 'draft-07'")
  if (cursor !== 'query' && cursor !== 'header') throw new ConfigError("Expected mercure `cursor` to be 'query' or 'header'")
  const topics = matchers(typeof options.topics === 'string' ? [options.topics] : options.topics, 'topics')
  const urlPatterns = matchers(options.urlPatterns ?? [], 'urlPatterns')
  if (topics.length + urlPatterns.length === 0) throw new ConfigError('Expected mercure `topics` to name at least one topic')
  if (urlPatterns.length > 0 && protocol === 'draft-07') throw new ConfigError("mercure `urlPatterns` need a draft-08 hub; draft-07 topic selectors take URI templates in `topics`")
  const first = (position: Checkpoint | undefined) => (position === undefined ? (earliest ? EARLIEST : undefined) : position.cursor || undefined)

  return {
    name: 'mercure',
    // The hub subscribes to the union of the matchers, so their order and repeats do not count. The
    // protocol does not either: it is the same hub history whichever spelling reaches it.
    identity: canonicalJson({ topics: [...new Set(topics)].sort(), ...(urlPatterns.length > 0 && { urlPatterns: [...new Set(urlPatterns)].sort() }) }),
    defaultMethod: 'GET',
    // Local sequences: each event is one more than the last, so lost history can show as a gap.
    contiguous: true,
    prepare(request: AttemptRequest, position: Checkpoint | undefined) {
      const query = request.url.searchParams
      for (const topic of topics) query.append(protocol === 'draft-08' ? 'match' : 'topic', topic)
      for (const pattern of urlPatterns) query.append('match_urlpattern', pattern)
      const id = first(position)
      if (id === undefined) return
      if (cursor === 'header') {
        // The id's UTF-8 bytes, as the hub reads them (an IRI may carry any Unicode).
        request.headers.set('Last-Event-ID', headerValue(id))
        return
      }
      query.set('last_event_id', id)
      // A 1.x hub in compatibility mode reads `last_event_id`; 0.14+ hubs `lastEventID`; the draft-07
      // text and the 0.10–0.13 hubs only `Last-Event-ID` (a query parameter named like the header).
      if (protocol === 'draft-07') for (const name of ['lastEventID', 'Last-Event-ID']) query.set(name, id)
    },
    // Under `onCursorExpired: 'restart'`, lost history restarts from the oldest update the hub still
    // holds: `earliest` (which the hub answers with `earliest`, so a restart cannot expire again).
    restart: restartAt(EARLIEST),
    open(position: Checkpoint | undefined, _mode, onCursorExpired): DialectSession {
      let sequence = position?.sequence ?? 0
      const asked = first(position)
      /** The hub does not hold the history between what we asked for and what it sends: report it once. */
      let lost = false
      return {
        accepted(headers: Headers): ResumableSSEError | undefined {
          if (asked === undefined) return undefined
          // Absent (an old hub, or a cross-origin response that does not expose it): nothing is known.
          const answered = headers.get('mercure-last-event-id') ?? headers.get('last-event-id')
          // The one place where Mercure learns that history was lost: an expired cursor under
          // `onCursorExpired: 'restart'`, otherwise a gap (below).
          if (answered === null || answered === asked || utf8(answered) === asked) return undefined
          if (onCursorExpired === 'restart') return new ResumableSSEError('cursor-expired', `The Mercure hub no longer holds the history after ${asked}`)
          lost = true
          return undefined
        },
        frame({ id, event, data }: Frame, sink: DialectSink): void {
          const type = event || 'message'
          // An id too long to send back is delivered without a position (it would poison the store).
          if (!id || !cursorFits(id)) return sink.deliverUnpositioned(type, data)
          // Lost history is a jump of one in the local sequence, so the supervisor's gap rule reports it,
          // in order, before the first event after the loss: a notice, or a GapError under strictGaps.
          sequence += lost ? 2 : 1
          lost = false
          sink.deliver(type, data, id, sequence, id)
        },
      }
    },
  }
}

/**
 * A response header as the UTF-8 text the hub wrote: `fetch` gives one character per byte (a hub
 * answering a non-ASCII id sends its UTF-8 bytes), so `é` arrives as `Ã©`.
 */
const utf8 = (value: string): string | undefined =>
  /^[\x00-\xff]*$/.test(value) ? new TextDecoder().decode(Uint8Array.from(value, (char) => char.charCodeAt(0))) : undefined

function matchers(list: unknown, name: string): string[] {
  if (!Array.isArray(list) || !list.every((item) => typeof item === 'string' && item !== '')) {
    throw new ConfigError(`Expected mercure \`${name}\` to be a non-empty string or an array of them`)
  }
  return list as string[]
}
