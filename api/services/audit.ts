import { newId } from '../../contract/ids.ts'
import type { Db } from '../../db/index.ts'
import { insertAuditEvent } from '../../db/repositories/audit.ts'
import type { Clock } from './clock.ts'

/** Who is asking, as far as the audit log (and session listings) care. Never a credential. */
export interface RequestContext {
  ip: string | null
  userAgent: string | null
  requestId: string | null
}

export const NO_REQUEST: RequestContext = { ip: null, userAgent: null, requestId: null }

export type AuditEventName =
  | 'login.success'
  | 'login.failure'
  | 'code.replay'
  | 'refresh.reuse'
  | 'logout'
  | 'logout.all'
  | 'session.revoke'
  | 'user.role_change'
  | 'user.suspend'
  | 'user.activate'
  | 'saved_search.create'
  | 'saved_search.delete'
  | 'device.approve'
  | 'device.deny'
  | 'device.replay'
  | 'pat.create'
  | 'pat.use_new_ip'
  | 'pat.revoke'
  | 'pat.expired'

export interface AuditEntry {
  actorId?: string | null
  subjectId?: string | null
  sessionId?: string | null
  details?: Record<string, string | number | boolean | null>
}

const MAX_TEXT = 512

/** Writes security events; the log keeps ids, addresses and reasons, never a token, code or secret. */
export class AuditLog {
  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
  ) {}

  async record(event: AuditEventName, context: RequestContext, entry: AuditEntry = {}): Promise<void> {
    await insertAuditEvent(this.db.db, {
      id: newId(),
      occurredAt: new Date(this.clock()),
      event,
      actorId: entry.actorId ?? null,
      subjectId: entry.subjectId ?? null,
      sessionId: entry.sessionId ?? null,
      ip: context.ip,
      userAgent: context.userAgent?.slice(0, MAX_TEXT) ?? null,
      requestId: context.requestId,
      details: entry.details ?? {},
    })
  }
}
