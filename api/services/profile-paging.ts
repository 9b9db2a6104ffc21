import { DEFAULT_LIMIT, MAX_LIMIT, type PagingQuery, type SortColumn } from '../../contract/profile-query.ts'
import type { ProfileSort } from '../../db/repositories/profiles.ts'

export interface Paging {
  page: number
  limit: number
  sort: ProfileSort
  /** the sort (and facet) parameters exactly as given, for links */
  sortParams: { sort_by?: string; order?: string; facets?: string }
  /** keyset paging: the opaque position of a previous page's next_cursor */
  cursor?: string
}

/** Page, clamped limit and sort of a validated query; the default order is created_at desc. */
export function pagingOf(query: PagingQuery): Paging {
  const limit = Math.min(query.limit ?? DEFAULT_LIMIT, MAX_LIMIT)
  const column: SortColumn = query.sort_by ?? 'created_at'
  const direction = query.order ?? (query.sort_by ? 'asc' : 'desc')
  const sortParams: Paging['sortParams'] = {}
  if (query.sort_by) sortParams.sort_by = query.sort_by
  if (query.order) sortParams.order = query.order
  if (query.facets) sortParams.facets = query.facets
  return { page: query.page ?? 1, limit, sort: { column, direction }, sortParams, cursor: query.cursor }
}
