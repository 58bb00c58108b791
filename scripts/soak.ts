// `npm run soak`: the built package (dist/) against the fault-injecting test server for a long time.
// Not part of `npm test` (a few minutes of wall time): a benchmark-like script that exits non-zero when
// an event is lost.
//
// One feed of EVENTS numbered events is consumed by a chain of consumer runs on ONE MemoryStore and one
// key, each run a new `subscribe()` that resumes from the checkpoint the previous run left. Each run has
// its own `sid`, so its own plan: a seeded shuffle of every fault kind the server supports (at least
// FAULTS of each over the whole soak), one plan entry per connection. A run ends (a "restart") at the
// first event after its plan is used up, by `break`, `sub.close()` or an aborted signal in turn; the
// last run follows the feed to its end. Every delivery is counted per id, so the summary shows what was
// lost (ids never delivered), duplicated, and redelivered by each restart.
//
//   SOAK_SEED=1  SOAK_EVENTS=100000  SOAK_FAULTS=220 (per kind)  SOAK_RUNS=12  SOAK_OUT=path
//
// A run with the defaults writes bench/SOAK.md; with any knob set, only SOAK_OUT (if given) is written.
import { type ChildProcess, execSync, spawn } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { cpus } from 'node:os'
import { createInterface } from 'node:readline'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { seededRandom } from '../bench/lib/prng.js'
import { feedUrl, type PlanEntry } from '../test/server/sse-server.js'

type Lib = typeof import('../src/index.js')

const root = fileURLToPath(new URL('..', import.meta.url))
const env = (name: string, fallback: number): number => {
  const value = Number(process.env[name] ?? fallback)
  if (!Number.isSafeInteger(value) || value < 1) throw new Error(`${name} must be a positive integer`)
  return value
}
const SEED = env('SOAK_SEED', 1)
const EVENTS = env('SOAK_EVENTS', 100_000)
const FAULTS = env('SOAK_FAULTS', 220)
const RUNS = env('SOAK_RUNS', 12)
/** No delivery for this long means the subscription is wedged: a finding, reported like a loss. */
const STUCK_MS = 60_000
const TOKEN = 'soak-token'

// Every fault the test server can inject on a connection (test/server/README.md), named as reported.
// Kinds that carry events send `events: m` new ones first; the others answer a status instead.
const EVENT_KINDS = {
  eof: { then: 'end' },
  drop: { then: 'drop' },
  'drop-mid-frame': { then: 'drop-mid-frame' },
  stall: { then: 'stall' },
  garbage: { garbage: 'retry: banana\r\nevent\r\n: a comment\r\nunknown: field\r\nid: with\u0000nul\r\n\r\n' },
  'lie-repeat': { lie: 'repeat' },
  'lie-backwards': { lie: 'backwards' },
  'idless-event': { bigEvent: 200 },
  'wrong-retry': { retry: 0 },
} satisfies Record<string, PlanEntry>
const STATUS_KINDS = {
  '503+Retry-After': { status: 503, retryAfter: '0', body: '{"error":"maintenance"}' },
  '429+Retry-After': { status: 429, retryAfter: '0' },
  '500': { status: 500, body: 'boom' },
  '502': { status: 502 },
  '401→refreshAuth': { status: 401, body: '{"error":"expired"}' },
} satisfies Record<string, PlanEntry>
type Kind = keyof typeof EVENT_KINDS | keyof typeof STATUS_KINDS
const KINDS = [...Object.keys(EVENT_KINDS), ...Object.keys(STATUS_KINDS)] as Kind[]

interface Planned {
  kind: Kind
  entry: PlanEntry
}

/** Every run's plan: FAULTS of each kind, shuffled with the seed, cut into RUNS pieces. */
function makePlans(random: () => number): Planned[][] {
  const eventKinds = Object.keys(EVENT_KINDS).length
  // ~90 % of the feed arrives on planned connections; the last run's plain connection brings the rest.
  const mean = Math.max(1, Math.floor((EVENTS * 0.9) / (eventKinds * FAULTS)))
  const all: Planned[] = []
  for (const kind of KINDS) {
    for (let i = 0; i < FAULTS; i++) {
      const base = (EVENT_KINDS as Record<string, PlanEntry>)[kind] ?? (STATUS_KINDS as Record<string, PlanEntry>)[kind]!
      const entry: PlanEntry = kind in EVENT_KINDS ? { events: 1 + Math.floor(random() * (2 * mean - 1)), ...base } : { ...base }
      all.push({ kind, entry })
    }
  }
  for (let i = all.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1))
    ;[all[i], all[j]] = [all[j]!, all[i]!]
  }
  // A 401 straight after a refreshed 401 is fatal by design (`auth`), so each 401 is followed by a
  // connection that streams: swap the next event-bearing entry in behind it.
  for (let i = 0; i < all.length - 1; i++) {
    if (all[i]!.entry.status !== 401 || all[i + 1]!.entry.status === undefined) continue
    const j = all.findIndex((p, k) => k > i + 1 && p.entry.status === undefined)
    if (j !== -1) [all[i + 1], all[j]] = [all[j]!, all[i + 1]!]
  }
  const plans: Planned[][] = []
  const per = Math.ceil(all.length / RUNS)
  for (let r = 0; r < RUNS; r++) plans.push(all.slice(r * per, (r + 1) * per))
  return plans
}

async function startServer(): Promise<{ url: string; child: ChildProcess }> {
  // A run's plan travels in the URL (~15 kB percent-encoded): above Node's default 16 KiB header limit
  // once the request line and headers are added, so the server process gets a larger one.
  const child = spawn(
    process.execPath,
    ['--max-http-header-size=1048576', '--import', 'tsx', 'test/server/cli.ts', '--ttl', '1800'],
    { cwd: root, stdio: ['pipe', 'pipe', 'inherit'] },
  )
  const lines = createInterface({ input: child.stdout! })
  const url = await new Promise<string>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the test server exited early (${code})`)))
    lines.once('line', (line) => resolve((JSON.parse(line) as { url: string }).url))
  })
  return { url, child }
}

const { subscribe, MemoryStore } = (await import(pathToFileURL(`${root}dist/index.js`).href)) as Lib
const started = performance.now()
let peakHeap = 0
const sampleHeap = (): void => {
  peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed)
}
const heapTimer = setInterval(sampleHeap, 100)

const random = seededRandom(SEED)
const plans = makePlans(random)
const server = await startServer()
/**
 * The one store every run shares: a MemoryStore whose writes take 0-3 ms (seeded), like a durable
 * store, so a restart can meet a checkpoint write still in flight. Writes are counted.
 */
const memory = new MemoryStore()
let puts = 0
const store: typeof memory = Object.assign(Object.create(memory) as typeof memory, {
  get: (k: string) => memory.get(k),
  delete: (k: string) => memory.delete(k),
  put: (k: string, checkpoint: Parameters<typeof memory.put>[1]) => {
    puts++
    const latency = Math.floor(random() * 4)
    return new Promise<void>((resolve, reject) => setTimeout(() => memory.put(k, checkpoint).then(resolve, reject), latency))
  },
})
const key = 'soak'

/** Deliveries per id (index = id). */
const deliveries = new Uint32Array(EVENTS + 1)
/** The run that first delivered each id. */
const firstRun = new Int16Array(EVENTS + 1).fill(-1)
const faultsApplied = new Map<Kind, number>(KINDS.map((k) => [k, 0]))
const statusReasons = new Map<string, number>()
const notices = new Map<string, number>()
let reconnects = 0
let idless = 0
let outOfOrder = 0
let duplicatesWithinRun = 0
let lastProgress = performance.now()
const runs: { mode: string; delivered: number; redelivered: number; requests: number; first: number; last: number; seconds: number }[] = []
const problems: string[] = []

const restartModes = ['break', 'close', 'abort'] as const

for (let r = 0; r < RUNS && problems.length === 0; r++) {
  const plan = plans[r]!
  const last = r === RUNS - 1
  const mode = last ? 'end of feed' : restartModes[r % restartModes.length]!
  const url = feedUrl(server.url, { sid: `soak-${SEED}-${r}`, total: EVENTS, token: TOKEN, plan: plan.map((p) => p.entry) })
  const controller = new AbortController()
  let requests = 0
  const runStarted = performance.now()
  const sub = subscribe({
    url,
    key,
    store,
    signal: controller.signal,
    headers: { authorization: `Bearer ${TOKEN}` },
    // The injected 401s are not about the token: refreshing is a no-op, and the next attempt is planned.
    refreshAuth: () => {},
    backoff: { baseDelay: 1, maxDelay: 20 },
    heartbeatTimeout: 150,
    fetch: (input, init) => {
      requests++
      return fetch(input, init)
    },
    onStatus: (change) => {
      if (change.status === 'backoff' || (change.status === 'connecting' && change.previous === 'refreshing-auth')) {
        reconnects++
        const reason = change.reason ?? (change.status === 'connecting' ? 'auth-refresh' : '?')
        statusReasons.set(reason, (statusReasons.get(reason) ?? 0) + 1)
      }
    },
    onNotice: (notice) => notices.set(notice.kind, (notices.get(notice.kind) ?? 0) + 1),
  })
  let delivered = 0
  let redelivered = 0
  let first = 0
  let previous = 0
  const watchdog = setInterval(() => {
    if (performance.now() - lastProgress > STUCK_MS) {
      problems.push(`run ${r}: no event for ${STUCK_MS / 1000} s (status ${sub.status}, ${requests} requests, last id ${previous})`)
      controller.abort()
    }
  }, 1000)
  try {
    for await (const event of sub) {
      lastProgress = performance.now()
      const n = (event.json() as { n?: number }).n
      if (n === undefined) {
        idless++
        continue
      }
      if (first === 0) first = n
      if (n <= previous) outOfOrder++
      if (firstRun[n] === r) duplicatesWithinRun++
      else if (firstRun[n] !== -1) redelivered++
      else firstRun[n] = r
      deliveries[n]!++
      delivered++
      previous = n
      // A consumer that does some work now and then, so reading meets backpressure.
      if (delivered % 2000 === 0) await new Promise((resolve) => setImmediate(resolve))
      if (last ? n === EVENTS : requests > plan.length) {
        if (mode === 'break' || last) break
        if (mode === 'close') await sub.close()
        else controller.abort()
      }
    }
  } catch (error) {
    if (!(mode === 'abort' && controller.signal.aborted && problems.length === 0)) problems.push(`run ${r} (${mode}) failed: ${String(error)}`)
  } finally {
    clearInterval(watchdog)
  }
  // The server's connection count for this sid is how many plan entries were actually applied.
  const applied = Math.min(requests, plan.length)
  for (const { kind } of plan.slice(0, applied)) faultsApplied.set(kind, faultsApplied.get(kind)! + 1)
  runs.push({ mode, delivered, redelivered, requests, first, last: previous, seconds: (performance.now() - runStarted) / 1000 })
  sampleHeap()
  console.log(
    `run ${String(r + 1).padStart(2)}/${RUNS} (${mode.padEnd(11)}) ids ${first}..${previous}: ${delivered} delivered, ${redelivered} redelivered, ${requests} requests, ${((performance.now() - runStarted) / 1000).toFixed(1)} s`,
  )
}
clearInterval(heapTimer)
sampleHeap()
server.child.stdin?.end()

const lost: number[] = []
let duplicates = 0
for (let id = 1; id <= EVENTS; id++) {
  if (deliveries[id] === 0) lost.push(id)
  else duplicates += deliveries[id]! - 1
}
const seconds = (performance.now() - started) / 1000
const delivered = runs.reduce((sum, run) => sum + run.delivered, 0)
const ranges = (ids: number[]): string => {
  const parts: string[] = []
  for (let i = 0; i < ids.length && parts.length < 20; ) {
    let j = i
    while (j + 1 < ids.length && ids[j + 1] === ids[j]! + 1) j++
    parts.push(i === j ? `${ids[i]}` : `${ids[i]}-${ids[j]}`)
    i = j + 1
  }
  return parts.join(', ') + (parts.length === 20 ? ', ...' : '')
}
const tally = (map: Map<string, number>): string => [...map].map(([k, v]) => `${k} ${v}`).join(', ') || 'none'
const fewFaults = KINDS.filter((kind) => faultsApplied.get(kind)! < Math.min(200, FAULTS))

const report = [
  `seed ${SEED}; ${EVENTS} events; ${RUNS} consumer runs on one MemoryStore (${RUNS - 1} restarts); dist/ of commit ${commit()}`,
  `events delivered      ${delivered} (${EVENTS - lost.length} distinct ids of ${EVENTS}; ${idless} id-less events)`,
  `faults applied        ${[...faultsApplied].reduce((s, [, v]) => s + v, 0)}: ${tally(faultsApplied)}`,
  `reconnects            ${reconnects} (by reason: ${tally(statusReasons)})`,
  `notices               ${tally(notices)}`,
  `checkpoint writes     ${puts} (store put latency 0-3 ms)`,
  `lost                  ${lost.length}${lost.length ? ` (ids ${ranges(lost)})` : ''}`,
  `duplicates            ${duplicates} deliveries of an id already delivered (${duplicatesWithinRun} within one run, the rest after a restart)`,
  `out of order          ${outOfOrder} deliveries not above the previous id of the same run`,
  `redelivered / restart ${runs.slice(1).map((run, i) => `${runs[i]!.mode} ${run.redelivered}`).join(', ')}`,
  `wall time             ${seconds.toFixed(1)} s`,
  `peak heap             ${(peakHeap / 2 ** 20).toFixed(1)} MiB (heapUsed, sampled every 100 ms; the server runs in another process)`,
  ...(problems.length ? [`problems              ${problems.join('; ')}`] : []),
  ...(fewFaults.length ? [`too few faults        ${fewFaults.join(', ')} (the runs ended before their plans)`] : []),
]
console.log(`\n${report.join('\n')}`)
const failed = lost.length > 0 || problems.length > 0
console.log(failed ? '\nSOAK FAILED' : '\nsoak passed: nothing lost')
const defaults = ['SOAK_SEED', 'SOAK_EVENTS', 'SOAK_FAULTS', 'SOAK_RUNS'].every((name) => process.env[name] === undefined)
const out = process.env.SOAK_OUT ?? (defaults ? `${root}bench/SOAK.md` : undefined)
if (out) writeFileSync(out, markdown())
process.exitCode = failed ? 1 : 0
process.exit(process.exitCode)

function markdown(): string {
  return [
    '# Soak',
    '',
    `Generated by \`npm run soak\` (scripts/soak.ts) on ${new Date().toISOString().slice(0, 19)}Z: Node ${process.version}, ${cpus().length} cores (${cpus()[0]?.model.trim() ?? '?'}).`,
    '',
    '## Method',
    '',
    `- The built package (\`dist/index.js\`) reads one feed of ${EVENTS.toLocaleString('en')} numbered events from the fault-injecting test server (test/server/sse-server.ts, in a child process, over 127.0.0.1).`,
    `- ${RUNS} consumer runs follow one another on ONE \`MemoryStore\` and one \`key\`: each is a new \`subscribe()\` that resumes from the checkpoint the previous run left, and stops (a restart) at the first event after its fault plan is used up, by \`break\`, \`sub.close()\` or an aborted \`signal\` in turn.`,
    `- Each run's connections follow a seeded plan (seed ${SEED}): at least ${FAULTS} faults of every kind the server supports over the whole soak, one per connection, shuffled. Event-bearing kinds first send a random number of new events; \`garbage\` is unknown fields, an empty \`event\`, a comment, a bad \`retry\` and an \`id\` with a NUL; \`idless-event\` is a 200-byte event without an id; \`wrong-retry\` sends \`retry: 0\`; the 503 and 429 say \`Retry-After: 0\`; a 401 is followed by a connection that streams (a second 401 in a row is fatal by design).`,
    '- The store is a `MemoryStore` whose writes take 0-3 ms (seeded), so a restart can meet a write in flight.\n- Options: `backoff: { baseDelay: 1, maxDelay: 20 }`, `heartbeatTimeout: 150` (so a stall costs 150 ms), `refreshAuth` a no-op, the consumer yields to the event loop every 2000 events.',
    '- Lost = ids never delivered (the script exits 1); duplicates = deliveries of an id already delivered; redelivered per restart = ids the next run delivered again.',
    '',
    '## Latest output',
    '',
    '```',
    ...report,
    failed ? 'SOAK FAILED' : 'soak passed: nothing lost',
    '```',
    '',
  ].join('\n')
}

function commit(): string {
  try {
    return execSync('git rev-parse --short HEAD', { cwd: root }).toString().trim()
  } catch {
    return '?'
  }
}
