// @ts-check
// The connection timeline: every StatusChange the subscription reports, the faults the user pressed
// and the notices (gap, resumed) in one log, newest first. Rows carry data-* attributes so the
// browser test reads what a person reads.

const MAX_ROWS = 300

export const clock = (at = Date.now()) => {
  const d = new Date(at)
  return `${d.toTimeString().slice(0, 8)}.${String(d.getMilliseconds()).padStart(3, '0')}`
}

export class Timeline {
  #list

  /** @param {HTMLOListElement} list */
  constructor(list) {
    this.#list = list
  }

  /** @param {{ status: string, previous: string, attempt: number, reconnects: number, delay?: number, reason?: string, error?: { code?: string, message: string } }} change */
  status(change) {
    const row = this.#row('status', change.status, describe(change))
    row.dataset.status = change.status
    if (change.reason) row.dataset.reason = change.reason
    if (change.delay !== undefined) row.dataset.delay = String(change.delay)
    row.dataset.reconnects = String(change.reconnects)
  }

  /** A fault pressed now; returns a function that fills in what the server answered. */
  fault(name) {
    const row = this.#row('fault', `⚡ ${name}`, 'requested…')
    row.dataset.fault = name
    const detail = /** @type {HTMLElement} */ (row.querySelector('.detail'))
    return (text) => {
      detail.textContent = text
    }
  }

  notice(label, detail) {
    this.#row('notice', label, detail)
  }

  #row(kind, label, detail) {
    const row = document.createElement('li')
    row.dataset.kind = kind
    const time = document.createElement('time')
    time.textContent = clock()
    const chip = document.createElement('span')
    chip.className = 'chip'
    chip.textContent = label
    if (kind === 'status') chip.dataset.status = label
    const text = document.createElement('span')
    text.className = 'detail'
    text.textContent = detail
    row.append(time, chip, text)
    this.#list.prepend(row)
    while (this.#list.children.length > MAX_ROWS) this.#list.lastElementChild?.remove()
    return row
  }
}

/** What a person wants to know about a transition, in a few words. */
function describe(change) {
  switch (change.status) {
    case 'open':
      return change.reconnects === 0 ? 'streaming' : `streaming again · reconnect #${change.reconnects}`
    case 'connecting':
      return change.attempt > 0 ? `attempt ${change.attempt + 1}` : 'opening the feed'
    case 'backoff':
      return [
        change.delay === undefined ? 'waiting' : `retry in ${change.delay} ms`,
        change.reason && `· ${REASONS[change.reason] ?? change.reason}`,
        change.attempt > 1 && `· ${change.attempt} failures in a row`,
      ]
        .filter(Boolean)
        .join(' ')
    case 'refreshing-auth':
      return '401: calling refreshAuth for a new token'
    case 'closed':
      return change.error ? `${change.error.code ?? 'error'}: ${change.error.message}` : (change.reason ?? '')
    default:
      return ''
  }
}

const REASONS = {
  eof: 'server ended the stream',
  transport: 'connection lost',
  starved: 'heartbeat timeout',
  http: 'HTTP 429/5xx',
  'server-closing': 'server asked us to reconnect',
  offline: 'browser offline',
  hidden: 'page hidden',
}
