// @ts-check
// Proof that a reload resumes from the store: before leaving, the page notes the last event it showed
// (in sessionStorage, only for this comparison); after the reload the library reports the checkpoint
// it read from IndexedDB, and the first event delivered must be the one right after it.

const KEY = 'resumable-sse-playground:before-reload'

export class ResumeProof {
  #box
  /** @type {{ lastSeq?: number, checkpoint?: number } | undefined} */
  #before
  /** @type {number | undefined} */
  #resumed
  #firstSeen = false

  /** @param {HTMLElement} box */
  constructor(box) {
    this.#box = box
    try {
      const raw = sessionStorage.getItem(KEY)
      sessionStorage.removeItem(KEY)
      this.#before = raw ? JSON.parse(raw) : undefined
    } catch {
      this.#before = undefined
    }
  }

  beforeReload(lastSeq, checkpoint) {
    try {
      sessionStorage.setItem(KEY, JSON.stringify({ lastSeq, checkpoint }))
    } catch {}
  }

  /** @param {{ sequence: number }} checkpoint */
  resumedFrom(checkpoint) {
    this.#resumed = checkpoint.sequence
    this.#render()
  }

  /** @param {number} sequence @param {HTMLElement} row */
  delivered(sequence, row) {
    if (this.#firstSeen) return
    this.#firstSeen = true
    if (this.#resumed === undefined) return
    row.classList.add('resumed-first')
    this.#render(sequence)
  }

  #render(first) {
    const before = this.#before
    /** @type {[string, string, string][]} line name, label, value */
    const rows = []
    if (before?.lastSeq !== undefined) rows.push(['before', 'last before reload', `#${before.lastSeq}`])
    rows.push(['resumed', 'IndexedDB checkpoint', `#${this.#resumed}`])
    rows.push(['first', 'first after reload', first === undefined ? 'waiting…' : `#${first}`])
    let verdict = ''
    if (first === undefined) {
      this.#box.dataset.state = 'waiting'
    } else {
      const reference = before?.lastSeq ?? this.#resumed
      if (reference !== undefined && first === reference + 1) {
        this.#box.dataset.state = 'ok'
        verdict = `✓ follows #${reference}: nothing missed or repeated`
      } else if (reference !== undefined && first <= reference) {
        this.#box.dataset.state = 'replayed'
        verdict = `↺ ${reference - first + 1} delivered again (at-least-once: the last write had not landed)`
      } else {
        this.#box.dataset.state = 'gap'
        verdict = `✗ gap: the server no longer had #${(reference ?? 0) + 1}…#${first - 1}`
      }
      this.#box.dataset.first = String(first)
    }
    if (before?.lastSeq !== undefined) this.#box.dataset.before = String(before.lastSeq)
    this.#box.dataset.resumed = String(this.#resumed)

    const list = document.createElement('dl')
    list.className = 'kv'
    for (const [name, label, value] of rows) {
      const dt = document.createElement('dt')
      dt.textContent = label
      const dd = document.createElement('dd')
      dd.className = 'mono'
      dd.dataset.line = name
      dd.textContent = value
      list.append(dt, dd)
    }
    const p = document.createElement('p')
    p.className = 'verdict'
    p.textContent = verdict
    this.#box.replaceChildren(list, p)
  }
}
