import { newId } from '../../contract/ids.ts'
import { formatTimestamp } from '../../contract/profile.ts'
import { MAX_SAVED_SEARCHES, readSavedQuery, savedSearchPath, type SavedSearchJson } from '../../contract/saved-search.ts'
import type { Db } from '../../db/index.ts'
import { deleteSavedSearch, insertSavedSearch, listSavedSearches, type SavedSearchRow } from '../../db/repositories/saved-searches.ts'
import { ApiError } from '../errors.ts'
import type { AuditLog, RequestContext } from './audit.ts'
import type { Clock } from './clock.ts'

function toJson(row: SavedSearchRow): SavedSearchJson {
  return {
    id: row.id,
    name: row.name,
    kind: row.kind,
    query: row.query,
    path: savedSearchPath(row.kind, row.query),
    created_at: formatTimestamp(row.created_at),
  }
}

/** A user's saved searches: listed, created (validated, limited, audited) and deleted. */
export class SavedSearchService {
  constructor(
    private readonly db: Db,
    private readonly audit: AuditLog,
    private readonly clock: Clock,
    private readonly max = MAX_SAVED_SEARCHES,
  ) {}

  async list(userId: string): Promise<SavedSearchJson[]> {
    return (await listSavedSearches(this.db.db, userId)).map(toJson)
  }

  async create(userId: string, name: string, query: string, context: RequestContext): Promise<SavedSearchJson> {
    const trimmed = name.trim()
    if (trimmed === '') throw new ApiError(400, 'Missing or empty name')
    const reading = readSavedQuery(query)
    if (!reading.ok) throw new ApiError(reading.message.startsWith('Missing') ? 400 : 422, reading.message)
    const result = await insertSavedSearch(
      this.db.db,
      { id: newId(), userId, name: trimmed, kind: reading.kind, query: reading.query, createdAt: new Date(this.clock()) },
      this.max,
    )
    if (!result.inserted) {
      throw result.reason === 'limit'
        ? new ApiError(422, `Too many saved searches: at most ${this.max} per user; delete one first`)
        : new ApiError(409, 'A saved search with this name exists')
    }
    await this.audit.record('saved_search.create', context, {
      actorId: userId,
      subjectId: userId,
      details: { saved_search_id: result.inserted.id, kind: reading.kind },
    })
    return toJson(result.inserted)
  }

  async delete(userId: string, id: string, context: RequestContext): Promise<boolean> {
    const deleted = await deleteSavedSearch(this.db.db, userId, id.toLowerCase())
    if (deleted) await this.audit.record('saved_search.delete', context, { actorId: userId, subjectId: userId, details: { saved_search_id: id } })
    return deleted
  }
}
