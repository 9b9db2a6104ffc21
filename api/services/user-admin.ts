import type { Db } from '../../db/index.ts'
import { lockActiveAdmins, lockUser, updateUser, type UserRow } from '../../db/repositories/users.ts'
import { revokeUserSessions } from '../../db/repositories/sessions.ts'
import { ApiError } from '../errors.ts'
import type { Role } from '../../contract/roles.ts'
import type { AuditLog, RequestContext } from './audit.ts'
import type { Clock } from './clock.ts'
import type { SessionCache } from './session-cache.ts'

/** The contract's user object (GET /auth/me, /api/users…). */
export interface UserJson {
  id: string
  github_id: number
  username: string
  email: string | null
  avatar_url: string | null
  role: Role
  is_active: boolean
  last_login_at: string | null
  created_at: string
}

/** UTC, second precision, `YYYY-MM-DDTHH:MM:SSZ`, like every timestamp of the contract. */
export function formatInstant(date: Date): string {
  return `${date.toISOString().slice(0, 19)}Z`
}

export function toUserJson(row: UserRow): UserJson {
  return {
    id: row.id,
    github_id: row.github_id,
    username: row.username,
    email: row.email,
    avatar_url: row.avatar_url,
    role: row.role,
    is_active: row.is_active,
    last_login_at: row.last_login_at ? formatInstant(row.last_login_at) : null,
    created_at: formatInstant(row.created_at),
  }
}

export interface UserPatch {
  role?: Role
  is_active?: boolean
}

/** null = an operator at the console (`npm run users`), not a signed-in admin. */
export type Actor = { id: string } | null

export const LAST_ADMIN_MESSAGE = 'Refused: this would leave no active admin'

/**
 * Role and status changes, for the admin API and the operator script alike. Rules:
 * - suspending sets is_active=false with suspended_at/by (login will not undo it) and ends every
 *   session of the user in the same transaction; activating clears the suspension;
 * - no change may leave the system without an active admin (409), whoever asks — so an admin can
 *   demote or suspend themselves only while another active admin exists;
 * - every effective change is audited, and this instance's session cache forgets the user at once.
 */
export async function changeUser(
  deps: { db: Db; clock: Clock; cache: SessionCache; audit: AuditLog },
  actor: Actor,
  userId: string,
  patch: UserPatch,
  context: RequestContext,
): Promise<UserRow> {
  const now = new Date(deps.clock())
  const { before, after, endedSessions } = await deps.db.db.transaction().execute(async (trx) => {
    const admins = await lockActiveAdmins(trx)
    const current = await lockUser(trx, userId)
    if (!current) throw new ApiError(404, 'User not found')
    const losesAdmin =
      admins.includes(current.id) && ((patch.role !== undefined && patch.role !== 'admin') || patch.is_active === false)
    if (losesAdmin && admins.length <= 1) throw new ApiError(409, LAST_ADMIN_MESSAGE)
    const suspend = patch.is_active === false && current.is_active
    const activate = patch.is_active === true && !current.is_active
    const updated = await updateUser(trx, userId, {
      role: patch.role !== undefined && patch.role !== current.role ? patch.role : undefined,
      isActive: suspend ? false : activate ? true : undefined,
      suspendedBy: actor?.id ?? null,
      now,
    })
    if (!updated) throw new ApiError(404, 'User not found')
    const ended = suspend ? await revokeUserSessions(trx, userId, 'user_suspended', now) : []
    return { before: current, after: updated, endedSessions: ended }
  })
  deps.cache.evictUser(userId)
  for (const id of endedSessions) deps.cache.evictSession(id)

  const base = { actorId: actor?.id ?? null, subjectId: userId }
  const via: Record<string, string> = actor === null ? { via: 'console' } : { via: 'api' }
  if (before.role !== after.role) {
    await deps.audit.record('user.role_change', context, { ...base, details: { from: before.role, to: after.role, ...via } })
  }
  if (before.is_active && !after.is_active) {
    await deps.audit.record('user.suspend', context, { ...base, details: { sessions_ended: endedSessions.length, ...via } })
  }
  if (!before.is_active && after.is_active) {
    await deps.audit.record('user.activate', context, { ...base, details: { ...via } })
  }
  return after
}
