import { sql, type Kysely } from 'kysely'

/**
 * The rows an import skipped, kept for the admin who imported so they can download them all
 * (GET /api/profiles/imports/:id/rejects, docs/import.md). An import with skipped rows has one
 * `imports` row; its rejects go with it when it expires (24 hours) or its user is deleted.
 * Unlogged: they are a convenience copy of what the uploader already has, not worth WAL on every
 * rejected row, and a crash that empties them loses nothing that was imported.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE UNLOGGED TABLE imports (
      id uuid PRIMARY KEY,
      user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
      created_at timestamptz NOT NULL DEFAULT now(),
      expires_at timestamptz NOT NULL
    )`.execute(db)
  await sql`CREATE INDEX imports_expires_at_idx ON imports (expires_at)`.execute(db)
  await sql`
    CREATE UNLOGGED TABLE import_rejects (
      import_id uuid NOT NULL REFERENCES imports (id) ON DELETE CASCADE,
      line integer NOT NULL CHECK (line >= 1),
      reason text NOT NULL,
      raw text NOT NULL,
      PRIMARY KEY (import_id, line)
    )`.execute(db)
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE IF EXISTS import_rejects`.execute(db)
  await sql`DROP TABLE IF EXISTS imports`.execute(db)
}
