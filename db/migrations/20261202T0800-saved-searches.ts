import { sql, type Kysely } from 'kysely'

/**
 * Saved searches: a user's named list filter or natural-language query (contract §6). Names are
 * unique per user, case-insensitively after trimming, like profile names; a user's searches are
 * listed newest first, which the (user_id, id) index serves because ids are UUID v7.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE saved_searches (
      id uuid PRIMARY KEY,
      user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
      name text NOT NULL CHECK (name = btrim(name) AND name <> ''),
      kind text NOT NULL CHECK (kind IN ('list', 'search')),
      query text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now()
    )`.execute(db)
  await sql`CREATE UNIQUE INDEX saved_searches_user_name_idx ON saved_searches (user_id, lower(name))`.execute(db)
  await sql`CREATE INDEX saved_searches_user_id_idx ON saved_searches (user_id, id)`.execute(db)
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE IF EXISTS saved_searches`.execute(db)
}
