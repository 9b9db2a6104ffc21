import type { Role } from '../../contract/roles.ts'
import { ApiError } from '../errors.ts'

/** Why a session or a personal access token ended, as its row and the audit log record it. */
export type RevocationReason = 'revoked_by_user' | 'revoked_by_admin'

/**
 * Who may end a session or a personal access token: its owner, or an admin (anyone's). To anyone
 * else it does not exist — the same 404 as an unknown id (`ownerId` undefined), so the ids of other
 * people's credentials cannot be probed. Returns the reason the revocation records.
 */
export function revocationBy(actor: { id: string; role: Role }, ownerId: string | undefined, notFoundMessage: string): RevocationReason {
  if (ownerId === undefined || (ownerId !== actor.id && actor.role !== 'admin')) throw new ApiError(404, notFoundMessage)
  return ownerId === actor.id ? 'revoked_by_user' : 'revoked_by_admin'
}
