import { sql, type Kysely } from 'kysely'

// Migrations never import application code: the tables are described here as they were on this day.
// Every secret the API hands out (login state, one-time codes, refresh tokens) is stored only as its
// SHA-256 hash; the plaintext exists in the response that carries it and nowhere else.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE users (
      id uuid PRIMARY KEY,
      github_id bigint NOT NULL,
      username text NOT NULL,
      email text,
      avatar_url text,
      role text NOT NULL DEFAULT 'analyst' CHECK (role IN ('admin', 'analyst')),
      is_active boolean NOT NULL DEFAULT true,
      -- An admin's suspension: login reactivates a returning user unless this is set.
      suspended_at timestamptz,
      suspended_by uuid REFERENCES users (id) ON DELETE SET NULL,
      last_login_at timestamptz,
      created_at timestamptz NOT NULL DEFAULT date_trunc('second', now()),
      CONSTRAINT users_github_id_key UNIQUE (github_id)
    )`.execute(db)
  await sql`CREATE INDEX users_username_lower_idx ON users (lower(username))`.execute(db)
  await sql`CREATE INDEX users_active_admins_idx ON users (id) WHERE role = 'admin' AND is_active`.execute(db)

  // One row per login: what the user sees as a "device" and what logout and revocation end.
  await sql`
    CREATE TABLE sessions (
      id uuid PRIMARY KEY,
      user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
      client_id text NOT NULL,
      user_agent text,
      ip text,
      created_at timestamptz NOT NULL,
      last_used_at timestamptz NOT NULL,
      -- absolute end of the session; refresh tokens never outlive it
      expires_at timestamptz NOT NULL,
      revoked_at timestamptz,
      revoked_reason text
    )`.execute(db)
  await sql`CREATE INDEX sessions_user_id_idx ON sessions (user_id, created_at)`.execute(db)
  await sql`CREATE INDEX sessions_expires_at_idx ON sessions (expires_at)`.execute(db)

  // A refresh-token family is the chain of rows of one session. A row is rotated once (used_at and
  // successor_id set in one UPDATE); successor_sealed keeps the successor's token encrypted under a
  // server key for the short retry window, so a client retrying the same rotation gets it back.
  await sql`
    CREATE TABLE refresh_tokens (
      id uuid PRIMARY KEY,
      session_id uuid NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
      token_hash text NOT NULL,
      parent_id uuid,
      created_at timestamptz NOT NULL,
      expires_at timestamptz NOT NULL,
      used_at timestamptz,
      successor_id uuid,
      successor_sealed text,
      used_by text,
      CONSTRAINT refresh_tokens_token_hash_key UNIQUE (token_hash)
    )`.execute(db)
  await sql`CREATE INDEX refresh_tokens_session_id_idx ON refresh_tokens (session_id)`.execute(db)

  // The API's own GitHub leg in flight: any instance can finish it (never held in process memory).
  await sql`
    CREATE TABLE pending_logins (
      id uuid PRIMARY KEY,
      state_hash text NOT NULL,
      code_verifier text NOT NULL,
      client_id text,
      redirect_uri text,
      client_state text,
      code_challenge text,
      ip text,
      user_agent text,
      created_at timestamptz NOT NULL,
      expires_at timestamptz NOT NULL,
      CONSTRAINT pending_logins_state_hash_key UNIQUE (state_hash)
    )`.execute(db)
  await sql`CREATE INDEX pending_logins_expires_at_idx ON pending_logins (expires_at)`.execute(db)

  // One-time codes handed to the portal or the CLI, bound to client, redirect_uri and PKCE challenge.
  await sql`
    CREATE TABLE auth_codes (
      id uuid PRIMARY KEY,
      code_hash text NOT NULL,
      client_id text NOT NULL,
      redirect_uri text NOT NULL,
      code_challenge text NOT NULL,
      session_id uuid NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
      created_at timestamptz NOT NULL,
      expires_at timestamptz NOT NULL,
      used_at timestamptz,
      CONSTRAINT auth_codes_code_hash_key UNIQUE (code_hash)
    )`.execute(db)
  await sql`CREATE INDEX auth_codes_expires_at_idx ON auth_codes (expires_at)`.execute(db)

  // Security-relevant events. Never a token, code or secret: ids, addresses and reasons only.
  await sql`
    CREATE TABLE audit_events (
      id uuid PRIMARY KEY,
      occurred_at timestamptz NOT NULL,
      event text NOT NULL,
      actor_id uuid,
      subject_id uuid,
      session_id uuid,
      ip text,
      user_agent text,
      request_id text,
      details jsonb NOT NULL DEFAULT '{}'::jsonb
    )`.execute(db)
  await sql`CREATE INDEX audit_events_occurred_at_idx ON audit_events (occurred_at)`.execute(db)
  await sql`CREATE INDEX audit_events_subject_id_idx ON audit_events (subject_id, occurred_at)`.execute(db)
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of ['audit_events', 'auth_codes', 'pending_logins', 'refresh_tokens', 'sessions', 'users']) {
    await sql`DROP TABLE IF EXISTS ${sql.table(table)}`.execute(db)
  }
}
