/**
 * Exact results (totals, stats) remembered per canonical filter together with the database's write
 * generation of profiles (profile_totals.generation, bumped by every statement that inserts or deletes
 * profiles and visible at its commit). An entry is served only while the generation is unchanged, so
 * it is exact whichever instance or process wrote: no TTL, no cross-instance invalidation needed.
 * Varying page, limit and sort never recounts. Bounded: the oldest entries go first.
 */
export class GenerationCache<T> {
  private readonly entries = new Map<string, { generation: number; value: T }>()

  constructor(private readonly maxEntries = 10_000) {}

  get(key: string, generation: number): T | undefined {
    const entry = this.entries.get(key)
    if (!entry) return undefined
    if (entry.generation !== generation) {
      this.entries.delete(key)
      return undefined
    }
    return entry.value
  }

  /** The entry of `key` whatever its generation: the caller compares the generation it reads. */
  entry(key: string): { generation: number; value: T } | undefined {
    return this.entries.get(key)
  }

  /** `generation` must have been read no later than (or in the same statement as) the value. */
  set(key: string, generation: number, value: T): void {
    if (this.entries.size >= this.maxEntries && !this.entries.has(key)) {
      const oldest = this.entries.keys().next()
      if (!oldest.done) this.entries.delete(oldest.value)
    }
    this.entries.set(key, { generation, value })
  }

  get size(): number {
    return this.entries.size
  }
}
