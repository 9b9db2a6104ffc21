import type { Kysely } from 'kysely'
import {
  deletePortalSession,
  deletePortalSessionsOfUser,
  findPortalSession,
  insertPortalSession,
  touchPortalSession,
  updatePortalUserSnapshot,
  type PortalSessionRow,
} from '../db/repositories/portal-sessions.ts'
import type { Database, PortalUserSnapshot } from '../db/types.ts'
import type { ApiClient, CallContext, TokenPair, UserJson } from './api-client.ts'
import { SessionExpiredError } from './errors.ts'
import { RefreshLease } from './refresh-lease.ts'
import { randomToken, sha256Hex } from '../platform/crypto.ts'
import type { SecretBox } from './secrets.ts'
import { snapshotOf } from './user-snapshot.ts'

export { snapshotOf }

/** A signed-in visitor's session, as one request sees it. */
export class PortalSession {
  private accessToken: string | undefined

  constructor(
    readonly id: string,
    private row: PortalSessionRow,
  ) {}

  get user(): PortalUserSnapshot {
    return this.row.user_snapshot
  }
  get userId(): string {
    return this.row.user_id
  }
  get csrfToken(): string {
    return this.row.csrf_secret
  }
  get accessExpiresAt(): Date {
    return this.row.access_expires_at
  }
  get createdAt(): Date {
    return this.row.created_at
  }

  /** @internal the session store's view of the row */
  current(): PortalSessionRow {
    return this.row
  }

  /** @internal */
  replace(row: PortalSessionRow, accessToken: string): void {
    this.row = row
    this.accessToken = accessToken
  }

  /** @internal */
  setUser(user: PortalUserSnapshot): void {
    this.row = { ...this.row, user_snapshot: user }
  }

  /** @internal */
  cachedAccessToken(): string | undefined {
    return this.accessToken
  }

  /** @internal */
  cacheAccessToken(token: string): void {
    this.accessToken = token
  }
}

export interface SessionStoreOptions {
  db: Kysely<Database>
  box: SecretBox
  api: ApiClient
  idleMs: number
  absoluteMs: number
  /** refresh when the access token expires within this many ms */
  refreshMarginMs: number
  /**
   * How long a session row read from the database is reused in this process (ms; 0 = always read).
   * Like the API's own session cache: a sign-out in another portal process shows here within this
   * time, and the API refuses the revoked token meanwhile.
   */
  cacheMs?: number
  now?: () => Date
  sleep?: (ms: number) => Promise<void>
}

/** last_seen_at is written at most this often per session (a write per page view is waste). */
const TOUCH_EVERY_MS = 60_000

/**
 * Portal sessions in Postgres and the API tokens they hold. The browser gets only a random cookie
 * value; the row's id is its SHA-256. Tokens are sealed with AES-256-GCM before they are stored.
 *
 * Transparent refresh: a request that finds the access token about to expire asks for a refresh.
 * Inside one process, concurrent requests for the same session share one promise; across
 * processes the refresh lease (refresh-lease.ts) lets exactly one of them call the API.
 */
interface CachedSession {
  row: PortalSessionRow
  accessToken: string | undefined
  until: number
}

const MAX_CACHED_SESSIONS = 10_000

export class SessionStore {
  private readonly inflight = new Map<string, Promise<string>>()
  private readonly cache = new Map<string, CachedSession>()
  private readonly now: () => Date
  private readonly lease: RefreshLease

  constructor(private readonly options: SessionStoreOptions) {
    this.now = options.now ?? (() => new Date())
    this.lease = new RefreshLease({
      db: options.db,
      box: options.box,
      api: options.api,
      refreshMarginMs: options.refreshMarginMs,
      now: this.now,
      sleep: options.sleep,
      ended: (id) => this.cache.delete(id),
    })
  }

  private get db() {
    return this.options.db
  }

  private seal(token: string): Buffer {
    return this.options.box.seal('api-token', token)
  }

  private open(sealed: Buffer): string | undefined {
    return this.options.box.open('api-token', sealed)
  }

  private expiryFrom(now: Date, createdAt: Date): Date {
    return new Date(Math.min(now.getTime() + this.options.idleMs, createdAt.getTime() + this.options.absoluteMs))
  }

  /** A new session for freshly issued tokens; returns the cookie value (the only copy of it). */
  async create(tokens: TokenPair, user: UserJson, userAgent: string | undefined): Promise<{ cookieValue: string; session: PortalSession }> {
    const cookieValue = randomToken(32)
    const id = sha256Hex(cookieValue)
    const now = this.now()
    const row = {
      id,
      user_id: user.id,
      user_snapshot: snapshotOf(user),
      access_token_enc: this.seal(tokens.access_token),
      refresh_token_enc: this.seal(tokens.refresh_token),
      access_expires_at: new Date(now.getTime() + tokens.expires_in * 1000),
      csrf_secret: randomToken(32),
      user_agent: userAgent ? userAgent.slice(0, 300) : null,
      created_at: now,
      last_seen_at: now,
      expires_at: this.expiryFrom(now, now),
    }
    await insertPortalSession(this.db, row)
    const session = new PortalSession(id, { ...row, refresh_lease_until: null })
    session.cacheAccessToken(tokens.access_token)
    return { cookieValue, session }
  }

  /** The live session behind a cookie value, or undefined. */
  async load(cookieValue: string | undefined): Promise<PortalSession | undefined> {
    if (!cookieValue || cookieValue.length > 100) return undefined
    const id = sha256Hex(cookieValue)
    const now = this.now()
    const cached = this.cache.get(id)
    let row: PortalSessionRow | undefined
    if (cached && cached.until > Date.now() && cached.row.expires_at > now) {
      row = { ...cached.row }
    } else {
      row = await findPortalSession(this.db, id, now)
      if (!row) {
        this.cache.delete(id)
        return undefined
      }
      if (this.open(row.refresh_token_enc) === undefined) {
        // Sealed in another format or under another key (the key changed): the session cannot
        // be used any more, so it ends here and the visitor signs in again.
        await deletePortalSession(this.db, id)
        return undefined
      }
      this.remember(row, undefined)
    }
    if (now.getTime() - row.last_seen_at.getTime() >= TOUCH_EVERY_MS) {
      const expiresAt = this.expiryFrom(now, row.created_at)
      await touchPortalSession(this.db, id, now, expiresAt)
      row.last_seen_at = now
      row.expires_at = expiresAt
      this.remember(row, this.cache.get(id)?.accessToken)
    }
    const session = new PortalSession(id, row)
    const token = this.cache.get(id)?.accessToken
    if (token !== undefined) session.cacheAccessToken(token)
    return session
  }

  private remember(row: PortalSessionRow, accessToken: string | undefined): void {
    const ttl = this.options.cacheMs ?? 0
    if (ttl <= 0) return
    if (this.cache.size >= MAX_CACHED_SESSIONS) {
      const oldest = this.cache.keys().next().value
      if (oldest !== undefined) this.cache.delete(oldest)
    }
    this.cache.delete(row.id)
    this.cache.set(row.id, { row: { ...row }, accessToken, until: Date.now() + ttl })
  }

  /** Deletes the session and revokes its API session (best effort: the portal side always goes). */
  async destroy(session: PortalSession, ctx: CallContext): Promise<void> {
    this.cache.delete(session.id)
    const row = await deletePortalSession(this.db, session.id)
    if (!row) return
    const access = this.open(row.access_token_enc)
    const refresh = this.open(row.refresh_token_enc)
    if (access && refresh) {
      await this.options.api.logout(refresh, { ...ctx, token: access }).catch(() => {})
    }
  }

  /** Records a changed user (role) in the session at once. */
  async updateSnapshot(session: PortalSession, user: PortalUserSnapshot): Promise<void> {
    await updatePortalUserSnapshot(this.db, session.id, user)
    session.setUser(user)
    this.remember(session.current(), session.cachedAccessToken())
  }

  /** Deletes the session without calling the API (its API session is already gone). */
  async forget(session: PortalSession): Promise<void> {
    this.cache.delete(session.id)
    await deletePortalSession(this.db, session.id)
  }

  /** Removes every portal session of a user (after "sign out everywhere"). */
  async destroyAllOfUser(userId: string): Promise<number> {
    for (const [id, entry] of this.cache) if (entry.row.user_id === userId) this.cache.delete(id)
    return deletePortalSessionsOfUser(this.db, userId)
  }

  /**
   * A usable access token for this session, refreshed first when it expires within the margin.
   * `rejected` is a token the API has just refused: a refresh is forced unless the stored token is
   * already a different one.
   */
  async accessToken(session: PortalSession, ctx: CallContext, rejected?: string): Promise<string> {
    const row = session.current()
    let cached = session.cachedAccessToken()
    if (cached === undefined) {
      cached = this.open(row.access_token_enc)
      if (cached === undefined) throw new SessionExpiredError()
      session.cacheAccessToken(cached)
      const entry = this.cache.get(session.id)
      if (entry && entry.row.access_token_enc.equals(row.access_token_enc)) entry.accessToken = cached
    }
    if (rejected === undefined && !this.needsRefresh(row)) return cached
    let pending = this.inflight.get(session.id)
    if (!pending) {
      pending = this.lease.refresh(session.id, ctx, rejected).finally(() => this.inflight.delete(session.id))
      this.inflight.set(session.id, pending)
    }
    const token = await pending
    const fresh = await findPortalSession(this.db, session.id, this.now())
    if (fresh) {
      session.replace(fresh, token)
      this.remember(fresh, this.open(fresh.access_token_enc) === token ? token : undefined)
    } else {
      this.cache.delete(session.id)
      session.cacheAccessToken(token)
    }
    return token
  }

  private needsRefresh(row: PortalSessionRow): boolean {
    return row.access_expires_at.getTime() - this.now().getTime() <= this.options.refreshMarginMs
  }
}
