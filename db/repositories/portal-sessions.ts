import { sql, type Selectable } from 'kysely'
import type { PortalSessionsTable, PortalUserSnapshot, Executor } from '../types.ts'

/** A portal session row as selected. */
export type PortalSessionRow = Selectable<PortalSessionsTable>

export interface NewPortalSession {
  id: string
  user_id: string
  user_snapshot: PortalUserSnapshot
  access_token_enc: Buffer
  refresh_token_enc: Buffer
  access_expires_at: Date
  csrf_secret: string
  user_agent: string | null
  created_at: Date
  last_seen_at: Date
  expires_at: Date
}

export async function insertPortalSession(db: Executor, session: NewPortalSession): Promise<void> {
  await db
    .insertInto('portal_sessions')
    .values({ ...session, user_snapshot: JSON.stringify(session.user_snapshot) })
    .execute()
}

/** The live session with this id (expired rows are invisible). */
export async function findPortalSession(db: Executor, id: string, now: Date): Promise<PortalSessionRow | undefined> {
  return db.selectFrom('portal_sessions').selectAll().where('id', '=', id).where('expires_at', '>', now).executeTakeFirst()
}

/** Slides the idle expiry forward (the caller caps it at the absolute lifetime). */
export async function touchPortalSession(db: Executor, id: string, now: Date, expiresAt: Date): Promise<void> {
  await db.updateTable('portal_sessions').set({ last_seen_at: now, expires_at: expiresAt }).where('id', '=', id).execute()
}

/** Deletes one session and returns what it held (to revoke its API session), or undefined. */
export async function deletePortalSession(db: Executor, id: string): Promise<PortalSessionRow | undefined> {
  return db.deleteFrom('portal_sessions').where('id', '=', id).returningAll().executeTakeFirst()
}

export async function deletePortalSessionsOfUser(db: Executor, userId: string): Promise<number> {
  const result = await db.deleteFrom('portal_sessions').where('user_id', '=', userId).executeTakeFirst()
  return Number(result.numDeletedRows)
}

export async function deleteExpiredPortalSessions(db: Executor, now: Date): Promise<number> {
  const result = await db.deleteFrom('portal_sessions').where('expires_at', '<=', now).executeTakeFirst()
  return Number(result.numDeletedRows)
}

/**
 * The refresh "row lock": one atomic UPDATE grants a short lease to exactly one caller, across
 * every portal process. No transaction stays open while the lease holder calls the API (the
 * embedded database is one backend; a transaction held across an HTTP round trip to an API that
 * uses the same backend would deadlock). Returns the row to the winner, undefined to everyone else.
 */
export async function takeRefreshLease(
  db: Executor,
  id: string,
  leaseSeconds: number,
): Promise<PortalSessionRow | undefined> {
  return db
    .updateTable('portal_sessions')
    .set({ refresh_lease_until: sql<Date>`now() + make_interval(secs => ${leaseSeconds})` })
    .where('id', '=', id)
    .where('expires_at', '>', sql<Date>`now()`)
    .where((eb) => eb.or([eb('refresh_lease_until', 'is', null), eb('refresh_lease_until', '<', sql<Date>`now()`)]))
    .returningAll()
    .executeTakeFirst()
}

export interface RefreshedTokens {
  access_token_enc: Buffer
  refresh_token_enc: Buffer
  access_expires_at: Date
  user_snapshot?: PortalUserSnapshot
}

/** Stores the lease holder's new tokens and releases the lease in the same statement. */
export async function storeRefreshedTokens(db: Executor, id: string, tokens: RefreshedTokens): Promise<boolean> {
  const { user_snapshot, ...rest } = tokens
  const result = await db
    .updateTable('portal_sessions')
    .set({
      ...rest,
      ...(user_snapshot ? { user_snapshot: JSON.stringify(user_snapshot) } : {}),
      refresh_lease_until: null,
    })
    .where('id', '=', id)
    .executeTakeFirst()
  return Number(result.numUpdatedRows) === 1
}

export async function releaseRefreshLease(db: Executor, id: string): Promise<void> {
  await db.updateTable('portal_sessions').set({ refresh_lease_until: null }).where('id', '=', id).execute()
}

export async function updatePortalUserSnapshot(db: Executor, id: string, snapshot: PortalUserSnapshot): Promise<void> {
  await db.updateTable('portal_sessions').set({ user_snapshot: JSON.stringify(snapshot) }).where('id', '=', id).execute()
}
