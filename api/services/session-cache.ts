import type { SessionState } from '../../db/repositories/sessions.ts'
import type { Clock } from './clock.ts'

interface Entry {
  state: SessionState | undefined
  fetchedAt: number
}

const MAX_ENTRIES = 20_000

/**
 * A few seconds of memory in front of the per-request session and user check. Anything this
 * instance revokes or changes is evicted at once; another instance's changes are seen within the TTL
 * (at most 5 s, by configuration). A load that raced with an eviction is used once but not cached, so
 * an eviction can never be undone by a slow read.
 */
export class SessionCache {
  private readonly entries = new Map<string, Entry>()
  private generation = 0

  constructor(
    private readonly ttlMs: number,
    private readonly clock: Clock,
  ) {}

  async get(sessionId: string, load: (sessionId: string) => Promise<SessionState | undefined>): Promise<SessionState | undefined> {
    const now = this.clock()
    const hit = this.entries.get(sessionId)
    if (hit && now - hit.fetchedAt < this.ttlMs && now >= hit.fetchedAt) return hit.state
    const generation = this.generation
    const state = await load(sessionId)
    if (this.ttlMs > 0 && generation === this.generation) {
      if (this.entries.size >= MAX_ENTRIES) this.entries.clear()
      this.entries.set(sessionId, { state, fetchedAt: now })
    }
    return state
  }

  evictSession(sessionId: string): void {
    this.generation++
    this.entries.delete(sessionId)
  }

  evictUser(userId: string): void {
    this.generation++
    for (const [sessionId, entry] of this.entries) {
      if (entry.state?.userId === userId) this.entries.delete(sessionId)
    }
  }

  clear(): void {
    this.generation++
    this.entries.clear()
  }
}
