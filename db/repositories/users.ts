import { sql, type Selectable } from 'kysely'
import type { UserRole, UsersTable, Executor } from '../types.ts'

export type UserRow = Selectable<UsersTable>


export interface GitHubLogin {
  /** used only when the user is new */
  id: string
  githubId: number
  username: string
  email: string | null
  avatarUrl: string | null
  /** on the admin allowlist: becomes (or stays) admin at this login */
  makeAdmin: boolean
  now: Date
}

/**
 * The login upsert, one statement: a new user is created (analyst unless allowlisted); a returning
 * one gets fresh GitHub fields and is reactivated — unless an admin suspended them, in which case the
 * row says so (is_active false, suspended_at set) and the caller refuses the login.
 */
export async function upsertGitHubUser(db: Executor, login: GitHubLogin): Promise<UserRow> {
  return db
    .insertInto('users')
    .values({
      id: login.id,
      github_id: login.githubId,
      username: login.username,
      email: login.email,
      avatar_url: login.avatarUrl,
      role: login.makeAdmin ? 'admin' : 'analyst',
      is_active: true,
      last_login_at: login.now,
      created_at: login.now,
    })
    .onConflict((oc) =>
      oc.column('github_id').doUpdateSet((eb) => ({
        username: eb.ref('excluded.username'),
        email: eb.ref('excluded.email'),
        avatar_url: eb.ref('excluded.avatar_url'),
        role: login.makeAdmin ? sql<UserRole>`'admin'` : eb.ref('users.role'),
        is_active: sql<boolean>`users.suspended_at IS NULL`,
        last_login_at: sql<Date>`CASE WHEN users.suspended_at IS NULL THEN excluded.last_login_at ELSE users.last_login_at END`,
      })),
    )
    .returningAll()
    .executeTakeFirstOrThrow()
}

export async function findUserById(db: Executor, id: string): Promise<UserRow | undefined> {
  return db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst()
}

/** GitHub logins are case-insensitive; several rows could share one after renames, newest login first. */
export async function findUserByUsername(db: Executor, username: string): Promise<UserRow | undefined> {
  return db
    .selectFrom('users')
    .selectAll()
    .where(sql<string>`lower(username)`, '=', username.toLowerCase())
    .orderBy('last_login_at', (ob) => ob.desc().nullsLast())
    .executeTakeFirst()
}

export interface UserListFilter {
  /** case-insensitive substring of username or email */
  q?: string
  role?: UserRole
  isActive?: boolean
}

function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`)
}

function filtered(db: Executor, filter: UserListFilter) {
  let query = db.selectFrom('users')
  if (filter.q !== undefined && filter.q !== '') {
    const pattern = `%${escapeLike(filter.q)}%`
    query = query.where((eb) => eb.or([eb('username', 'ilike', pattern), eb('email', 'ilike', pattern)]))
  }
  if (filter.role !== undefined) query = query.where('role', '=', filter.role)
  if (filter.isActive !== undefined) query = query.where('is_active', '=', filter.isActive)
  return query
}

export async function listUsers(db: Executor, filter: UserListFilter, limit: number, offset: number): Promise<UserRow[]> {
  return filtered(db, filter).selectAll().orderBy('created_at', 'asc').orderBy('id', 'asc').limit(limit).offset(offset).execute()
}

export async function countUsers(db: Executor, filter: UserListFilter): Promise<number> {
  const row = await filtered(db, filter).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()
  return Number(row.n)
}

/** Locks the user's row for the rest of the transaction. */
export async function lockUser(trx: Executor, id: string): Promise<UserRow | undefined> {
  return trx.selectFrom('users').selectAll().where('id', '=', id).forUpdate().executeTakeFirst()
}

/**
 * Locks every active admin's row and returns their ids: two admins demoting each other at once are
 * serialised here, so the "last active admin" rule cannot be raced.
 */
export async function lockActiveAdmins(trx: Executor): Promise<string[]> {
  const rows = await trx
    .selectFrom('users')
    .select('id')
    .where('role', '=', 'admin')
    .where('is_active', '=', true)
    .orderBy('id')
    .forUpdate()
    .execute()
  return rows.map((r) => r.id)
}

export interface UserChange {
  role?: UserRole
  isActive?: boolean
  /** the admin (or null for an operator at the console) who suspends; required when isActive is false */
  suspendedBy?: string | null
  now: Date
}

export async function updateUser(trx: Executor, id: string, change: UserChange): Promise<UserRow | undefined> {
  const set: {
    role?: UserRole
    is_active?: boolean
    suspended_at?: Date | null
    suspended_by?: string | null
  } = {}
  if (change.role !== undefined) set.role = change.role
  if (change.isActive === false) {
    set.is_active = false
    set.suspended_at = change.now
    set.suspended_by = change.suspendedBy ?? null
  } else if (change.isActive === true) {
    set.is_active = true
    set.suspended_at = null
    set.suspended_by = null
  }
  if (Object.keys(set).length === 0) return findUserById(trx, id)
  return trx.updateTable('users').set(set).where('id', '=', id).returningAll().executeTakeFirst()
}
