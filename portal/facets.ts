/**
 * The facets side panel (issue 15, Datasette-style): the API's counts per value for the current
 * filter, each value a link that toggles that filter in the URL. Everything stays in the URL; links
 * carry only the fields that are set, and start again at page 1.
 */
import type { Facet, FacetCounts } from '../contract/profile-query.ts'
import type { ProfileFilter } from '../contract/profile-filter.ts'
import { DEFAULT_LIMIT, filterParams, sortParams, type Paging } from './filters.ts'
import { capitalise, href } from './format.ts'

/** What the portal asks the API for on Profiles and Search. */
export const PORTAL_FACETS = 'gender,age_group,country_id'

const TITLES: Record<Facet, string> = { gender: 'Gender', age_group: 'Age group', country_id: 'Country' }
const ORDER: readonly Facet[] = ['gender', 'age_group', 'country_id']

export interface FacetValue {
  label: string
  count: number
  href: string
  /** this value is the filter now: its link removes it */
  active: boolean
}

export interface FacetGroup {
  field: Facet
  title: string
  values: FacetValue[]
}

/** The filter with `field` set to `value`, or without it when it already is that value. */
export function toggled(filter: ProfileFilter, field: Facet, value: string): ProfileFilter {
  const next: Record<string, unknown> = { ...filter }
  if (String(filter[field] ?? '') === value) delete next[field]
  else next[field] = value
  return next as ProfileFilter
}

/**
 * `path` is where a value's link goes (the Profiles page: a search's facets refine its understood
 * filter there); the sorting and a page size other than the default are carried along.
 */
export function facetPanel(path: string, filter: ProfileFilter, paging: Paging, facets: FacetCounts | undefined): FacetGroup[] {
  if (!facets) return []
  const keep = { ...sortParams(paging), limit: paging.limit === DEFAULT_LIMIT ? undefined : paging.limit }
  const groups: FacetGroup[] = []
  for (const field of ORDER) {
    const counts: ReadonlyArray<{ value: string; count: number; label?: string }> | undefined = facets[field]
    if (!counts) continue
    const values = counts
      .filter((c) => c.count > 0 || String(filter[field] ?? '') === c.value)
      .map((c) => ({
        label: field === 'country_id' ? (c.label ?? c.value) : capitalise(c.value),
        count: c.count,
        href: href(path, { ...filterParams(toggled(filter, field, c.value)), ...keep }),
        active: String(filter[field] ?? '') === c.value,
      }))
    groups.push({ field, title: TITLES[field], values })
  }
  return groups
}
