import { sql, type Selectable } from 'kysely'
import type { DeviceLoginsTable, Executor } from '../types.ts'

export type DeviceLoginRow = Selectable<DeviceLoginsTable>

export interface NewDeviceLogin {
  id: string
  deviceCodeHash: string
  userCodeHash: string
  clientId: string
  ip: string | null
  userAgent: string | null
  now: Date
  expiresAt: Date
  intervalSeconds: number
}

/** Inserts a request; false when the user code collides with a kept one (the caller draws another). */
export async function insertDeviceLogin(db: Executor, login: NewDeviceLogin): Promise<boolean> {
  const result = await db
    .insertInto('device_logins')
    .values({
      id: login.id,
      device_code_hash: login.deviceCodeHash,
      user_code_hash: login.userCodeHash,
      client_id: login.clientId,
      ip: login.ip,
      user_agent: login.userAgent,
      created_at: login.now,
      expires_at: login.expiresAt,
      interval_seconds: login.intervalSeconds,
    })
    .onConflict((oc) => oc.doNothing())
    .executeTakeFirst()
  return Number(result.numInsertedOrUpdatedRows ?? 0) === 1
}

/** A request the approving user may still decide: pending and not expired. */
export async function findPendingByUserCode(db: Executor, userCodeHash: string, now: Date): Promise<DeviceLoginRow | undefined> {
  return db
    .selectFrom('device_logins')
    .selectAll()
    .where('user_code_hash', '=', userCodeHash)
    .where('status', '=', 'pending')
    .where('expires_at', '>', now)
    .executeTakeFirst()
}

/** Decides a pending request exactly once (a concurrent second decision finds nothing). */
export async function decideDeviceLogin(
  db: Executor,
  id: string,
  decision: { status: 'approved' | 'denied'; userId: string; sessionId: string | null; now: Date },
): Promise<DeviceLoginRow | undefined> {
  return db
    .updateTable('device_logins')
    .set({ status: decision.status, user_id: decision.userId, session_id: decision.sessionId, decided_at: decision.now })
    .where('id', '=', id)
    .where('status', '=', 'pending')
    .where('expires_at', '>', decision.now)
    .returningAll()
    .executeTakeFirst()
}

/** The row of a device code, locked for this poll (polls of one code are serialised). */
export async function lockByDeviceCode(db: Executor, deviceCodeHash: string): Promise<DeviceLoginRow | undefined> {
  return db.selectFrom('device_logins').selectAll().where('device_code_hash', '=', deviceCodeHash).forUpdate().executeTakeFirst()
}

export async function recordPoll(db: Executor, id: string, now: Date, intervalSeconds: number): Promise<void> {
  await db.updateTable('device_logins').set({ last_polled_at: now, interval_seconds: intervalSeconds }).where('id', '=', id).execute()
}

export async function markRedeemed(db: Executor, id: string, now: Date): Promise<void> {
  await db.updateTable('device_logins').set({ status: 'redeemed', redeemed_at: now, last_polled_at: now }).where('id', '=', id).execute()
}

/** Housekeeping, bounded per call: requests that expired before `olderThan` go. */
export async function purgeDeviceLogins(db: Executor, olderThan: Date, batch = 500): Promise<void> {
  await sql`DELETE FROM device_logins WHERE id IN (
    SELECT id FROM device_logins WHERE expires_at < ${olderThan} LIMIT ${batch})`.execute(db)
  await sql`DELETE FROM device_code_failures WHERE key IN (
    SELECT key FROM device_code_failures WHERE window_started_at < ${olderThan} LIMIT ${batch})`.execute(db)
}

/** Current failures of each key inside the window that started after `windowStart` (0 when none). */
export async function failuresSince(db: Executor, keys: string[], windowStart: Date): Promise<{ key: string; failures: number; startedAt: Date }[]> {
  if (keys.length === 0) return []
  const rows = await db
    .selectFrom('device_code_failures')
    .select(['key', 'failures', 'window_started_at'])
    .where('key', 'in', keys)
    .where('window_started_at', '>', windowStart)
    .execute()
  return rows.map((r) => ({ key: r.key, failures: r.failures, startedAt: r.window_started_at }))
}

/** Counts one wrong code against a key: a new window when the last one is over, atomically. */
export async function addFailure(db: Executor, key: string, now: Date, windowStart: Date): Promise<void> {
  await sql`
    INSERT INTO device_code_failures (key, window_started_at, failures) VALUES (${key}, ${now}, 1)
    ON CONFLICT (key) DO UPDATE SET
      failures = CASE WHEN device_code_failures.window_started_at > ${windowStart} THEN device_code_failures.failures + 1 ELSE 1 END,
      window_started_at = CASE WHEN device_code_failures.window_started_at > ${windowStart} THEN device_code_failures.window_started_at ELSE ${now} END
  `.execute(db)
}
