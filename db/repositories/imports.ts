import { sql } from 'kysely'
import type { Executor } from '../types.ts'

/** The rows an import skipped (migration 20261202T1000-import-rejects), for the admin who imported. */

export interface ImportReject {
  line: number
  reason: string
  raw: string
}

/** Records an import with rejects, and drops the imports whose rejects have expired. */
export async function createImport(db: Executor, id: string, userId: string, expiresAt: Date): Promise<void> {
  await db.deleteFrom('imports').where('expires_at', '<', sql<Date>`now()`).execute()
  await db.insertInto('imports').values({ id, user_id: userId, expires_at: expiresAt }).execute()
}

/** Stores rejects in one statement whatever their number. */
export async function insertImportRejects(db: Executor, importId: string, rejects: readonly ImportReject[]): Promise<void> {
  if (rejects.length === 0) return
  await sql`
    INSERT INTO import_rejects (import_id, line, reason, raw)
    SELECT ${importId}::uuid, line, reason, raw
    FROM unnest(${rejects.map((r) => r.line)}::int[], ${rejects.map((r) => r.reason)}::text[], ${rejects.map((r) => r.raw)}::text[])
      AS r (line, reason, raw)`.execute(db)
}

/** Whether `userId` ran import `id` and its rejects are still kept. */
export async function findLiveImport(db: Executor, id: string, userId: string): Promise<boolean> {
  const row = await db
    .selectFrom('imports')
    .select('id')
    .where('id', '=', id)
    .where('user_id', '=', userId)
    .where('expires_at', '>', sql<Date>`now()`)
    .executeTakeFirst()
  return row !== undefined
}

/** The next `limit` rejects after `afterLine`, in line order. */
export async function importRejectsAfter(db: Executor, importId: string, afterLine: number, limit: number): Promise<ImportReject[]> {
  return db
    .selectFrom('import_rejects')
    .select(['line', 'reason', 'raw'])
    .where('import_id', '=', importId)
    .where('line', '>', afterLine)
    .orderBy('line')
    .limit(limit)
    .execute()
}

export async function countImportRejects(db: Executor, importId: string): Promise<number> {
  const row = await db
    .selectFrom('import_rejects')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('import_id', '=', importId)
    .executeTakeFirstOrThrow()
  return Number(row.n)
}
