import type { Selectable } from 'kysely'
import type { AuditEventsTable, Executor } from '../types.ts'

export type AuditEventRow = Selectable<AuditEventsTable>

export interface NewAuditEvent {
  id: string
  occurredAt: Date
  event: string
  actorId: string | null
  subjectId: string | null
  sessionId: string | null
  ip: string | null
  userAgent: string | null
  requestId: string | null
  /** reasons, client ids, old/new values — never a token, code or secret */
  details: Record<string, string | number | boolean | null>
}

export async function insertAuditEvent(db: Executor, event: NewAuditEvent): Promise<void> {
  await db
    .insertInto('audit_events')
    .values({
      id: event.id,
      occurred_at: event.occurredAt,
      event: event.event,
      actor_id: event.actorId,
      subject_id: event.subjectId,
      session_id: event.sessionId,
      ip: event.ip,
      user_agent: event.userAgent,
      request_id: event.requestId,
      details: JSON.stringify(event.details),
    })
    .execute()
}

export async function listAuditEvents(
  db: Executor,
  filter: { subjectId?: string; event?: string } = {},
  limit = 100,
): Promise<AuditEventRow[]> {
  let query = db.selectFrom('audit_events').selectAll()
  if (filter.subjectId !== undefined) query = query.where('subject_id', '=', filter.subjectId)
  if (filter.event !== undefined) query = query.where('event', '=', filter.event)
  return query.orderBy('occurred_at', 'desc').orderBy('id', 'desc').limit(limit).execute()
}
