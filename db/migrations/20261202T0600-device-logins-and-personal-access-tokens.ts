import { sql, type Kysely } from 'kysely'

// Migrations never import application code: the tables are described here as they were on this day.
// Device codes, user codes and personal access tokens are stored only as SHA-256 hashes.
export async function up(db: Kysely<unknown>): Promise<void> {
  // RFC 8628 device authorization requests: pending → approved | denied → redeemed (single use).
  await sql`
    CREATE TABLE device_logins (
      id uuid PRIMARY KEY,
      device_code_hash text NOT NULL,
      user_code_hash text NOT NULL,
      client_id text NOT NULL,
      -- the device (CLI) that asked: shown to the approving user, and the session's device
      ip text,
      user_agent text,
      created_at timestamptz NOT NULL,
      expires_at timestamptz NOT NULL,
      interval_seconds integer NOT NULL,
      last_polled_at timestamptz,
      status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'denied', 'redeemed')),
      user_id uuid REFERENCES users (id) ON DELETE CASCADE,
      session_id uuid REFERENCES sessions (id) ON DELETE SET NULL,
      decided_at timestamptz,
      redeemed_at timestamptz,
      CONSTRAINT device_logins_device_code_hash_key UNIQUE (device_code_hash),
      CONSTRAINT device_logins_user_code_hash_key UNIQUE (user_code_hash)
    )`.execute(db)
  await sql`CREATE INDEX device_logins_expires_at_idx ON device_logins (expires_at)`.execute(db)

  // Wrong user codes per key (user:<id>, ip:<address>) in a fixed window, shared by every instance.
  await sql`
    CREATE TABLE device_code_failures (
      key text PRIMARY KEY,
      window_started_at timestamptz NOT NULL,
      failures integer NOT NULL
    )`.execute(db)

  await sql`
    CREATE TABLE personal_access_tokens (
      id uuid PRIMARY KEY,
      user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
      name text NOT NULL,
      token_hash text NOT NULL,
      scopes text[] NOT NULL,
      created_at timestamptz NOT NULL,
      expires_at timestamptz NOT NULL,
      last_used_at timestamptz,
      last_used_ip text,
      last_used_user_agent text,
      -- addresses the token has been used from (bounded), so "use from a new IP" is audited once per IP
      seen_ips text[] NOT NULL DEFAULT '{}',
      expiry_recorded_at timestamptz,
      revoked_at timestamptz,
      revoked_reason text,
      CONSTRAINT personal_access_tokens_token_hash_key UNIQUE (token_hash),
      CONSTRAINT personal_access_tokens_scopes_check CHECK (scopes <@ ARRAY['read', 'admin']::text[] AND cardinality(scopes) > 0)
    )`.execute(db)
  await sql`CREATE INDEX personal_access_tokens_user_id_idx ON personal_access_tokens (user_id, created_at)`.execute(db)
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of ['personal_access_tokens', 'device_code_failures', 'device_logins']) {
    await sql`DROP TABLE IF EXISTS ${sql.table(table)}`.execute(db)
  }
}
