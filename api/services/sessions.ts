import { newId } from '../../contract/ids.ts'
import type { Db } from '../../db/index.ts'
import {
  diagnoseRefreshToken,
  forgetSealedSuccessor,
  insertRefreshToken,
  rotateRefreshToken,
  sessionIdOfRefreshToken,
} from '../../db/repositories/refresh-tokens.ts'
import {
  activateSession,
  findSession,
  findSessionState,
  insertSession,
  listLiveSessions,
  purgeEndedSessions,
  revokeSession,
  revokeUserSessions,
  type SessionRow,
} from '../../db/repositories/sessions.ts'
import type { AuthConfig } from '../config.ts'
import type { Role } from '../../contract/roles.ts'
import type { AccessClaims, AccessTokens, VerifiedAccessToken } from './access-tokens.ts'
import type { AuditLog, RequestContext } from './audit.ts'
import { newSecret, sha256Hex, type Sealer } from './auth-crypto.ts'
import { accountSuspended, unauthorized } from './auth-errors.ts'
import type { Clock, RandomBytes } from './clock.ts'
import { revocationBy } from './revocation.ts'
import type { SessionCache } from './session-cache.ts'

/** Who the current request acts for. The role is the user's CURRENT role, not the token's claim. */
export interface AuthenticatedUser {
  id: string
  username: string
  role: Role
  sessionId: string
  clientId: string
  /** the access token's `jti`, for logs and audit correlation */
  tokenId: string
  /** set when the request came with a personal access token (then there is no session: sessionId is '') */
  personalAccessTokenId?: string
}

export interface TokenPair {
  accessToken: string
  refreshToken: string
  /** seconds the access token lives */
  expiresIn: number
  /** seconds the refresh token stays usable if not rotated (idle limit, capped by the session's end) */
  refreshExpiresIn: number
  userId: string
  sessionId: string
}

export interface SessionDeps {
  db: Db
  config: AuthConfig
  clock: Clock
  random: RandomBytes
  tokens: AccessTokens
  cache: SessionCache
  audit: AuditLog
  sealer: Sealer
}

/** What a session records of the device it belongs to. */
function deviceOf(context: RequestContext): { ip: string | null; userAgent: string | null } {
  return { ip: context.ip, userAgent: context.userAgent?.slice(0, 512) ?? null }
}

/** Ended sessions are kept this long (for listings and investigations) before housekeeping drops them. */
const KEEP_ENDED_SESSIONS_MS = 30 * 86400 * 1000

/**
 * Sessions and their token families: creation, the per-request liveness check, refresh rotation with
 * reuse detection and the same-successor retry window, logout and revocation.
 */
export class SessionService {
  constructor(private readonly deps: SessionDeps) {}

  private now(): Date {
    return new Date(this.deps.clock())
  }

  /** A new session; `expiresAt` defaults to the absolute session lifetime from now. */
  async create(userId: string, clientId: string, context: RequestContext, expiresAt?: Date): Promise<SessionRow> {
    const now = this.now()
    // Housekeeping rides on logins (rare, not latency-critical) instead of a timer.
    await purgeEndedSessions(this.deps.db.db, new Date(now.getTime() - KEEP_ENDED_SESSIONS_MS))
    return insertSession(this.deps.db.db, {
      id: newId(),
      userId,
      clientId,
      ...deviceOf(context),
      now,
      expiresAt: expiresAt ?? new Date(now.getTime() + this.deps.config.sessionAbsoluteSeconds * 1000),
    })
  }

  /**
   * Gives a session that was waiting for its one-time code its full lifetime, counted from its start,
   * and stamps its use (the login completes now, as its first refresh token starts its idle time).
   * `holder` is the request that redeemed the code when that request comes from the device that will
   * use the tokens (the CLI, not a browser that approved it): the session is then labelled with its
   * address and user agent.
   */
  async activate(session: SessionRow, holder?: RequestContext): Promise<{ id: string; expiresAt: Date; usedAt: Date }> {
    const expiresAt = new Date(session.created_at.getTime() + this.deps.config.sessionAbsoluteSeconds * 1000)
    const usedAt = this.now()
    await activateSession(this.deps.db.db, session.id, { expiresAt, now: usedAt, device: holder && deviceOf(holder) })
    this.deps.cache.evictSession(session.id)
    return { id: session.id, expiresAt, usedAt }
  }

  private refreshExpiry(now: Date, sessionExpiresAt: Date): Date {
    const idle = now.getTime() + this.deps.config.refreshTokenIdleSeconds * 1000
    return new Date(Math.min(idle, sessionExpiresAt.getTime()))
  }

  private async pair(
    user: { id: string; role: Role },
    sessionId: string,
    refreshToken: string,
    refreshExpiresAt: Date,
    now: Date,
  ): Promise<TokenPair> {
    const accessToken = await this.deps.tokens.sign({ userId: user.id, role: user.role, sessionId })
    return {
      accessToken,
      refreshToken,
      expiresIn: this.deps.tokens.ttlSeconds,
      refreshExpiresIn: Math.max(0, Math.floor((refreshExpiresAt.getTime() - now.getTime()) / 1000)),
      userId: user.id,
      sessionId,
    }
  }

  /**
   * The first pair of a session. Its refresh token's idle time starts at `usedAt`, the instant stamped
   * as the session's last use, so "idle end = last use + idle lifetime" holds to the millisecond (two
   * reads of the clock could straddle a second and disagree once both are shown truncated).
   */
  async issue(user: { id: string; role: Role }, session: { id: string; expiresAt: Date; usedAt: Date }): Promise<TokenPair> {
    const now = session.usedAt
    const refreshToken = newSecret(this.deps.random, 32)
    const expiresAt = this.refreshExpiry(now, session.expiresAt)
    await insertRefreshToken(this.deps.db.db, {
      id: newId(),
      sessionId: session.id,
      tokenHash: sha256Hex(refreshToken),
      parentId: null,
      now,
      expiresAt,
    })
    return this.pair(user, session.id, refreshToken, expiresAt, now)
  }

  /** Identifies "the same client" for the retry window: user agent and (end-user) address. */
  private fingerprint(context: RequestContext): string {
    return sha256Hex(`${context.userAgent ?? ''}\n${context.ip ?? ''}`)
  }

  /**
   * Rotation. The presented token is marked used and its successor inserted in one transaction whose
   * first statement is the atomic rotation; when that statement finds nothing to rotate, the token is
   * diagnosed: unknown/expired/ended → 401; already used → reuse (→ the whole session is revoked,
   * audited, 401), unless a retry window is configured (off by default) and this is an exact retry of
   * the same rotation within it by the same client (→ the same successor refresh token, with a
   * freshly minted access token).
   */
  async refresh(presented: string, context: RequestContext): Promise<TokenPair> {
    const { db, config, random, sealer } = this.deps
    const now = this.now()
    const tokenHash = sha256Hex(presented)
    const successor = newSecret(random, 32)
    const successorId = newId()
    const usedBy = this.fingerprint(context)
    const rotated = await db.db.transaction().execute(async (trx) => {
      const row = await rotateRefreshToken(trx, {
        tokenHash,
        successorId,
        successorSealed: sealer.seal(successor, successorId),
        usedBy,
        now,
      })
      if (!row) return undefined
      const expiresAt = this.refreshExpiry(now, row.session_expires_at)
      await insertRefreshToken(trx, {
        id: successorId,
        sessionId: row.session_id,
        tokenHash: sha256Hex(successor),
        parentId: row.id,
        now,
        expiresAt,
      })
      await forgetSealedSuccessor(trx, row.id)
      await trx.updateTable('sessions').set({ last_used_at: now }).where('id', '=', row.session_id).execute()
      return { ...row, expiresAt }
    })
    if (rotated) return this.pair({ id: rotated.user_id, role: rotated.role }, rotated.session_id, successor, rotated.expiresAt, now)

    const found = await diagnoseRefreshToken(db.db, tokenHash)
    if (!found) throw unauthorized('Invalid refresh token', true)
    if (!found.is_active) throw accountSuspended()
    if (found.session_revoked_at !== null || found.session_expires_at <= now)
      throw unauthorized('Session has ended; log in again', true)
    if (found.used_at !== null) {
      // Off by default (REFRESH_RETRY_WINDOW_SECONDS=0): any second use is reuse (contract §5).
      const windowMs = config.refreshRetryWindowSeconds * 1000
      const withinWindow = windowMs > 0 && now.getTime() - found.used_at.getTime() <= windowMs
      const sameClient = found.used_by === usedBy
      if (
        withinWindow &&
        sameClient &&
        found.successor_id !== null &&
        found.successor_sealed !== null &&
        found.successor_used_at === null &&
        found.successor_expires_at !== null &&
        found.successor_expires_at > now
      ) {
        const successorToken = sealer.open(found.successor_sealed, found.successor_id)
        if (successorToken !== undefined) {
          return this.pair({ id: found.user_id, role: found.role }, found.session_id, successorToken, found.successor_expires_at, now)
        }
      }
      await this.revoke(found.session_id, 'refresh_reuse')
      await this.deps.audit.record('refresh.reuse', context, {
        subjectId: found.user_id,
        sessionId: found.session_id,
        details: { within_retry_window: withinWindow, same_client: sameClient },
      })
      throw unauthorized('Refresh token was already used; the session has been revoked', true)
    }
    if (found.expires_at <= now) throw unauthorized('Refresh token expired; log in again', true)
    throw unauthorized('Invalid refresh token', true)
  }

  /**
   * The per-request check behind every non-public route: a valid access token whose session is live
   * and whose user is active, through the short cache. A suspended user gets 403 whatever the state
   * of the session (suspension also ends the sessions, but the answer says why).
   */
  async authenticate(verified: VerifiedAccessToken): Promise<AuthenticatedUser> {
    if (!verified.ok) {
      throw unauthorized(verified.reason === 'expired' ? 'Access token expired' : 'Invalid access token', true)
    }
    const { claims } = verified
    const state = await this.deps.cache.get(claims.sid, (sid) => findSessionState(this.deps.db.db, sid))
    if (!state || state.userId !== claims.sub) throw unauthorized('Session not found; log in again', true)
    if (!state.isActive) throw accountSuspended()
    if (state.revokedAt !== null || state.expiresAt.getTime() <= this.deps.clock())
      throw unauthorized('Session has ended; log in again', true)
    return {
      id: state.userId,
      username: state.username,
      role: state.role,
      sessionId: state.sessionId,
      clientId: state.clientId,
      tokenId: claims.jti,
    }
  }

  /** Ends a session (idempotent); true when this call ended it. Evicts it from this instance's cache. */
  async revoke(sessionId: string, reason: string): Promise<SessionRow | undefined> {
    const ended = await revokeSession(this.deps.db.db, sessionId, reason, this.now())
    this.deps.cache.evictSession(sessionId)
    return ended
  }

  async revokeAllOfUser(userId: string, reason: string): Promise<string[]> {
    const ids = await revokeUserSessions(this.deps.db.db, userId, reason, this.now())
    this.deps.cache.evictUser(userId)
    for (const id of ids) this.deps.cache.evictSession(id)
    return ids
  }

  /**
   * Logout with whatever the client still holds: the access token (even an expired one: ending a
   * session is always safe) and/or a refresh token (even a used one, which still names its session).
   * Returns the session ended, or undefined when neither credential identified one.
   */
  async logout(
    credentials: { access?: VerifiedAccessToken; refreshToken?: string },
    context: RequestContext,
  ): Promise<{ sessionId: string } | undefined> {
    let claims: AccessClaims | undefined
    if (credentials.access?.ok) claims = credentials.access.claims
    else if (credentials.access && !credentials.access.ok) claims = credentials.access.expiredClaims
    let sessionId = claims?.sid
    if (sessionId === undefined && credentials.refreshToken) {
      sessionId = await sessionIdOfRefreshToken(this.deps.db.db, sha256Hex(credentials.refreshToken))
    }
    if (sessionId === undefined) return undefined
    const session = await findSession(this.deps.db.db, sessionId)
    if (!session || (claims !== undefined && session.user_id !== claims.sub)) return undefined
    const ended = await this.revoke(sessionId, 'logout')
    if (ended) {
      await this.deps.audit.record('logout', context, { actorId: session.user_id, subjectId: session.user_id, sessionId })
    }
    return { sessionId }
  }

  async logoutAll(user: AuthenticatedUser, context: RequestContext): Promise<number> {
    const ids = await this.revokeAllOfUser(user.id, 'logout_all')
    await this.deps.audit.record('logout.all', context, {
      actorId: user.id,
      subjectId: user.id,
      sessionId: user.sessionId,
      details: { sessions: ids.length },
    })
    return ids.length
  }

  async list(userId: string): Promise<(SessionRow & { idle_expires_at: Date })[]> {
    return listLiveSessions(this.deps.db.db, userId, this.now())
  }

  /**
   * DELETE /api/sessions/:id — one's own session, or anyone's for an admin. Unknown and foreign look
   * alike (404); one that has already ended is simply ended (204, nothing audited).
   */
  async revokeAs(actor: AuthenticatedUser, sessionId: string, context: RequestContext): Promise<void> {
    const session = await findSession(this.deps.db.db, sessionId)
    const reason = revocationBy(actor, session?.user_id, 'Session not found')
    const ended = await this.revoke(sessionId, reason)
    if (ended) {
      await this.deps.audit.record('session.revoke', context, { actorId: actor.id, subjectId: ended.user_id, sessionId })
    }
  }
}
