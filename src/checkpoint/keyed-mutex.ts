/**
 * Runs async sections one at a time per key, in call order, so a read-compare-write on one key can
 * never interleave with another on the same key (the await between read and write is where a racing
 * put would otherwise slip in). Keys do not wait for each other. A failed section does not block the
 * next one. Entries are dropped when a key goes idle, so the map does not grow with the key count.
 */
export class KeyedMutex {
  readonly #tails = new Map<string, Promise<unknown>>()

  run<T>(key: string, section: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(key) ?? Promise.resolve()
    const result = previous.then(section, section)
    const tail = result.then(
      () => {},
      () => {},
    )
    this.#tails.set(key, tail)
    void tail.then(() => {
      if (this.#tails.get(key) === tail) this.#tails.delete(key)
    })
    return result
  }
}
