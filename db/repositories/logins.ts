import { sql, type Selectable } from 'kysely'
import type { AuthCodesTable, PendingLoginsTable, Executor } from '../types.ts'

export type PendingLoginRow = Selectable<PendingLoginsTable>
export type AuthCodeRow = Selectable<AuthCodesTable>


export async function insertPendingLogin(db: Executor, login: PendingLoginRow): Promise<void> {
  await db.insertInto('pending_logins').values(login).execute()
}

/** Single use by construction: the row is deleted as it is read, so a replayed state finds nothing. */
export async function takePendingLogin(db: Executor, stateHash: string): Promise<PendingLoginRow | undefined> {
  return db.deleteFrom('pending_logins').where('state_hash', '=', stateHash).returningAll().executeTakeFirst()
}

export async function insertAuthCode(db: Executor, code: Omit<AuthCodeRow, 'used_at'>): Promise<void> {
  await db.insertInto('auth_codes').values(code).execute()
}

/** Marks the code used and returns it, only the first time (concurrent redemptions: one wins). */
export async function consumeAuthCode(db: Executor, codeHash: string, now: Date): Promise<AuthCodeRow | undefined> {
  return db
    .updateTable('auth_codes')
    .set({ used_at: now })
    .where('code_hash', '=', codeHash)
    .where('used_at', 'is', null)
    .returningAll()
    .executeTakeFirst()
}

export async function findAuthCode(db: Executor, codeHash: string): Promise<AuthCodeRow | undefined> {
  return db.selectFrom('auth_codes').selectAll().where('code_hash', '=', codeHash).executeTakeFirst()
}

/**
 * Housekeeping, bounded per call: expired login states go at once; used or expired codes are kept a
 * while (`codesOlderThan`) so that a late replay is still recognised and revokes its session.
 */
export async function purgeExpiredLogins(db: Executor, now: Date, codesOlderThan: Date, batch = 500): Promise<void> {
  await sql`DELETE FROM pending_logins WHERE id IN (
    SELECT id FROM pending_logins WHERE expires_at < ${now} LIMIT ${batch})`.execute(db)
  await sql`DELETE FROM auth_codes WHERE id IN (
    SELECT id FROM auth_codes WHERE expires_at < ${codesOlderThan} LIMIT ${batch})`.execute(db)
}
