import { assertValidCheckpoint, type Checkpoint, type CheckpointStore, supersedes } from './contract.js'

/**
 * Checkpoints in a `Map`: the default for tests and for consumers that only need to survive
 * reconnects, not restarts. Stored values are copies, so a caller mutating its object later cannot
 * move a checkpoint behind the store's back.
 */
export class MemoryStore implements CheckpointStore {
  readonly #entries = new Map<string, Checkpoint>()

  async get(key: string): Promise<Checkpoint | undefined> {
    const found = this.#entries.get(key)
    return found && copy(found)
  }

  async put(key: string, checkpoint: Checkpoint): Promise<void> {
    assertValidCheckpoint(checkpoint)
    if (supersedes(checkpoint, this.#entries.get(key))) this.#entries.set(key, copy(checkpoint))
  }

  async delete(key: string): Promise<void> {
    this.#entries.delete(key)
  }

  async clear(): Promise<void> {
    this.#entries.clear()
  }
}

/** A copy a caller's later mutation cannot reach (shared with the KV store's pending values). */
export function copy(checkpoint: Checkpoint): Checkpoint {
  return checkpoint.meta ? { ...checkpoint, meta: { ...checkpoint.meta } } : { ...checkpoint }
}
