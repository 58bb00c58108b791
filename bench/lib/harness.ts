// Runs clients round-robin: warm-up rounds first, then measured rounds, every round visiting every
// client once in a rotated order, so slow drift of a noisy machine (thermal, a neighbour's job) is spread
// over all clients instead of landing on whichever ran last.
//
// Steady state by default: one full gc() before the warm-up rounds and none after, so the timed runs
// meet the optimized code and heap the warm-up left, as a long-lived process would. A gc() right before
// each timed run (`gcBeforeEach`, the old method) deoptimizes just-optimized code on this V8 and slowed
// every client 1.6-2.4x, unevenly; it is kept only as a second regime for comparison.
import type { Client, Tally, Target } from './clients.js'
import { median } from './stats.js'

export interface Sample {
  ms: number
  /** process.cpuUsage() user + system, ms (this process only). */
  cpuMs: number
  tally: Tally
}

export interface Measured {
  client: Client
  samples: Sample[]
  /** Wall ms per measured round (index = round; a hole where the client had failed). */
  perRound: number[]
  /** Median wall time of the measured rounds, ms. */
  ms: number
  cpuMs: number
  /** A description of what went wrong, when the client did not deliver exactly the expected stream. */
  problem?: string
  tally?: Tally
}

export interface Expectation {
  events: number
  dataChars: number
}

export interface RoundOptions {
  warmup: number
  runs: number
  /** Called between samples (e.g. to let a server settle); default: none. */
  between?: () => Promise<void>
  /** A full gc() right before every run (warm-up and timed): the gc regime, not the steady state. */
  gcBeforeEach?: boolean
}

export async function measureRounds(
  clients: readonly Client[],
  target: () => Target,
  expect: Expectation,
  options: RoundOptions,
): Promise<Measured[]> {
  const results = clients.map<Measured>((client) => ({ client, samples: [], perRound: [], ms: Number.NaN, cpuMs: Number.NaN }))
  const rounds = options.warmup + options.runs
  // Well before the timed runs: the garbage of whatever ran earlier does not land on the first client.
  if (!options.gcBeforeEach) globalThis.gc?.()
  for (let round = 0; round < rounds; round++) {
    for (let k = 0; k < results.length; k++) {
      const result = results[(k + round) % results.length]!
      if (result.problem) continue
      if (options.gcBeforeEach) globalThis.gc?.()
      const cpu = process.cpuUsage()
      const started = performance.now()
      let tally: Tally
      try {
        tally = await result.client.consume(target())
      } catch (error) {
        result.problem = `failed: ${(error as Error).message ?? String(error)}`
        continue
      }
      const ms = performance.now() - started
      const used = process.cpuUsage(cpu)
      if (tally.events !== expect.events || tally.dataChars !== expect.dataChars) {
        result.problem = `delivered ${tally.events} events / ${tally.dataChars} data chars, expected ${expect.events} / ${expect.dataChars}`
        continue
      }
      result.tally = tally
      if (round >= options.warmup) {
        result.samples.push({ ms, cpuMs: (used.user + used.system) / 1000, tally })
        result.perRound[round - options.warmup] = ms
      }
      if (options.between) await options.between()
    }
  }
  for (const result of results) {
    if (result.samples.length > 0) {
      result.ms = median(result.samples.map((s) => s.ms))
      result.cpuMs = median(result.samples.map((s) => s.cpuMs))
    }
  }
  return results
}
