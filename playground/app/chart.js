// @ts-check
// Events-per-second chart on a plain <canvas>. Why not a charting library: the page must run from
// the repo with no bundler and no CDN (the playground works offline), none is among the project's
// dependencies, and what we draw (one stacked bar per second, a status strip, fault markers) is ~100
// lines. A library would be the biggest thing on the page and hide the point of it.

const WINDOW_S = 60
const STRIP_H = 14
const AXIS_H = 16
// Room above the bars for up to two lines of fault labels.
const TOP = 26

/** Colours shared with style.css through custom properties, read once. */
function palette(canvas) {
  const css = getComputedStyle(canvas)
  const get = (name) => css.getPropertyValue(name).trim()
  return {
    live: get('--live'),
    replay: get('--replay'),
    grid: get('--line'),
    text: get('--muted'),
    fault: get('--fault'),
    status: {
      open: get('--open'),
      connecting: get('--connecting'),
      backoff: get('--backoff'),
      'refreshing-auth': get('--auth'),
      closed: get('--closed'),
    },
  }
}

export class RateChart {
  /** second (epoch s) → counts */
  #buckets = new Map()
  /** @type {{ status: string, at: number }[]} */
  #statuses = []
  /** @type {{ name: string, at: number }[]} */
  #faults = []
  #canvas
  #colors

  /** @param {HTMLCanvasElement} canvas */
  constructor(canvas) {
    this.#canvas = canvas
    this.#colors = palette(canvas)
    const tick = () => {
      this.draw()
      setTimeout(() => requestAnimationFrame(tick), 250)
    }
    tick()
  }

  /** One delivered event; `replayed` when the server sent it from history after a reconnect. */
  count(replayed, at = Date.now()) {
    const second = Math.floor(at / 1000)
    const bucket = this.#buckets.get(second) ?? { live: 0, replay: 0 }
    if (replayed) bucket.replay++
    else bucket.live++
    this.#buckets.set(second, bucket)
  }

  status(status, at = Date.now()) {
    this.#statuses.push({ status, at })
  }

  fault(name, at = Date.now()) {
    this.#faults.push({ name, at })
  }

  draw() {
    const canvas = this.#canvas
    const dpr = window.devicePixelRatio || 1
    const width = canvas.clientWidth
    const height = canvas.clientHeight
    if (canvas.width !== Math.round(width * dpr) || canvas.height !== Math.round(height * dpr)) {
      canvas.width = Math.round(width * dpr)
      canvas.height = Math.round(height * dpr)
    }
    const ctx = canvas.getContext('2d')
    if (!ctx) return
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0)
    ctx.clearRect(0, 0, width, height)

    const now = Date.now()
    const nowS = Math.floor(now / 1000)
    const left = 28
    const plotW = width - left - 4
    const plotH = height - TOP - STRIP_H - AXIS_H - 6
    const base = TOP + plotH // y of zero
    const barW = plotW / WINDOW_S
    const xOf = (t) => left + plotW - ((now - t) / 1000) * barW

    // Forget what scrolled out of the window.
    for (const second of this.#buckets.keys()) if (second < nowS - WINDOW_S - 1) this.#buckets.delete(second)

    let max = 4
    for (const b of this.#buckets.values()) max = Math.max(max, b.live + b.replay)
    max = Math.ceil(max / 4) * 4

    // Grid and y labels.
    ctx.font = '10px system-ui, sans-serif'
    ctx.fillStyle = this.#colors.text
    ctx.strokeStyle = this.#colors.grid
    ctx.lineWidth = 1
    for (let i = 0; i <= 4; i++) {
      const y = Math.round(base - (plotH * i) / 4) + 0.5
      ctx.beginPath()
      ctx.moveTo(left, y)
      ctx.lineTo(left + plotW, y)
      ctx.stroke()
      ctx.textAlign = 'right'
      ctx.fillText(String((max * i) / 4), left - 5, y + 3)
    }

    // One stacked bar per whole second (the current, partial second is drawn too: it grows).
    for (let s = nowS - WINDOW_S; s <= nowS; s++) {
      const b = this.#buckets.get(s)
      if (!b) continue
      const x = xOf((s + 1) * 1000)
      const liveH = (b.live / max) * plotH
      const replayH = (b.replay / max) * plotH
      ctx.fillStyle = this.#colors.live
      ctx.fillRect(x + 1, base - liveH, barW - 2, liveH)
      ctx.fillStyle = this.#colors.replay
      ctx.fillRect(x + 1, base - liveH - replayH, barW - 2, replayH)
    }

    // Status strip: each status from when it began until the next one.
    const stripY = base + 4
    for (let i = 0; i < this.#statuses.length; i++) {
      const { status, at } = this.#statuses[i]
      const end = this.#statuses[i + 1]?.at ?? now
      if (end < now - WINDOW_S * 1000) continue
      const x0 = Math.max(left, xOf(at))
      const x1 = xOf(end)
      ctx.fillStyle = this.#colors.status[status] ?? this.#colors.text
      ctx.fillRect(x0, stripY, Math.max(1.5, x1 - x0), STRIP_H - 4)
    }
    while (this.#statuses.length > 1 && (this.#statuses[1]?.at ?? now) < now - WINDOW_S * 1000) this.#statuses.shift()

    // Fault markers: a dashed line through bars and strip, labelled at the top.
    ctx.save()
    ctx.setLineDash([3, 3])
    ctx.strokeStyle = this.#colors.fault
    ctx.fillStyle = this.#colors.fault
    // Labels of faults pressed close together go on separate lines instead of overprinting.
    const lineEnds = [-Infinity, -Infinity]
    for (const { name, at } of this.#faults) {
      const x = Math.round(xOf(at)) + 0.5
      if (x < left) continue
      ctx.beginPath()
      ctx.moveTo(x, 2)
      ctx.lineTo(x, stripY + STRIP_H - 4)
      ctx.stroke()
      const label = `⚡${name}`
      const w = ctx.measureText(label).width
      // Near the right edge the label goes to the left of its line.
      const flip = x + 3 + w > left + plotW
      const start = flip ? x - 3 - w : x + 3
      let line = lineEnds.findIndex((end) => start > end + 4)
      if (line === -1) line = lineEnds.length - 1
      lineEnds[line] = start + w
      ctx.textAlign = flip ? 'right' : 'left'
      ctx.fillText(label, flip ? x - 3 : x + 3, 9 + line * 11)
    }
    ctx.restore()
    this.#faults = this.#faults.filter((f) => f.at >= now - WINDOW_S * 1000)

    // Time axis.
    ctx.fillStyle = this.#colors.text
    ctx.textAlign = 'center'
    for (let ago = 60; ago >= 0; ago -= 10) {
      const x = left + plotW - ago * barW
      ctx.fillText(ago === 0 ? 'now' : `-${ago}s`, Math.min(Math.max(x, left + 10), left + plotW - 10), height - 3)
    }
  }
}
