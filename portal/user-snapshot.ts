import type { PortalUserSnapshot } from '../db/types.ts'
import type { UserJson } from './api-client.ts'

/** What a portal session remembers of its user (shown in the header; the role picks the nav). */
export function snapshotOf(user: UserJson): PortalUserSnapshot {
  return {
    id: user.id,
    username: user.username,
    role: user.role === 'admin' ? 'admin' : 'analyst',
    email: user.email ?? null,
    avatar_url: user.avatar_url ?? null,
  }
}
