/** Median of a non-empty sample (the figure every table reports; robust to one noisy run). */
export function median(values: readonly number[]): number {
  return quantile(values, 0.5)
}

/** Linear-interpolated quantile, q in [0, 1]. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  const at = (sorted.length - 1) * q
  const lo = Math.floor(at)
  const hi = Math.ceil(at)
  const a = sorted[lo] as number
  const b = sorted[hi] as number
  return a + (b - a) * (at - lo)
}

/** 1234567 → "1.23 M", 12345 → "12.3 k": the tables compare magnitudes, not digits. */
export function si(value: number, digits = 3): string {
  if (!Number.isFinite(value)) return 'n/a'
  const abs = Math.abs(value)
  if (abs >= 1e9) return `${(value / 1e9).toPrecision(digits)} G`
  if (abs >= 1e6) return `${(value / 1e6).toPrecision(digits)} M`
  if (abs >= 1e3) return `${(value / 1e3).toPrecision(digits)} k`
  return value.toPrecision(digits)
}

export function fixed(value: number, digits = 2): string {
  return Number.isFinite(value) ? value.toFixed(digits) : 'n/a'
}

export function ratio(value: number, baseline: number): string {
  return Number.isFinite(value) && Number.isFinite(baseline) && baseline > 0 ? `${(value / baseline).toFixed(2)}×` : 'n/a'
}

export function bytes(value: number): string {
  if (!Number.isFinite(value)) return 'n/a'
  const abs = Math.abs(value)
  if (abs >= 1024 * 1024) return `${(value / 1024 / 1024).toFixed(2)} MiB`
  if (abs >= 1024) return `${(value / 1024).toFixed(2)} KiB`
  return `${Math.round(value)} B`
}

/**
 * Median over rounds of `baseline[i] / value[i]` (wall times of the same round): each ratio compares two
 * runs made seconds apart, so a burst of load from elsewhere moves both sides of it.
 */
export function pairedRatio(baselineMs: readonly number[], valueMs: readonly number[]): number {
  const ratios = pairedRatios(baselineMs, valueMs)
  return ratios.length ? median(ratios) : Number.NaN
}

export function times(value: number): string {
  return Number.isFinite(value) ? `${value.toFixed(2)}×` : 'n/a'
}

/** The paired ratios `baseline[i] / value[i]` of every round both sides measured. */
export function pairedRatios(baselineMs: readonly number[], valueMs: readonly number[]): number[] {
  const ratios: number[] = []
  for (let i = 0; i < Math.min(baselineMs.length, valueMs.length); i++) {
    const b = baselineMs[i]
    const v = valueMs[i]
    if (b !== undefined && v !== undefined && Number.isFinite(b) && Number.isFinite(v) && v > 0) ratios.push(b / v)
  }
  return ratios
}

export interface Spread {
  median: number
  min: number
  max: number
  rounds: number
}

/** Median and range over rounds of the paired ratio: how far one round's figure can stray. */
export function ratioSpread(baselineMs: readonly number[], valueMs: readonly number[]): Spread {
  const ratios = pairedRatios(baselineMs, valueMs)
  return { median: median(ratios), min: Math.min(...ratios), max: Math.max(...ratios), rounds: ratios.length }
}

/** "1.33× (1.21–1.45)": the median paired ratio and its range over rounds. */
export function spreadText(spread: Spread): string {
  if (!Number.isFinite(spread.median)) return 'n/a'
  return spread.rounds > 1 ? `${spread.median.toFixed(2)}× (${spread.min.toFixed(2)}–${spread.max.toFixed(2)})` : `${spread.median.toFixed(2)}×`
}
