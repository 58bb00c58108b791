// @ts-check
// The live event list, newest first, with the page's own continuity check: every sequence must be
// the previous one plus one (the demo feed's ids are contiguous). A jump is painted red and counted
// as a gap, a sequence at or below the last one as a repeat; the library should make both impossible.

import { clock } from './timeline.js'

const MAX_ROWS = 1000

/** An event whose payload is older than this when it arrives was replayed from the server's history. */
const REPLAY_AGE_MS = 1500

export class EventList {
  #list
  #counters
  /** @type {number | undefined} */
  last = undefined
  /** @type {number | undefined} */
  first = undefined
  received = 0
  gaps = 0
  repeats = 0

  /**
   * @param {HTMLOListElement} list
   * @param {{ count: HTMLElement, gaps: HTMLElement, repeats: HTMLElement }} counters
   */
  constructor(list, counters) {
    this.#list = list
    this.#counters = counters
  }

  /**
   * Renders one delivered event; returns whether it was a replay (for the chart).
   * @param {{ sequence: number, type: string, data: string, id?: string }} event
   */
  add(event) {
    let payload
    try {
      payload = JSON.parse(event.data)
    } catch {
      payload = undefined
    }
    const at = typeof payload?.at === 'string' ? Date.parse(payload.at) : NaN
    const replayed = Number.isFinite(at) && Date.now() - at > REPLAY_AGE_MS

    const row = document.createElement('li')
    row.dataset.seq = String(event.sequence)
    row.dataset.type = event.type
    if (replayed) {
      row.classList.add('replayed')
      row.title = 'replayed from the server history after a reconnect'
    }
    if (this.last !== undefined && event.sequence !== this.last + 1) {
      row.classList.add('gap')
      if (event.sequence <= this.last) this.repeats++
      else this.gaps++
      row.title = `expected #${this.last + 1}`
    }
    this.first ??= event.sequence
    this.last = Math.max(this.last ?? event.sequence, event.sequence)
    this.received++

    const seq = cell('span', 'seq', `#${event.sequence}`)
    const type = cell('span', 'type', event.type)
    const body = cell('span', 'payload', summary(event.type, payload))
    const raw = cell('code', '', event.data)
    body.append(raw)
    body.title = event.data
    const time = cell('time', '', clock(Number.isFinite(at) ? at : Date.now()))
    row.append(seq, type, body, time)
    this.#list.prepend(row)
    while (this.#list.children.length > MAX_ROWS) this.#list.lastElementChild?.remove()

    this.#counters.count.textContent = String(this.received)
    this.#counters.gaps.textContent = String(this.gaps)
    this.#counters.gaps.classList.toggle('bad', this.gaps > 0)
    this.#counters.repeats.textContent = String(this.repeats)
    this.#counters.repeats.classList.toggle('bad', this.repeats > 0)
    return { row, replayed }
  }

  /** A marker row, e.g. "resumed from checkpoint #N". */
  divider(text) {
    const row = cell('li', 'divider', text)
    this.#list.prepend(row)
  }
}

function cell(tag, className, text) {
  const el = document.createElement(tag)
  if (className) el.className = className
  el.textContent = text
  return el
}

function summary(type, p) {
  if (!p || typeof p !== 'object') return ''
  if (type === 'reading') return `${p.sensor} ${p.metric} ${p.value} ${p.unit}`
  if (type === 'deploy') return `${p.service} ${p.version} ${p.stage} (${p.by})`
  if (type === 'alert') return `${p.level}: ${p.sensor} ${p.message}`
  return ''
}
