import { sql, type Selectable } from 'kysely'
import type { Executor, SavedSearchesTable } from '../types.ts'

export type SavedSearchRow = Selectable<SavedSearchesTable>

export interface NewSavedSearch {
  id: string
  userId: string
  name: string
  kind: 'list' | 'search'
  query: string
  createdAt: Date
}

/** A user's saved searches, newest first. */
export async function listSavedSearches(db: Executor, userId: string): Promise<SavedSearchRow[]> {
  return db.selectFrom('saved_searches').selectAll().where('user_id', '=', userId).orderBy('id', 'desc').execute()
}

/**
 * Inserts a saved search unless the user already has `max` of them or one of the same name (any
 * case): one statement, so two concurrent saves cannot both pass the count. `inserted` is undefined
 * and `reason` says why when nothing was written.
 */
export async function insertSavedSearch(
  db: Executor,
  search: NewSavedSearch,
  max: number,
): Promise<{ inserted: SavedSearchRow } | { inserted: undefined; reason: 'limit' | 'duplicate' }> {
  return db.transaction().execute(async (trx) => {
    // Serialises one user's saves: the count and the insert see the same rows.
    await sql`SELECT pg_advisory_xact_lock(hashtextextended(${search.userId}, 7))`.execute(trx)
    const { n } = await trx
      .selectFrom('saved_searches')
      .select(sql<number>`count(*)`.as('n'))
      .where('user_id', '=', search.userId)
      .executeTakeFirstOrThrow()
    if (Number(n) >= max) return { inserted: undefined, reason: 'limit' as const }
    const row = await trx
      .insertInto('saved_searches')
      .values({ id: search.id, user_id: search.userId, name: search.name, kind: search.kind, query: search.query, created_at: search.createdAt })
      .onConflict((oc) => oc.expression(sql`user_id, lower(name)`).doNothing())
      .returningAll()
      .executeTakeFirst()
    return row ? { inserted: row } : { inserted: undefined, reason: 'duplicate' as const }
  })
}

/** Deletes one of a user's saved searches; false when the user has none with that id. */
export async function deleteSavedSearch(db: Executor, userId: string, id: string): Promise<boolean> {
  const result = await db.deleteFrom('saved_searches').where('id', '=', id).where('user_id', '=', userId).executeTakeFirst()
  return result.numDeletedRows > 0n
}
