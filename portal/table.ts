/** The view model of a profiles results table: sortable headers, pagination and the result count. */
import type { ListEnvelope, Profile, Query } from './api-client.ts'
import { ariaSort, DEFAULT_LIMIT, nextOrder, pageWindow, type Paging, type SortColumn } from './filters.ts'
import { formatCount, href } from './format.ts'

export interface TableColumn {
  key: string
  label: string
  /** a numeric column (right-aligned) */
  numeric: boolean
  sort?: { href: string; aria: 'ascending' | 'descending' | 'none'; next: 'asc' | 'desc' }
}

export interface TableModel {
  columns: TableColumn[]
  rows: Profile[]
  total: number
  page: number
  totalPages: number
  limit: number
  /** "Showing 11–20 of 2,026 profiles" */
  countText: string
  pages: ({ number: number; href: string; current: boolean } | null)[]
  prevHref: string | null
  nextHref: string | null
  lastHref: string | null
  /** the page is past the end of the results */
  beyondEnd: boolean
}

const COLUMNS: { key: string; label: string; numeric: boolean; sortable?: SortColumn }[] = [
  { key: 'name', label: 'Name', numeric: false, sortable: 'name' },
  { key: 'gender', label: 'Gender', numeric: false },
  { key: 'gender_probability', label: 'Gender conf.', numeric: true, sortable: 'gender_probability' },
  { key: 'age', label: 'Age', numeric: true, sortable: 'age' },
  { key: 'age_group', label: 'Age group', numeric: false },
  { key: 'country', label: 'Country', numeric: false },
  { key: 'country_probability', label: 'Country conf.', numeric: true, sortable: 'country_probability' },
  { key: 'created_at', label: 'Added', numeric: false, sortable: 'created_at' },
]

/**
 * `base` holds the parameters every link keeps (the filters, or the search's q); sorting and paging
 * are added here, page and limit last.
 */
export function tableModel(path: string, base: Query, paging: Paging, envelope: ListEnvelope): TableModel {
  const limitParam = envelope.limit !== DEFAULT_LIMIT ? envelope.limit : undefined
  const sorted = { sort_by: paging.sort_by, order: paging.order }
  const pageHref = (page: number) => href(path, { ...base, ...sorted, page: page > 1 ? page : undefined, limit: limitParam })
  const columns = COLUMNS.map((c) => {
    const column: TableColumn = { key: c.key, label: c.label, numeric: c.numeric }
    if (c.sortable) {
      const next = nextOrder(paging, c.sortable)
      column.sort = { href: href(path, { ...base, sort_by: c.sortable, order: next, limit: limitParam }), aria: ariaSort(paging, c.sortable), next }
    }
    return column
  })
  const { page, total, total_pages: totalPages, data } = envelope
  const from = (page - 1) * envelope.limit + 1
  const countText =
    total === 0
      ? 'No profiles match.'
      : data.length === 0
        ? `${formatCount(total)} ${total === 1 ? 'profile matches' : 'profiles match'}; this page is past the end.`
        : `Showing ${formatCount(from)}–${formatCount(from + data.length - 1)} of ${formatCount(total)} ${total === 1 ? 'profile' : 'profiles'}`
  return {
    columns,
    rows: data,
    total,
    page,
    totalPages,
    limit: envelope.limit,
    countText,
    pages: pageWindow(Math.min(page, Math.max(totalPages, 1)), totalPages).map((n) => (n === null ? null : { number: n, href: pageHref(n), current: n === page })),
    prevHref: page > 1 && totalPages > 0 ? pageHref(Math.min(page - 1, totalPages)) : null,
    nextHref: page < totalPages ? pageHref(page + 1) : null,
    lastHref: totalPages > 0 ? pageHref(totalPages) : null,
    beyondEnd: total > 0 && data.length === 0,
  }
}
