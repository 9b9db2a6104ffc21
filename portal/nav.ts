/** The site navigation as data: which links a visitor sees (by role) and which one is the current page. */
import type { PortalUserSnapshot } from '../db/types.ts'

export interface NavLink {
  href: string
  label: string
  current: boolean
}

export interface NavModel {
  /** empty for a visitor who is not signed in */
  links: NavLink[]
  user: { username: string; role: 'admin' | 'analyst' } | null
}

const EVERYONE: ReadonlyArray<[string, string]> = [
  ['/', 'Dashboard'],
  ['/profiles', 'Profiles'],
  ['/search', 'Search'],
  ['/saved-searches', 'Saved'],
]
const ADMINS: ReadonlyArray<[string, string]> = [
  ['/import', 'Import'],
  ['/admin/users', 'Users'],
]

/** A link is current on its own page and below it (`/profiles/…` is under Profiles); `/` only on itself. */
function isCurrent(href: string, path: string): boolean {
  return href === '/' ? path === '/' : path === href || path.startsWith(`${href}/`)
}

export function navModel(user: PortalUserSnapshot | null, path: string): NavModel {
  if (!user) return { links: [], user: null }
  const entries = [...EVERYONE, ...(user.role === 'admin' ? ADMINS : []), ['/account', 'Account'] as [string, string]]
  return {
    links: entries.map(([href, label]) => ({ href, label, current: isCurrent(href, path) })),
    user: { username: user.username, role: user.role },
  }
}
