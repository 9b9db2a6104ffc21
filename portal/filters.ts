/**
 * The portal's reading of filter, sort and paging parameters from a query string. Browsers send
 * every form field, so empty values mean "not set" here (the API would refuse `gender=`); anything
 * else that is not a valid value is reported to the visitor instead of being sent on.
 */
import { COUNTRIES, countryNameOf, isKnownCountryId } from '../contract/countries.ts'
import { AGE_GROUP_BOUNDS, AGE_GROUPS, GENDERS, type AgeGroup, type Gender, type ProfileFilter } from '../contract/profile-filter.ts'
import type { Query } from './api-client.ts'
import { capitalise, formatProbability } from './format.ts'

export const SORT_COLUMNS = ['name', 'gender_probability', 'age', 'country_probability', 'created_at'] as const
export type SortColumn = (typeof SORT_COLUMNS)[number]
export const PAGE_SIZES = [10, 20, 50] as const
export const DEFAULT_LIMIT = 10
export const MAX_LIMIT = 50
export const MAX_PAGE = 10_000_000
export const MAX_AGE = 150
const MAX_VALUE_LENGTH = 100

export const FILTER_FIELDS = [
  'gender',
  'age_group',
  'country_id',
  'min_age',
  'max_age',
  'min_gender_probability',
  'min_country_probability',
] as const
export type FilterField = (typeof FILTER_FIELDS)[number]

export interface Paging {
  sort_by?: SortColumn
  order?: 'asc' | 'desc'
  page: number
  limit: number
}

export interface ParsedQuery {
  filter: ProfileFilter
  paging: Paging
  /** field → message, for the form; empty when everything was valid */
  errors: Record<string, string>
  /** the raw values as given, to refill the form */
  values: Record<string, string>
}

/** Countries for the select, by name. */
export const COUNTRY_OPTIONS: ReadonlyArray<{ id: string; name: string }> = [...COUNTRIES].sort((a, b) => a.name.localeCompare(b.name, 'en'))

function single(query: Record<string, unknown>, key: string): { value?: string; error?: string } {
  const raw = query[key]
  if (raw === undefined) return {}
  if (Array.isArray(raw)) return { error: 'Give this value only once.' }
  if (typeof raw !== 'string') return { error: 'Invalid value.' }
  const value = raw.trim()
  if (value === '') return {}
  if (value.length > MAX_VALUE_LENGTH) return { error: 'That value is too long.' }
  return { value }
}

function parseInteger(value: string, min: number, max: number): number | undefined {
  if (!/^\d{1,9}$/.test(value)) return undefined
  const n = Number(value)
  return n >= min && n <= max ? n : undefined
}

function parseProbability(value: string): number | undefined {
  if (!/^(?:0(?:\.\d{1,6})?|1(?:\.0{1,6})?|\.\d{1,6})$/.test(value)) return undefined
  const n = Number(value)
  return Number.isFinite(n) && n >= 0 && n <= 1 ? n : undefined
}

/** Reads the filters and (with `paging`) sort and page parameters; never throws. */
export function parseListQuery(query: unknown, options: { paging: boolean } = { paging: true }): ParsedQuery {
  const q = (typeof query === 'object' && query !== null ? query : {}) as Record<string, unknown>
  const errors: Record<string, string> = {}
  const values: Record<string, string> = {}
  const filter: ProfileFilter = {}
  const read = (key: string): string | undefined => {
    const { value, error } = single(q, key)
    if (error) errors[key] = error
    if (value !== undefined) values[key] = value
    return value
  }

  const gender = read('gender')?.toLowerCase()
  if (gender !== undefined) {
    if ((GENDERS as readonly string[]).includes(gender)) filter.gender = gender as Gender
    else errors.gender = 'Choose male or female.'
  }
  const ageGroup = read('age_group')?.toLowerCase()
  if (ageGroup !== undefined) {
    if ((AGE_GROUPS as readonly string[]).includes(ageGroup)) filter.age_group = ageGroup as AgeGroup
    else errors.age_group = 'Choose one of the age groups.'
  }
  const country = read('country_id')?.toUpperCase()
  if (country !== undefined) {
    if (/^[A-Z]{2}$/.test(country) && isKnownCountryId(country)) filter.country_id = country
    else errors.country_id = 'Choose a country from the list.'
  }
  for (const key of ['min_age', 'max_age'] as const) {
    const raw = read(key)
    if (raw === undefined) continue
    const n = parseInteger(raw, 0, MAX_AGE)
    if (n === undefined) errors[key] = `Enter a whole number of years from 0 to ${MAX_AGE}.`
    else filter[key] = n
  }
  for (const key of ['min_gender_probability', 'min_country_probability'] as const) {
    const raw = read(key)
    if (raw === undefined) continue
    const n = parseProbability(raw)
    if (n === undefined) errors[key] = 'Enter a number from 0 to 1, such as 0.8.'
    else filter[key] = n
  }

  const paging: Paging = { page: 1, limit: DEFAULT_LIMIT }
  if (options.paging) {
    const sortBy = read('sort_by')?.toLowerCase()
    if (sortBy !== undefined) {
      if ((SORT_COLUMNS as readonly string[]).includes(sortBy)) paging.sort_by = sortBy as SortColumn
      else errors.sort_by = 'Unknown sort column.'
    }
    const order = read('order')?.toLowerCase()
    if (order !== undefined) {
      if (order === 'asc' || order === 'desc') paging.order = order
      else errors.order = 'Order must be ascending or descending.'
    }
    const page = read('page')
    if (page !== undefined) {
      const n = parseInteger(page, 1, MAX_PAGE)
      if (n === undefined) errors.page = `Pages are numbered from 1 to ${MAX_PAGE.toLocaleString('en-GB')}.`
      else paging.page = n
    }
    const limit = read('limit')
    if (limit !== undefined) {
      // Like the API, a page size above the maximum is clamped rather than refused.
      const n = /^\d{1,9}$/.test(limit) ? Number(limit) : NaN
      if (!Number.isInteger(n) || n < 1) errors.limit = `Page size must be from 1 to ${MAX_LIMIT}.`
      else paging.limit = Math.min(n, MAX_LIMIT)
    }
  }
  return { filter, paging, errors, values }
}

/** The filter as API / link parameters, in the form's order. */
export function filterParams(filter: ProfileFilter): Query {
  const out: Query = {}
  for (const key of FILTER_FIELDS) {
    const value = filter[key]
    if (value !== undefined) out[key] = Array.isArray(value) ? value.join(',') : value
  }
  return out
}

/** Sort parameters for links, omitted when they are the defaults. */
export function sortParams(paging: Paging): Query {
  return { sort_by: paging.sort_by, order: paging.order }
}

export function hasFilters(filter: ProfileFilter): boolean {
  return FILTER_FIELDS.some((key) => filter[key] !== undefined)
}

/** The order a click on a column header asks for: the other direction when it is the active column. */
export function nextOrder(paging: Paging, column: SortColumn): 'asc' | 'desc' {
  const active = paging.sort_by ?? 'created_at'
  const direction = paging.order ?? (paging.sort_by ? 'asc' : 'desc')
  if (active === column) return direction === 'asc' ? 'desc' : 'asc'
  return column === 'created_at' ? 'desc' : 'asc'
}

/** The active sort as aria-sort would say it, for one column. */
export function ariaSort(paging: Paging, column: SortColumn): 'ascending' | 'descending' | 'none' {
  const active = paging.sort_by ?? 'created_at'
  if (active !== column) return 'none'
  const direction = paging.order ?? (paging.sort_by ? 'asc' : 'desc')
  return direction === 'asc' ? 'ascending' : 'descending'
}

export interface FilterChip {
  field: FilterField
  label: string
}

/** Human labels for a filter, one per condition, in the form's order. */
export function filterChips(filter: ProfileFilter): FilterChip[] {
  const chips: FilterChip[] = []
  for (const field of FILTER_FIELDS) {
    const value = filter[field]
    if (value === undefined) continue
    let label: string
    switch (field) {
      case 'gender':
        label = `Gender: ${value}`
        break
      case 'age_group': {
        const bounds = AGE_GROUP_BOUNDS[value as AgeGroup]
        label = `Age group: ${value} (${bounds.max === null ? `${bounds.min}+` : `${bounds.min}–${bounds.max}`})`
        break
      }
      case 'country_id':
        label = `Country: ${countryNameOf(String(value)) ?? value}`
        break
      case 'min_age':
        label = `Age ≥ ${value}`
        break
      case 'max_age':
        label = `Age ≤ ${value}`
        break
      case 'min_gender_probability':
        label = `Gender confidence ≥ ${formatProbability(Number(value))}`
        break
      case 'min_country_probability':
        label = `Country confidence ≥ ${formatProbability(Number(value))}`
        break
    }
    chips.push({ field, label: capitalise(label) })
  }
  return chips
}

/** The filter without one of its conditions. */
export function withoutField(filter: ProfileFilter, field: FilterField): ProfileFilter {
  const copy: ProfileFilter = { ...filter }
  delete copy[field]
  return copy
}

/** Page numbers to offer around the current one: first, last, and a window, with gaps as null. */
export function pageWindow(page: number, totalPages: number, radius = 2): (number | null)[] {
  if (totalPages <= 1) return []
  const pages = new Set<number>([1, totalPages])
  for (let p = Math.max(1, page - radius); p <= Math.min(totalPages, page + radius); p++) pages.add(p)
  const sorted = [...pages].sort((a, b) => a - b)
  const out: (number | null)[] = []
  for (let i = 0; i < sorted.length; i++) {
    if (i > 0 && sorted[i] - sorted[i - 1] > 1) out.push(null)
    out.push(sorted[i])
  }
  return out
}
