/**
 * The facets side panel (issue 15, Datasette-style): the API's counts per value for the current
 * filter, each value a link that toggles that value within the field's either-or list (contract §6:
 * `country_id=GH,NG` is either country). Everything stays in the URL; links carry only the fields
 * that are set, in the contract's canonical form, and start again at page 1 (no page, no cursor).
 */
import { canonicalFilter, valuesOf, type ProfileFilter } from '../contract/profile-filter.ts'
import type { Facet, FacetCounts } from '../contract/profile-query.ts'
import { DEFAULT_LIMIT, filterParams, sortParams, type Paging } from './filters.ts'
import type { FastifyRequest } from 'fastify'
import type { Query } from './api-client.ts'
import { capitalise, href } from './format.ts'

/** What the portal asks the API for on Profiles and Search. */
export const PORTAL_FACETS = 'gender,age_group,country_id'

const TITLES: Record<Facet, string> = { gender: 'Gender', age_group: 'Age group', country_id: 'Country' }
const ORDER: readonly Facet[] = ['gender', 'age_group', 'country_id']

export interface FacetValue {
  label: string
  count: number
  href: string
  /** this value is in the filter's list now: its link takes it out */
  active: boolean
}

export interface FacetGroup {
  field: Facet
  title: string
  /** some value of this field is selected: the others' links add to the list */
  filtered: boolean
  values: FacetValue[]
}

/**
 * The filter with `value` added to `field`'s either-or list, or taken out of it when it is already
 * there (an emptied list removes the field). The result is canonical: lists in the contract's order
 * (countries alphabetical), and a list naming every gender or every age group is no filter at all.
 */
export function toggled(filter: ProfileFilter, field: Facet, value: string): ProfileFilter {
  const current: readonly string[] = valuesOf<string>(filter[field])
  const values = current.includes(value) ? current.filter((v) => v !== value) : [...current, value]
  const next: Record<string, unknown> = { ...filter, [field]: values.length === 0 ? undefined : values }
  return canonicalFilter(next as ProfileFilter)
}

/**
 * The fields whose counts come from a query of their own: a field with a selection is counted over
 * the filter without that field (the other filters kept), so its unselected values show how many
 * they would add and can be clicked into the list. Each entry is the API query to ask.
 */
export function ownFieldQueries(filter: ProfileFilter): { field: Facet; query: Query }[] {
  return ORDER.filter((field) => filter[field] !== undefined).map((field) => {
    const without: Record<string, unknown> = { ...filter }
    delete without[field]
    return { field, query: { ...filterParams(without as ProfileFilter), limit: 1, facets: field } }
  })
}

/**
 * Asks the API for ownFieldQueries, concurrently: the counts per selected field. They only refine
 * the panel: a call that fails leaves that field with its counts under the whole filter (the page's
 * own call reports any failure that matters).
 */
export async function ownFieldCounts(request: FastifyRequest, filter: ProfileFilter): Promise<FacetCounts> {
  const asked = ownFieldQueries(filter)
  const answers = await Promise.all(
    asked.map(({ query }) => request.callApi((api, ctx) => api.listProfiles(query, ctx)).catch(() => undefined)),
  )
  const counts: Record<string, unknown> = {}
  asked.forEach(({ field }, i) => (counts[field] = answers[i]?.facets?.[field]))
  return counts as FacetCounts
}

/**
 * The counts to show: `own` (from ownFieldQueries) replaces a field's counts under the whole filter,
 * and any selected value it lacks (a country beyond the top 20) is kept from `current`, whose count
 * for a selected value is the same number.
 */
export function withOwnFieldCounts(filter: ProfileFilter, current: FacetCounts | undefined, own: FacetCounts): FacetCounts | undefined {
  if (!current) return current
  const merged: Record<string, unknown> = { ...current }
  for (const field of ORDER) {
    const counts: ReadonlyArray<{ value: string }> | undefined = own[field]
    if (!counts || !current[field]) continue
    const selected: readonly string[] = valuesOf<string>(filter[field])
    const seen = new Set(counts.map((c) => c.value))
    const kept: ReadonlyArray<{ value: string }> = current[field]
    merged[field] = [...counts, ...kept.filter((c) => selected.includes(c.value) && !seen.has(c.value))]
  }
  return merged as FacetCounts
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
    const selected: readonly string[] = valuesOf<string>(filter[field])
    const values = counts
      .filter((c) => c.count > 0 || selected.includes(c.value))
      .map((c) => ({
        label: field === 'country_id' ? (c.label ?? c.value) : capitalise(c.value),
        count: c.count,
        href: href(path, { ...filterParams(toggled(filter, field, c.value)), ...keep }),
        active: selected.includes(c.value),
      }))
    groups.push({ field, title: TITLES[field], filtered: selected.length > 0, values })
  }
  return groups
}
