import { Redis } from 'ioredis'

/**
 * A short-lived cache of query results (list, search, stats) that never serves data across a write.
 * Every key is scoped by a generation number; a write bumps the generation after it commits and before
 * its response is sent, so any request that starts after a write can only see entries computed after
 * it. Entries of older generations simply age out. In-process by default; Redis when several API
 * instances must share one generation.
 */
export interface QueryCache {
  get<T>(key: string): Promise<T | undefined>
  set(key: string, value: unknown): Promise<void>
  /**
   * The cached value of `key`, or `compute()`'s, stored for the next caller. Concurrent misses of
   * one key in this process share one `compute()` (single flight), so a burst of identical requests
   * costs one query, not one per request waiting for a pooled connection.
   */
  getOrCompute<T>(key: string, compute: () => Promise<T>): Promise<T>
  /** Call after a committed write that changes profiles. */
  invalidate(): Promise<void>
  close(): Promise<void>
}

/**
 * Merges concurrent calls for one key into one. A write starts a new epoch: a call that begins
 * after an invalidation never joins a flight that began before it (which may have read pre-write
 * data), keeping the cache's promise of never serving data across a write within this process.
 */
export class SingleFlight {
  private epoch = 0
  private readonly flights = new Map<string, Promise<unknown>>()

  run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const k = `${this.epoch}:${key}`
    const running = this.flights.get(k)
    if (running) return running as Promise<T>
    const flight = fn().finally(() => {
      if (this.flights.get(k) === flight) this.flights.delete(k)
    })
    this.flights.set(k, flight)
    return flight
  }

  /** calls in flight right now */
  get size(): number {
    return this.flights.size
  }

  newEpoch(): void {
    this.epoch++
    this.flights.clear()
  }
}

abstract class SingleFlightCache implements QueryCache {
  protected readonly flights = new SingleFlight()

  abstract get<T>(key: string): Promise<T | undefined>
  abstract set(key: string, value: unknown): Promise<void>
  abstract invalidate(): Promise<void>
  abstract close(): Promise<void>

  async getOrCompute<T>(key: string, compute: () => Promise<T>): Promise<T> {
    const cached = await this.get<T>(key)
    if (cached !== undefined) return cached
    return this.flights.run(key, async () => {
      const value = await compute()
      await this.set(key, value)
      return value
    })
  }
}

export class MemoryQueryCache extends SingleFlightCache {
  private generation = 0
  private readonly entries = new Map<string, { value: unknown; expires: number; generation: number }>()

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries = 5000,
    private readonly now: () => number = Date.now,
  ) {
    super()
  }

  async get<T>(key: string): Promise<T | undefined> {
    const entry = this.entries.get(key)
    if (!entry) return undefined
    if (entry.generation !== this.generation || entry.expires <= this.now()) {
      this.entries.delete(key)
      return undefined
    }
    return entry.value as T
  }

  async set(key: string, value: unknown): Promise<void> {
    if (this.ttlMs <= 0) return
    if (this.entries.size >= this.maxEntries) {
      // Maps iterate in insertion order: drop the oldest tenth.
      let drop = Math.ceil(this.maxEntries / 10)
      for (const k of this.entries.keys()) {
        this.entries.delete(k)
        if (--drop === 0) break
      }
    }
    this.entries.set(key, { value, expires: this.now() + this.ttlMs, generation: this.generation })
  }

  async invalidate(): Promise<void> {
    this.generation++
    this.flights.newEpoch()
    this.entries.clear()
  }

  async close(): Promise<void> {
    this.entries.clear()
  }
}

export class RedisQueryCache extends SingleFlightCache {
  private readonly redis: Redis
  private readonly prefix: string

  constructor(
    url: string,
    private readonly ttlSeconds: number,
    private readonly onError: (error: unknown) => void,
    prefix = 'insighta:q',
  ) {
    super()
    this.prefix = prefix
    // Reads and fills skip Redis while it is not connected (a miss costs nothing); invalidations are
    // queued until it connects, bounded by the command timeout, because losing one would let another
    // instance serve pre-write data until its TTL ends.
    this.redis = new Redis(url, { maxRetriesPerRequest: 1, connectTimeout: 1000, commandTimeout: 500 })
    this.redis.on('error', () => {})
  }

  private get ready(): boolean {
    return this.redis.status === 'ready'
  }

  private async generation(): Promise<string> {
    return (await this.redis.get(`${this.prefix}:gen`)) ?? '0'
  }

  async get<T>(key: string): Promise<T | undefined> {
    if (this.ttlSeconds <= 0 || !this.ready) return undefined
    try {
      const raw = await this.redis.get(`${this.prefix}:${await this.generation()}:${key}`)
      return raw === null ? undefined : (JSON.parse(raw) as T)
    } catch (error) {
      this.onError(error)
      return undefined
    }
  }

  async set(key: string, value: unknown): Promise<void> {
    if (this.ttlSeconds <= 0 || !this.ready) return
    try {
      const gen = await this.generation()
      await this.redis.set(`${this.prefix}:${gen}:${key}`, JSON.stringify(value), 'EX', this.ttlSeconds)
    } catch (error) {
      this.onError(error)
    }
  }

  async invalidate(): Promise<void> {
    this.flights.newEpoch()
    try {
      await this.redis.incr(`${this.prefix}:gen`)
    } catch (error) {
      this.onError(error)
    }
  }

  async close(): Promise<void> {
    this.redis.disconnect()
  }
}
