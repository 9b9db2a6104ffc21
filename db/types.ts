import type { ColumnType, Generated, Kysely, Transaction } from 'kysely'

/** Row shapes as Postgres stores them; the API maps them to the contract's JSON. */
export interface ProfilesTable {
  id: string
  name: string
  gender: 'male' | 'female'
  gender_probability: number
  age: number
  age_group: 'child' | 'teenager' | 'adult' | 'senior'
  country_id: string
  country_name: string
  country_probability: number
  /** generated from the v7 id's timestamp, truncated to the second: never written */
  created_at: ColumnType<Date, never, never>
}

/** One row maintained by triggers on profiles: the unfiltered total and the write generation. */
export interface ProfileTotalsTable {
  singleton: ColumnType<boolean, never, never>
  total: number
  generation: number
}

/** Maintained by triggers on profiles: how many profiles share a (gender, age, country). */
export interface ProfileCountsTable {
  gender: string
  age: number
  country_id: string
  n: number
}

/**
 * Maintained by triggers on profiles: how many profiles of a gender have their gender_probability
 * (dimension 'gender') or country_probability ('country') in a band of width 0.01 (band k holds
 * [k/100, (k+1)/100), band 100 exactly 1; migration 20261202T0900-profile-probability-bands).
 */
export interface ProfileProbabilityCountsTable {
  dimension: 'gender' | 'country'
  gender: string
  band: number
  n: number
}

/** The portal's server-side sessions (tokens encrypted at rest; see portal/plugins/session.ts). */
export interface PortalSessionsTable {
  /** sha256 (hex) of the cookie value */
  id: string
  user_id: string
  user_snapshot: ColumnType<PortalUserSnapshot, string, string>
  access_token_enc: Buffer
  refresh_token_enc: Buffer
  access_expires_at: ColumnType<Date, Date | string, Date | string>
  csrf_secret: string
  user_agent: string | null
  created_at: ColumnType<Date, Date | string | undefined, never>
  last_seen_at: ColumnType<Date, Date | string | undefined, Date | string>
  expires_at: ColumnType<Date, Date | string, Date | string>
  refresh_lease_until: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>
}

/** What the portal remembers about the signed-in user between /auth/me calls. */
export interface PortalUserSnapshot {
  id: string
  username: string
  role: 'admin' | 'analyst'
  email: string | null
  avatar_url: string | null
}

// ---------------------------------------------------------------------------------------------------
// Identity (api/services/sessions.ts, logins.ts; migration 20261124T1000-identity)

export type UserRole = 'admin' | 'analyst'

export interface UsersTable {
  id: string
  /** bigint in Postgres; GitHub ids fit a double (the pg parser for int8 returns numbers) */
  github_id: number
  username: string
  email: string | null
  avatar_url: string | null
  role: ColumnType<UserRole, UserRole | undefined, UserRole>
  is_active: ColumnType<boolean, boolean | undefined, boolean>
  suspended_at: Date | null
  suspended_by: string | null
  last_login_at: Date | null
  created_at: ColumnType<Date, Date | undefined, never>
}

export interface SessionsTable {
  id: string
  user_id: string
  client_id: string
  user_agent: string | null
  ip: string | null
  created_at: ColumnType<Date, Date, never>
  last_used_at: Date
  expires_at: Date
  revoked_at: Date | null
  revoked_reason: string | null
}

export interface RefreshTokensTable {
  id: string
  session_id: string
  token_hash: string
  parent_id: string | null
  created_at: ColumnType<Date, Date, never>
  expires_at: Date
  used_at: Date | null
  successor_id: string | null
  successor_sealed: string | null
  used_by: string | null
}

export interface PendingLoginsTable {
  id: string
  state_hash: string
  code_verifier: string
  client_id: string | null
  redirect_uri: string | null
  client_state: string | null
  code_challenge: string | null
  ip: string | null
  user_agent: string | null
  created_at: Date
  expires_at: Date
}

export interface AuthCodesTable {
  id: string
  code_hash: string
  client_id: string
  redirect_uri: string
  code_challenge: string
  session_id: string
  created_at: Date
  expires_at: Date
  used_at: Date | null
}

export interface AuditEventsTable {
  id: string
  occurred_at: Date
  event: string
  actor_id: string | null
  subject_id: string | null
  session_id: string | null
  ip: string | null
  user_agent: string | null
  request_id: string | null
  details: ColumnType<Record<string, unknown>, string | undefined, never>
}

export interface SavedSearchesTable {
  id: string
  user_id: string
  name: string
  kind: 'list' | 'search'
  query: string
  created_at: ColumnType<Date, Date | undefined, never>
}

// ---------------------------------------------------------------------------------------------------
// Headless access (api/services/device-logins.ts, personal-access-tokens.ts; migration 20261202T0600)

export type DeviceLoginStatus = 'pending' | 'approved' | 'denied' | 'redeemed'

export interface DeviceLoginsTable {
  id: string
  device_code_hash: string
  user_code_hash: string
  client_id: string
  ip: string | null
  user_agent: string | null
  created_at: Date
  expires_at: Date
  interval_seconds: number
  last_polled_at: Date | null
  status: ColumnType<DeviceLoginStatus, DeviceLoginStatus | undefined, DeviceLoginStatus>
  user_id: string | null
  session_id: string | null
  decided_at: Date | null
  redeemed_at: Date | null
}

export interface DeviceCodeFailuresTable {
  key: string
  window_started_at: Date
  failures: number
}

export type TokenScope = 'read' | 'admin'

export interface PersonalAccessTokensTable {
  id: string
  user_id: string
  name: string
  token_hash: string
  scopes: TokenScope[]
  created_at: Date
  expires_at: Date
  last_used_at: Date | null
  last_used_ip: string | null
  last_used_user_agent: string | null
  seen_ips: ColumnType<string[], string[] | undefined, string[]>
  expiry_recorded_at: Date | null
  revoked_at: Date | null
  revoked_reason: string | null
}

/** An import that skipped rows, kept until `expires_at` so its rejects can be downloaded. */
export interface ImportsTable {
  id: string
  user_id: string
  created_at: Generated<Date>
  expires_at: Date
}

export interface ImportRejectsTable {
  import_id: string
  /** the file's line the rejected record starts on */
  line: number
  reason: string
  raw: string
}

export interface Database {
  profiles: ProfilesTable
  profile_counts: ProfileCountsTable
  profile_totals: ProfileTotalsTable
  profile_probability_counts: ProfileProbabilityCountsTable
  portal_sessions: PortalSessionsTable
  users: UsersTable
  sessions: SessionsTable
  refresh_tokens: RefreshTokensTable
  pending_logins: PendingLoginsTable
  auth_codes: AuthCodesTable
  audit_events: AuditEventsTable
  saved_searches: SavedSearchesTable
  device_logins: DeviceLoginsTable
  device_code_failures: DeviceCodeFailuresTable
  personal_access_tokens: PersonalAccessTokensTable
  imports: ImportsTable
  import_rejects: ImportRejectsTable
}

export type { Generated }

/** What every repository function takes: the database, or a transaction it runs inside. */
export type Executor = Kysely<Database> | Transaction<Database>
