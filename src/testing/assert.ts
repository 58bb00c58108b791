import type { Checkpoint } from '../checkpoint/contract.js'
import type { StoreErrorReason } from '../errors.js'

/**
 * The suite's own assertions: a few lines instead of a test framework's `expect`, so it runs under
 * any runner (vitest, `node:test`, `Deno.test`, a bare page or a Worker).
 */
export class ContractViolation extends Error {
  override name = 'ContractViolation'
}

export function check(condition: boolean, message: string): asserts condition {
  if (!condition) throw new ContractViolation(message)
}

/** Compares the fields a store must round-trip; `undefined` means "no checkpoint". */
export function checkCheckpoint(actual: Checkpoint | undefined, expected: Checkpoint | undefined, what: string): void {
  const got = show(actual)
  const want = show(expected)
  check(got === want, `${what}: expected ${want}, got ${got}`)
}

/**
 * Expects a `StoreError` with `reason`. Checked by shape (`code`, `reason`), not `instanceof`, so a
 * store built from another copy of this package still passes.
 */
export async function checkRejectsWith(promise: Promise<unknown>, reason: StoreErrorReason, what: string): Promise<void> {
  let settled: { error: unknown } | undefined
  try {
    await promise
  } catch (error) {
    settled = { error }
  }
  check(settled !== undefined, `${what}: expected a StoreError('${reason}'), but it resolved`)
  const error = settled.error as { code?: unknown; reason?: unknown; name?: unknown; message?: unknown } | null
  check(
    typeof error === 'object' && error !== null && error.code === 'store' && error.reason === reason,
    `${what}: expected a StoreError('${reason}'), got ${describeError(settled.error)}`,
  )
}

function describeError(error: unknown): string {
  if (typeof error !== 'object' || error === null) return String(error)
  const { name, code, reason, message } = error as Record<string, unknown>
  return `${String(name)}${code ? ` code=${String(code)}` : ''}${reason ? ` reason=${String(reason)}` : ''}: ${String(message)}`
}

/** A canonical text form, so key order and absent-vs-undefined fields do not matter. */
function show(checkpoint: Checkpoint | undefined): string {
  if (checkpoint === undefined) return 'undefined'
  if (typeof checkpoint !== 'object' || checkpoint === null) return `not a checkpoint (${String(checkpoint)})`
  const meta = checkpoint.meta
  return JSON.stringify({
    sequence: checkpoint.sequence,
    cursor: checkpoint.cursor,
    meta: meta === undefined ? null : Object.fromEntries(Object.entries(meta).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
    committedAt: checkpoint.committedAt ?? null,
  })
}
