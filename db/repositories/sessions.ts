import { sql, type Selectable } from 'kysely'
import type { SessionsTable, UserRole, Executor } from '../types.ts'

export type SessionRow = Selectable<SessionsTable>


export interface NewSession {
  id: string
  userId: string
  clientId: string
  userAgent: string | null
  ip: string | null
  now: Date
  expiresAt: Date
}

export async function insertSession(db: Executor, session: NewSession): Promise<SessionRow> {
  return db
    .insertInto('sessions')
    .values({
      id: session.id,
      user_id: session.userId,
      client_id: session.clientId,
      user_agent: session.userAgent,
      ip: session.ip,
      created_at: session.now,
      last_used_at: session.now,
      expires_at: session.expiresAt,
    })
    .returningAll()
    .executeTakeFirstOrThrow()
}

/** What every authenticated request needs to know about its session and user. */
export interface SessionState {
  sessionId: string
  clientId: string
  expiresAt: Date
  revokedAt: Date | null
  userId: string
  username: string
  role: UserRole
  isActive: boolean
}

export async function findSessionState(db: Executor, sessionId: string): Promise<SessionState | undefined> {
  const row = await db
    .selectFrom('sessions as s')
    .innerJoin('users as u', 'u.id', 's.user_id')
    .select([
      's.id as sessionId',
      's.client_id as clientId',
      's.expires_at as expiresAt',
      's.revoked_at as revokedAt',
      'u.id as userId',
      'u.username as username',
      'u.role as role',
      'u.is_active as isActive',
    ])
    .where('s.id', '=', sessionId)
    .executeTakeFirst()
  return row
}

export async function findSession(db: Executor, sessionId: string): Promise<SessionRow | undefined> {
  return db.selectFrom('sessions').selectAll().where('id', '=', sessionId).executeTakeFirst()
}

/** The user's sessions that are neither revoked nor past their absolute end, newest first. */
/**
 * A user's live sessions with the time each ends if it is not used (the expiry of its unused
 * refresh token, never past the absolute end). A session whose refresh token lapsed is dead even
 * before anyone revokes it, and is not listed; one that has issued no token yet (a device login
 * approved but not yet redeemed) is live until its absolute end.
 */
export async function listLiveSessions(db: Executor, userId: string, now: Date): Promise<(SessionRow & { idle_expires_at: Date })[]> {
  const rows = await db
    .selectFrom('sessions')
    .selectAll('sessions')
    .select((eb) =>
      eb
        .selectFrom('refresh_tokens')
        .select(sql<Date>`max(refresh_tokens.expires_at)`.as('e'))
        .whereRef('refresh_tokens.session_id', '=', 'sessions.id')
        .where('refresh_tokens.used_at', 'is', null)
        .as('idle_expires_at'),
    )
    .select((eb) =>
      eb.exists(eb.selectFrom('refresh_tokens').select(sql`1`.as('one')).whereRef('refresh_tokens.session_id', '=', 'sessions.id')).as('issued'),
    )
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null)
    .where('expires_at', '>', now)
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .execute()
  const live: (SessionRow & { idle_expires_at: Date })[] = []
  for (const { issued, ...row } of rows) {
    // Approved but not yet redeemed (a device login): no token was issued, the session is live.
    if (!issued) {
      live.push({ ...row, idle_expires_at: row.expires_at })
      continue
    }
    const idle = row.idle_expires_at
    if (idle === null || idle <= now) continue
    live.push({ ...row, idle_expires_at: idle < row.expires_at ? idle : row.expires_at })
  }
  return live
}

/** Ends one session; returns it when this call ended it (undefined if already ended or unknown). */
export async function revokeSession(
  db: Executor,
  sessionId: string,
  reason: string,
  now: Date,
): Promise<SessionRow | undefined> {
  return db
    .updateTable('sessions')
    .set({ revoked_at: now, revoked_reason: reason })
    .where('id', '=', sessionId)
    .where('revoked_at', 'is', null)
    .returningAll()
    .executeTakeFirst()
}

/** Ends every live session of a user; returns the ids it ended. */
export async function revokeUserSessions(db: Executor, userId: string, reason: string, now: Date): Promise<string[]> {
  const rows = await db
    .updateTable('sessions')
    .set({ revoked_at: now, revoked_reason: reason })
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null)
    .returning('id')
    .execute()
  return rows.map((r) => r.id)
}

/** A session created for a one-time code lives only as long as the code until the code is redeemed. */
/** A redeemed session: its full lifetime, its use (the login completed now) and, when given, the device that holds its tokens. */
export async function activateSession(
  db: Executor,
  sessionId: string,
  change: { expiresAt: Date; now: Date; device?: { ip: string | null; userAgent: string | null } },
): Promise<void> {
  const holder = change.device === undefined ? {} : { ip: change.device.ip, user_agent: change.device.userAgent }
  await db.updateTable('sessions').set({ expires_at: change.expiresAt, last_used_at: change.now, ...holder }).where('id', '=', sessionId).execute()
}

export async function touchSession(db: Executor, sessionId: string, now: Date): Promise<void> {
  await db.updateTable('sessions').set({ last_used_at: now }).where('id', '=', sessionId).execute()
}

/**
 * Housekeeping: sessions that ended more than `olderThan` ago go, with their refresh tokens and codes
 * (ON DELETE CASCADE). Bounded per call so it never becomes a long statement.
 */
export async function purgeEndedSessions(db: Executor, olderThan: Date, batch = 500): Promise<number> {
  const result = await sql<{ id: string }>`
    DELETE FROM sessions WHERE id IN (
      SELECT id FROM sessions
      WHERE expires_at < ${olderThan} OR revoked_at < ${olderThan}
      LIMIT ${batch}
    ) RETURNING id`.execute(db)
  return result.rows.length
}
