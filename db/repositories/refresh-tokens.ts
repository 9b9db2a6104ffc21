import { sql, type Selectable } from 'kysely'
import type { RefreshTokensTable, UserRole, Executor } from '../types.ts'

export type RefreshTokenRow = Selectable<RefreshTokensTable>


export interface NewRefreshToken {
  id: string
  sessionId: string
  tokenHash: string
  parentId: string | null
  now: Date
  expiresAt: Date
}

export async function insertRefreshToken(db: Executor, token: NewRefreshToken): Promise<void> {
  await db
    .insertInto('refresh_tokens')
    .values({
      id: token.id,
      session_id: token.sessionId,
      token_hash: token.tokenHash,
      parent_id: token.parentId,
      created_at: token.now,
      expires_at: token.expiresAt,
    })
    .execute()
}

export interface Rotation {
  tokenHash: string
  successorId: string
  /** the successor's token sealed under a server key, for an exact retry within the window */
  successorSealed: string
  /** a hash of who rotated (client, user agent, address): only they may retry */
  usedBy: string
  now: Date
}

export interface RotatedToken {
  id: string
  session_id: string
  user_id: string
  role: UserRole
  session_expires_at: Date
}

/**
 * The rotation, one atomic statement: marks the presented token used and names its successor, only
 * if it is unused, unexpired, its session is live and its user active. Concurrent rotations of one
 * token queue on its row lock; after the first commits, the others re-check `used_at IS NULL`, find
 * it set and get no row. The caller inserts the successor in the same transaction.
 */
export async function rotateRefreshToken(db: Executor, rotation: Rotation): Promise<RotatedToken | undefined> {
  const result = await sql<RotatedToken>`
    UPDATE refresh_tokens AS rt
    SET used_at = ${rotation.now}, successor_id = ${rotation.successorId},
        successor_sealed = ${rotation.successorSealed}, used_by = ${rotation.usedBy}
    FROM sessions AS s, users AS u
    WHERE rt.token_hash = ${rotation.tokenHash}
      AND rt.used_at IS NULL
      AND rt.expires_at > ${rotation.now}
      AND s.id = rt.session_id AND s.revoked_at IS NULL AND s.expires_at > ${rotation.now}
      AND u.id = s.user_id AND u.is_active
    RETURNING rt.id, rt.session_id, u.id AS user_id, u.role, s.expires_at AS session_expires_at`.execute(db)
  return result.rows[0]
}

/** Once a successor is itself rotated, nobody may retry its parent any more: drop the sealed copy. */
export async function forgetSealedSuccessor(db: Executor, successorId: string): Promise<void> {
  await db.updateTable('refresh_tokens').set({ successor_sealed: null }).where('successor_id', '=', successorId).execute()
}

/** A presented token that did not rotate, with what is needed to say why. */
export interface RefreshTokenDiagnosis {
  id: string
  session_id: string
  expires_at: Date
  used_at: Date | null
  used_by: string | null
  successor_id: string | null
  successor_sealed: string | null
  successor_used_at: Date | null
  successor_expires_at: Date | null
  session_revoked_at: Date | null
  session_expires_at: Date
  user_id: string
  role: UserRole
  is_active: boolean
}

export async function diagnoseRefreshToken(db: Executor, tokenHash: string): Promise<RefreshTokenDiagnosis | undefined> {
  const result = await sql<RefreshTokenDiagnosis>`
    SELECT rt.id, rt.session_id, rt.expires_at, rt.used_at, rt.used_by, rt.successor_id, rt.successor_sealed,
           nx.used_at AS successor_used_at, nx.expires_at AS successor_expires_at,
           s.revoked_at AS session_revoked_at, s.expires_at AS session_expires_at,
           u.id AS user_id, u.role, u.is_active
    FROM refresh_tokens rt
    JOIN sessions s ON s.id = rt.session_id
    JOIN users u ON u.id = s.user_id
    LEFT JOIN refresh_tokens nx ON nx.id = rt.successor_id
    WHERE rt.token_hash = ${tokenHash}`.execute(db)
  return result.rows[0]
}

/** The session a refresh token belongs to, whatever the token's state (logout accepts used tokens). */
export async function sessionIdOfRefreshToken(db: Executor, tokenHash: string): Promise<string | undefined> {
  const row = await db.selectFrom('refresh_tokens').select('session_id').where('token_hash', '=', tokenHash).executeTakeFirst()
  return row?.session_id
}
