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

/** The opaque cursor in the API's `links.next_cursor` (a relative URL), if there is one. */
export function cursorOf(nextCursor: string | null | undefined): string | undefined {
  if (typeof nextCursor !== 'string') return undefined
  const at = nextCursor.indexOf('?')
  return new URLSearchParams(at < 0 ? '' : nextCursor.slice(at + 1)).get('cursor') || undefined
}

/**
 * `base` holds the parameters every link keeps (the filters, or the search's q); sorting and paging
 * are added here, page and limit last. "Next ›" goes by the API's keyset cursor (contract §6) and
 * also names the page it leads to, so "page x of y" stays right; Previous and the numbered pages go
 * by number.
 */
export function tableModel(path: string, base: Query, paging: Paging, envelope: ListEnvelope): TableModel {
  const limitParam = envelope.limit !== DEFAULT_LIMIT ? envelope.limit : undefined
  const sorted = { sort_by: paging.sort_by, order: paging.order }
  const pageHref = (page: number) => href(path, { ...base, ...sorted, page: page > 1 ? page : undefined, limit: limitParam })
  const cursor = cursorOf(envelope.links.next_cursor)
  const nextHref = (page: number) =>
    cursor === undefined ? pageHref(page) : href(path, { ...base, ...sorted, page, cursor, limit: limitParam })
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
    nextHref: page < totalPages ? nextHref(page + 1) : null,
    lastHref: totalPages > 0 ? pageHref(totalPages) : null,
    beyondEnd: total > 0 && data.length === 0,
  }
}

export interface CursorProblem {
  /** the portal's or the API's reason */
  message: string
  /** the same page by its number */
  pageHref: string
  page: number
}

/** A Next link whose cursor was refused (damaged, or from another query): the page by number instead. */
export function cursorProblemModel(path: string, base: Query, paging: Paging, message: string): CursorProblem {
  const limit = paging.limit !== DEFAULT_LIMIT ? paging.limit : undefined
  return { message, page: paging.page, pageHref: href(path, { ...base, sort_by: paging.sort_by, order: paging.order, page: paging.page > 1 ? paging.page : undefined, limit }) }
}
