import { newId } from '../../contract/ids.ts'
import type { Role } from '../../contract/roles.ts'
import { MAX_TOKEN_NAME_LENGTH, PAT_PREFIX, isTokenScope, type CreateTokenBody, type TokenJson, type TokenScope } from '../../contract/tokens.ts'
import type { Db } from '../../db/index.ts'
import {
  countLiveUserTokens,
  findByTokenHash,
  findUserToken,
  insertPersonalAccessToken,
  listUserTokens,
  markExpiryRecorded,
  recordTokenUse,
  revokeAllUserTokens,
  revokeUserToken,
  type PersonalAccessTokenRow,
} from '../../db/repositories/personal-access-tokens.ts'
import type { PersonalAccessTokenConfig } from '../config.ts'
import { ApiError } from '../errors.ts'
import type { AuditLog, RequestContext } from './audit.ts'
import { newSecret, sha256Hex } from './auth-crypto.ts'
import { accountSuspended, forbidden, unauthorized } from './auth-errors.ts'
import type { Clock, RandomBytes } from './clock.ts'
import { revocationBy } from './revocation.ts'
import type { AuthenticatedUser } from './sessions.ts'
import { formatInstant } from './user-admin.ts'

/** The client id a request made with a personal access token reports (there is no session). */
export const PAT_CLIENT_ID = 'personal-access-token'

const DAY_MS = 86400 * 1000
/** A token's last use is written at most this often unless its address or user agent changes. */
const TOUCH_EVERY_MS = 60 * 1000
// eslint-disable-next-line no-control-regex -- control characters are what it looks for
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/

export interface PersonalAccessTokenDeps {
  db: Db
  config: PersonalAccessTokenConfig
  clock: Clock
  random: RandomBytes
  audit: AuditLog
}

/** The outcome of presenting a token; the failure is the answer to give (401 or 403). */
export type PresentedToken = { ok: true; user: AuthenticatedUser } | { ok: false; error: ApiError }

export function toTokenJson(row: PersonalAccessTokenRow, now: number): TokenJson {
  return {
    id: row.id,
    name: row.name,
    scopes: row.scopes,
    created_at: formatInstant(row.created_at),
    expires_at: formatInstant(row.expires_at),
    expired: row.expires_at.getTime() <= now,
    last_used_at: row.last_used_at ? formatInstant(row.last_used_at) : null,
    last_used_ip: row.last_used_ip,
    last_used_user_agent: row.last_used_user_agent,
  }
}

/**
 * The role a token acts with: never above its user's CURRENT role. An admin-scoped token of a user
 * who is no longer an admin reads only; a read token of an admin reads only.
 */
export function effectiveRole(scopes: readonly TokenScope[], userRole: Role): Role {
  return scopes.includes('admin') && userRole === 'admin' ? 'admin' : 'analyst'
}

/**
 * Personal access tokens: long-lived (but always expiring) Bearer credentials for scripts and CI.
 * The secret is `insighta_pat_` + 256 random bits, shown once and stored as its SHA-256. Every use
 * reads the token and its user afresh (no cache), so revocation, demotion and suspension bite on the
 * next request.
 */
export class PersonalAccessTokenService {
  constructor(private readonly deps: PersonalAccessTokenDeps) {}

  private now(): Date {
    return new Date(this.deps.clock())
  }

  private checkName(name: string): string {
    const trimmed = name.trim()
    if (trimmed === '') throw new ApiError(400, 'Missing or empty name')
    if (CONTROL_CHARACTERS.test(trimmed)) throw new ApiError(422, 'Invalid name: control characters are not allowed')
    if ([...trimmed].length > MAX_TOKEN_NAME_LENGTH) throw new ApiError(422, `Invalid name: at most ${MAX_TOKEN_NAME_LENGTH} characters`)
    return trimmed
  }

  private checkExpiry(days: number | undefined): number {
    const { defaultExpiryDays, maxExpiryDays } = this.deps.config
    if (days === undefined) return defaultExpiryDays
    if (days < 1 || days > maxExpiryDays) throw new ApiError(422, `Invalid expires_in_days: between 1 and ${maxExpiryDays}`)
    return days
  }

  private checkScopes(scopes: string[] | undefined, ownerRole: Role): TokenScope[] {
    if (scopes === undefined) return ['read']
    if (scopes.length === 0) throw new ApiError(400, 'Missing or empty scopes')
    if (!scopes.every(isTokenScope)) throw new ApiError(422, 'Invalid scopes: each must be read or admin')
    if (scopes.includes('admin') && ownerRole !== 'admin') throw forbidden('Forbidden: only admins may create tokens with the admin scope')
    return (['read', 'admin'] as const).filter((s) => scopes.includes(s))
  }

  /** `POST /api/users/me/tokens`: the secret (this once) and the stored metadata. */
  async create(
    owner: { id: string; role: Role },
    body: CreateTokenBody,
    context: RequestContext,
  ): Promise<{ token: string; row: PersonalAccessTokenRow }> {
    const name = this.checkName(body.name)
    const days = this.checkExpiry(body.expires_in_days)
    const scopes = this.checkScopes(body.scopes, owner.role)
    const now = this.now()
    const live = await countLiveUserTokens(this.deps.db.db, owner.id, now)
    if (live >= this.deps.config.maxPerUser) throw new ApiError(409, `Too many tokens: at most ${this.deps.config.maxPerUser}; revoke one first`)
    const token = `${PAT_PREFIX}${newSecret(this.deps.random, 32)}`
    const row = await insertPersonalAccessToken(this.deps.db.db, {
      id: newId(),
      userId: owner.id,
      name,
      tokenHash: sha256Hex(token),
      scopes,
      now,
      expiresAt: new Date(now.getTime() + days * DAY_MS),
    })
    await this.deps.audit.record('pat.create', context, {
      actorId: owner.id,
      subjectId: owner.id,
      details: { token_id: row.id, name, scopes: scopes.join(','), expires_in_days: days },
    })
    return { token, row }
  }

  async list(userId: string): Promise<PersonalAccessTokenRow[]> {
    return listUserTokens(this.deps.db.db, userId)
  }

  async find(userId: string, tokenId: string): Promise<PersonalAccessTokenRow | undefined> {
    return findUserToken(this.deps.db.db, userId, tokenId)
  }

  /** Revokes a token of `ownerId` (the actor's own, or anyone's by an admin route). Unknown, foreign or already revoked → 404. */
  async revoke(actor: { id: string; role: Role }, ownerId: string, tokenId: string, context: RequestContext): Promise<void> {
    const reason = revocationBy(actor, ownerId, 'Token not found')
    const row = await revokeUserToken(this.deps.db.db, ownerId, tokenId, reason, this.now())
    if (!row) throw new ApiError(404, 'Token not found')
    await this.deps.audit.record('pat.revoke', context, {
      actorId: actor.id,
      subjectId: ownerId,
      details: { token_id: row.id, name: row.name, reason },
    })
  }

  /**
   * Sign-out-everywhere never keeps tokens silently: with `revoke` they all go (audited each), and
   * either way the answer says how many live tokens remain.
   */
  async afterSignOutEverywhere(user: { id: string }, revoke: boolean, context: RequestContext): Promise<{ revoked: number; remaining: number }> {
    const now = this.now()
    let revoked = 0
    if (revoke) {
      const ids = await revokeAllUserTokens(this.deps.db.db, user.id, 'logout_all', now)
      revoked = ids.length
      for (const id of ids) {
        await this.deps.audit.record('pat.revoke', context, { actorId: user.id, subjectId: user.id, details: { token_id: id, reason: 'logout_all' } })
      }
    }
    return { revoked, remaining: await countLiveUserTokens(this.deps.db.db, user.id, now) }
  }

  /**
   * A presented `insighta_pat_…` credential: unknown or revoked → 401, expired → 401 (its expiry
   * audited once), user suspended → 403; else the user with the token's effective role. Records the
   * use, and audits the first use from each new address.
   */
  async authenticate(token: string, context: RequestContext): Promise<PresentedToken> {
    const { db, audit } = this.deps
    const now = this.now()
    const row = await findByTokenHash(db.db, sha256Hex(token))
    if (!row || row.revoked_at !== null) return { ok: false, error: unauthorized('Invalid personal access token', true) }
    if (row.expires_at.getTime() <= now.getTime()) {
      if (await markExpiryRecorded(db.db, row.id, now)) {
        await audit.record('pat.expired', context, { subjectId: row.user_id, details: { token_id: row.id, name: row.name } })
      }
      return { ok: false, error: unauthorized('Personal access token expired', true) }
    }
    if (!row.is_active) return { ok: false, error: accountSuspended() }

    const ip = context.ip
    const userAgent = context.userAgent?.slice(0, 512) ?? null
    const stale = row.last_used_at === null || now.getTime() - row.last_used_at.getTime() >= TOUCH_EVERY_MS
    const moved = ip !== null && !row.seen_ips.includes(ip)
    if (stale || moved || row.last_used_ip !== ip || row.last_used_user_agent !== userAgent) {
      const { newIp } = await recordTokenUse(db.db, row.id, { now, ip, userAgent })
      if (newIp) {
        await audit.record('pat.use_new_ip', context, {
          actorId: row.user_id,
          subjectId: row.user_id,
          details: { token_id: row.id, name: row.name, first_use: row.seen_ips.length === 0 },
        })
      }
    }
    return {
      ok: true,
      user: {
        id: row.user_id,
        username: row.username,
        role: effectiveRole(row.scopes, row.role),
        sessionId: '',
        clientId: PAT_CLIENT_ID,
        tokenId: row.id,
        personalAccessTokenId: row.id,
      },
    }
  }
}
