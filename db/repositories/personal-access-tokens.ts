import { sql, type Selectable } from 'kysely'
import type { Executor, PersonalAccessTokensTable, TokenScope, UserRole } from '../types.ts'

export type PersonalAccessTokenRow = Selectable<PersonalAccessTokensTable>

export interface NewPersonalAccessToken {
  id: string
  userId: string
  name: string
  tokenHash: string
  scopes: TokenScope[]
  now: Date
  expiresAt: Date
}

export async function insertPersonalAccessToken(db: Executor, token: NewPersonalAccessToken): Promise<PersonalAccessTokenRow> {
  return db
    .insertInto('personal_access_tokens')
    .values({
      id: token.id,
      user_id: token.userId,
      name: token.name,
      token_hash: token.tokenHash,
      scopes: token.scopes,
      created_at: token.now,
      expires_at: token.expiresAt,
    })
    .returningAll()
    .executeTakeFirstOrThrow()
}

/** A presented token with its user's current role and status (one indexed lookup per request). */
export interface PresentedTokenState extends PersonalAccessTokenRow {
  username: string
  role: UserRole
  is_active: boolean
}

export async function findByTokenHash(db: Executor, tokenHash: string): Promise<PresentedTokenState | undefined> {
  return db
    .selectFrom('personal_access_tokens as t')
    .innerJoin('users as u', 'u.id', 't.user_id')
    .selectAll('t')
    .select(['u.username', 'u.role', 'u.is_active'])
    .where('t.token_hash', '=', tokenHash)
    .executeTakeFirst()
}

/** A user's tokens that are not revoked (expired ones included, so the owner sees them), newest first. */
export async function listUserTokens(db: Executor, userId: string): Promise<PersonalAccessTokenRow[]> {
  return db
    .selectFrom('personal_access_tokens')
    .selectAll()
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null)
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .execute()
}

export async function findUserToken(db: Executor, userId: string, tokenId: string): Promise<PersonalAccessTokenRow | undefined> {
  return db
    .selectFrom('personal_access_tokens')
    .selectAll()
    .where('id', '=', tokenId)
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null)
    .executeTakeFirst()
}

export async function countLiveUserTokens(db: Executor, userId: string, now: Date): Promise<number> {
  const row = await db
    .selectFrom('personal_access_tokens')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null)
    .where('expires_at', '>', now)
    .executeTakeFirstOrThrow()
  return Number(row.n)
}

/** Revokes one token of a user; the row when this call revoked it. */
export async function revokeUserToken(
  db: Executor,
  userId: string,
  tokenId: string,
  reason: string,
  now: Date,
): Promise<PersonalAccessTokenRow | undefined> {
  return db
    .updateTable('personal_access_tokens')
    .set({ revoked_at: now, revoked_reason: reason })
    .where('id', '=', tokenId)
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null)
    .returningAll()
    .executeTakeFirst()
}

/** Revokes every token of a user that is not revoked yet; returns their ids. */
export async function revokeAllUserTokens(db: Executor, userId: string, reason: string, now: Date): Promise<string[]> {
  const rows = await db
    .updateTable('personal_access_tokens')
    .set({ revoked_at: now, revoked_reason: reason })
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null)
    .returning('id')
    .execute()
  return rows.map((r) => r.id)
}

/** How many distinct addresses a token remembers (the oldest is forgotten first). */
export const MAX_SEEN_IPS = 100

/**
 * Records a use. When `ip` is new to the token it is remembered in the same atomic statement, and
 * true is returned exactly once per new address (concurrent first uses from it: one wins).
 */
export async function recordTokenUse(
  db: Executor,
  id: string,
  use: { now: Date; ip: string | null; userAgent: string | null },
): Promise<{ newIp: boolean }> {
  if (use.ip !== null) {
    const added = await sql<{ id: string }>`
      UPDATE personal_access_tokens SET
        seen_ips = (seen_ips || ${use.ip}::text)[greatest(1, cardinality(seen_ips) + 2 - ${MAX_SEEN_IPS}):],
        last_used_at = ${use.now}, last_used_ip = ${use.ip}, last_used_user_agent = ${use.userAgent}
      WHERE id = ${id} AND NOT (${use.ip}::text = ANY (seen_ips))
      RETURNING id`.execute(db)
    if (added.rows.length > 0) return { newIp: true }
  }
  await db
    .updateTable('personal_access_tokens')
    .set({ last_used_at: use.now, last_used_ip: use.ip, last_used_user_agent: use.userAgent })
    .where('id', '=', id)
    .execute()
  return { newIp: false }
}

/** Marks that the token's expiry was noticed on use; true only the first time (audited once). */
export async function markExpiryRecorded(db: Executor, id: string, now: Date): Promise<boolean> {
  const row = await db
    .updateTable('personal_access_tokens')
    .set({ expiry_recorded_at: now })
    .where('id', '=', id)
    .where('expiry_recorded_at', 'is', null)
    .returning('id')
    .executeTakeFirst()
  return row !== undefined
}
