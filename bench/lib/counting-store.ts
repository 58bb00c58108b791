import type { CheckpointStore } from '../../src/index.js'

/** Wraps a store so the bench sees every `put` the committer actually issues (its coalescing at work). */
export function countingStore(inner: CheckpointStore): CheckpointStore & { puts: number } {
  const counted = {
    puts: 0,
    get: (key: string) => inner.get(key),
    put: (key: string, checkpoint: Parameters<CheckpointStore['put']>[1]) => {
      counted.puts++
      return inner.put(key, checkpoint)
    },
    delete: (key: string) => inner.delete(key),
    ...(inner.flush ? { flush: () => inner.flush!() } : {}),
  }
  return counted
}
