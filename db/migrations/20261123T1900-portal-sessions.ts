import { sql, type Kysely } from 'kysely'

/**
 * The portal's server-side sessions. The browser holds only a random cookie value; the row is keyed
 * by its SHA-256, so a leaked table does not yield usable cookies. The API tokens are encrypted at
 * rest (AES-256-GCM, key from the portal's configuration). `refresh_lease_until` is the "row lock"
 * for token refresh: a short lease taken by one atomic UPDATE, never a transaction held across the
 * HTTP call to the API (docs/portal.md, "Transparent refresh").
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE portal_sessions (
      id text PRIMARY KEY CHECK (id ~ '^[0-9a-f]{64}$'),
      user_id uuid NOT NULL,
      user_snapshot jsonb NOT NULL,
      access_token_enc bytea NOT NULL,
      refresh_token_enc bytea NOT NULL,
      access_expires_at timestamptz NOT NULL,
      csrf_secret text NOT NULL,
      user_agent text,
      created_at timestamptz NOT NULL DEFAULT now(),
      last_seen_at timestamptz NOT NULL DEFAULT now(),
      expires_at timestamptz NOT NULL,
      refresh_lease_until timestamptz
    )`.execute(db)
  await sql`CREATE INDEX portal_sessions_user_id_idx ON portal_sessions (user_id)`.execute(db)
  await sql`CREATE INDEX portal_sessions_expires_at_idx ON portal_sessions (expires_at)`.execute(db)
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE IF EXISTS portal_sessions`.execute(db)
}
