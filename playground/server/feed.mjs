// The demo feed: a durable, append-only log of dashboard events that grows on a timer whether or not
// anyone listens, like a real upstream (sensors report, deploys happen) feeding an SSE endpoint.
//
// Ids are contiguous integers. The first id of a process is derived from the wall clock (tenths of a
// second since 2025-01-01) and the generator never averages more than 8 events a second, so a restarted
// `npm run playground` always starts above every id an earlier process handed out: a browser's stored
// checkpoint can never point "into the future" and make the client dedupe fresh events away. (It will
// see a gap instead, because the old process's history is gone; the page shows that honestly.)

const EPOCH = Date.UTC(2025, 0, 1)

/** At most this many events are kept for `Last-Event-ID` replay (≈ 1.4 h at the average rate). */
export const HISTORY_LIMIT = 20_000

// Never faster than one event per 125 ms: the clock-derived first id above relies on it.
const MIN_GAP_MS = 125

const SENSORS = [
  { sensor: 'boiler-1', metric: 'temperature', unit: '°C', base: 71, spread: 4 },
  { sensor: 'boiler-2', metric: 'temperature', unit: '°C', base: 68, spread: 5 },
  { sensor: 'pump-3', metric: 'pressure', unit: 'bar', base: 4.2, spread: 0.6 },
  { sensor: 'line-a', metric: 'throughput', unit: 'items/min', base: 420, spread: 60 },
  { sensor: 'hall-2', metric: 'humidity', unit: '%', base: 44, spread: 6 },
]
const SERVICES = ['checkout', 'search', 'billing', 'inventory', 'auth-gateway']
const STAGES = ['started', 'canary', 'rolling', 'healthy']
const PEOPLE = ['ada', 'grace', 'linus', 'margaret', 'barbara']

const pick = (list) => list[Math.floor(Math.random() * list.length)]
const round = (value, digits) => Math.round(value * 10 ** digits) / 10 ** digits

/** One realistic dashboard event: mostly sensor readings, now and then a deploy step or an alert. */
export function makePayload(now = Date.now()) {
  const roll = Math.random()
  const at = new Date(now).toISOString()
  if (roll < 0.8) {
    const s = pick(SENSORS)
    // A slow wave plus noise, so a reading series looks like something measured.
    const value = s.base + s.spread * Math.sin(now / 20_000 + s.base) + (Math.random() - 0.5) * s.spread * 0.3
    return { type: 'reading', data: { sensor: s.sensor, metric: s.metric, value: round(value, 2), unit: s.unit, at } }
  }
  if (roll < 0.95) {
    return {
      type: 'deploy',
      data: {
        service: pick(SERVICES),
        version: `v1.${Math.floor(now / 600_000) % 100}.${Math.floor(Math.random() * 10)}`,
        stage: pick(STAGES),
        by: pick(PEOPLE),
        at,
      },
    }
  }
  const s = pick(SENSORS)
  return { type: 'alert', data: { sensor: s.sensor, level: Math.random() < 0.7 ? 'warning' : 'critical', message: `${s.metric} outside its band`, at } }
}

/** The wire form of one event: `id`, `event`, one `data` line (JSON never contains a raw newline). */
export function frame(event) {
  return `id: ${event.id}\nevent: ${event.type}\ndata: ${event.json}\n\n`
}

export class Feed {
  /** @type {{ id: number, type: string, json: string }[]} */
  #history = []
  #nextId
  #timer = undefined
  #listeners = new Set()
  #started = Date.now()

  constructor({ firstId } = {}) {
    this.#nextId = firstId ?? Math.floor((Date.now() - EPOCH) / 100)
  }

  /** Starts the generator: a few events a second, the rate drifting over a minute so the chart moves. */
  start() {
    if (this.#timer !== undefined) return
    const schedule = () => {
      const seconds = (Date.now() - this.#started) / 1000
      const rate = 4 + 2.5 * Math.sin(seconds / 9) + (Math.random() < 0.05 ? 3 : 0) // events / s
      const gap = Math.max(MIN_GAP_MS, (1000 / rate) * (0.5 + Math.random()))
      this.#timer = setTimeout(() => {
        this.append()
        schedule()
      }, gap)
    }
    schedule()
  }

  stop() {
    clearTimeout(this.#timer)
    this.#timer = undefined
  }

  /** Adds the next event to the log; `broadcast: false` lets a fault deliver it its own way. */
  append({ broadcast = true } = {}) {
    const { type, data } = makePayload()
    const event = { id: this.#nextId++, type, json: JSON.stringify(data) }
    this.#history.push(event)
    if (this.#history.length > HISTORY_LIMIT) this.#history.splice(0, this.#history.length - HISTORY_LIMIT)
    if (broadcast) for (const listener of this.#listeners) listener(event)
    return event
  }

  /** Called with every new event until the returned function is called. */
  listen(listener) {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  /**
   * What a client that last saw `lastId` missed. `gap` is true when the log no longer holds all of it
   * (older than HISTORY_LIMIT, or from an earlier server process): the replay starts at the oldest kept.
   */
  since(lastId) {
    const oldest = this.#history[0]
    if (oldest === undefined || lastId >= this.newestId) return { events: [], gap: false }
    if (lastId < oldest.id - 1) return { events: this.#history.slice(), gap: true }
    return { events: this.#history.slice(lastId - oldest.id + 1), gap: false }
  }

  /** The id of the newest event, or one below the first id when nothing was generated yet. */
  get newestId() {
    return this.#nextId - 1
  }

  get oldestId() {
    return this.#history[0]?.id
  }

  get size() {
    return this.#history.length
  }
}
