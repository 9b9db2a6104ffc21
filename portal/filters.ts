/**
 * The portal's reading of filter, sort and paging parameters. The vocabulary, limits and rules are
 * the API's own (contract/profile-query.ts): routes declare the contract's query schemas, Fastify
 * validates them, and this module only turns the validation result into the form's per-field
 * messages. Browsers send every form field, so an empty value means "not set" here (the API would
 * refuse `gender=`): such URLs are redirected to the same URL without the empty fields, so that
 * every link the portal shows carries only what is set.
 */
import type { FastifyReply, FastifyRequest } from 'fastify'
import { Type } from 'typebox'
import { COUNTRIES, countryNameOf } from '../contract/countries.ts'
import { AGE_GROUP_BOUNDS, valuesOf, type AgeGroup, type ProfileFilter } from '../contract/profile-filter.ts'
import {
  DEFAULT_LIMIT,
  FILTER_PARAMS,
  FilterQuerySchema,
  ListQuerySchema,
  MAX_AGE,
  MAX_LIMIT,
  MAX_PAGE,
  MAX_QUERY_LENGTH,
  normaliseQuery,
  PagingQuerySchema,
  filterOf,
  type FilterQuery,
  type ListQuery,
  type SortColumn,
  type SortOrder,
} from '../contract/profile-query.ts'
import type { Query } from './api-client.ts'
import { formErrors, TEXT_PATTERN, type FieldMessage } from './forms.ts'
import { capitalise, formatProbability } from './format.ts'

export { DEFAULT_LIMIT, MAX_LIMIT, type SortColumn }
export const PAGE_SIZES = [10, 20, 50] as const
/** Longer than any valid value of a filter or paging parameter: refused before it is parsed. */
const MAX_VALUE_LENGTH = 100

export const FILTER_FIELDS = FILTER_PARAMS
export type FilterField = keyof FilterQuery

/** The dashboard's query: the list's filters (no paging); unknown keys are ignored, as by the API. */
export const DashboardQuerySchema = Type.Object({ ...FilterQuerySchema.properties }, { additionalProperties: true })
/** The Profiles page and its export: the API's list query, as it is. */
export const ProfilesQuerySchema = ListQuerySchema
/** The search page: `q` is optional here (no q shows the examples), its limit is the API's. */
export const SearchPageQuerySchema = Type.Object(
  {
    q: Type.Optional(Type.String({ maxLength: MAX_QUERY_LENGTH, pattern: TEXT_PATTERN })),
    ...PagingQuerySchema.properties,
  },
  { additionalProperties: true },
)

export interface Paging {
  sort_by?: SortColumn
  order?: SortOrder
  page: number
  limit: number
  /** keyset paging: the API's cursor to this page (from the previous page's Next link) */
  cursor?: string
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

/** What the visitor reads for a value the schema refused, per field. */
export const FIELD_MESSAGES: Record<string, FieldMessage> = {
  gender: 'Choose male or female.',
  age_group: 'Choose one of the age groups.',
  country_id: 'Choose a country from the list (a two-letter code).',
  min_age: `Enter a whole number of years from 0 to ${MAX_AGE}.`,
  max_age: `Enter a whole number of years from 0 to ${MAX_AGE}.`,
  min_gender_probability: 'Enter a confidence from 0 to 1, such as 0.8.',
  min_country_probability: 'Enter a confidence from 0 to 1, such as 0.8.',
  sort_by: 'Unknown sort column.',
  order: 'Order must be ascending or descending.',
  page: `Pages are numbered from 1 to ${MAX_PAGE.toLocaleString('en-GB')}.`,
  limit: `Page size must be from 1 to ${MAX_LIMIT}.`,
  cursor: 'This link to the next page is damaged.',
  q: (keyword) => (keyword === 'pattern' ? 'A search is plain text: remove the control characters.' : `A search can be at most ${MAX_QUERY_LENGTH} characters.`),
}

/** Parameter names whose values the portal reads (everything else in a URL is left alone). */
const KNOWN_KEYS: ReadonlySet<string> = new Set([...FILTER_PARAMS, 'sort_by', 'order', 'page', 'limit', 'cursor', 'q'])

interface QueryProblems {
  /** field → message found before schema validation (repeated or over-long values) */
  errors: Record<string, string>
  /** the values as given (trimmed), to refill the form */
  values: Record<string, string>
}

const problems = new WeakMap<FastifyRequest, QueryProblems>()

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null
}

/** The request's URL without query parameters whose value is empty; undefined when there are none. */
export function withoutEmptyParams(url: string): string | undefined {
  const at = url.indexOf('?')
  if (at < 0) return undefined
  const params = new URLSearchParams(url.slice(at + 1))
  const kept = new URLSearchParams()
  let dropped = false
  for (const [key, value] of params) {
    if (value.trim() === '') dropped = true
    else kept.append(key, value)
  }
  if (!dropped) return undefined
  const text = kept.toString()
  return text === '' ? url.slice(0, at) : `${url.slice(0, at)}?${text}`
}

/**
 * preValidation for every page that reads a profile query: a URL with empty fields is redirected
 * to the one without them (a shareable URL carries only what is set); a repeated or over-long
 * value becomes a field error and is taken out of validation; the rest is normalised as the API
 * does (case, whitespace) before Fastify validates it with the contract's schema.
 */
export async function profileQueryHook(request: FastifyRequest, reply: FastifyReply) {
  if (request.method === 'GET') {
    const clean = withoutEmptyParams(request.url)
    if (clean !== undefined) return reply.redirect(clean, 302)
  }
  const query = isRecord(request.query) ? request.query : {}
  const found: QueryProblems = { errors: {}, values: {} }
  for (const key of KNOWN_KEYS) {
    const raw = query[key]
    if (raw === undefined) continue
    if (Array.isArray(raw)) {
      found.errors[key] = 'Give this value only once.'
      delete query[key]
      continue
    }
    if (typeof raw !== 'string') continue
    const value = key === 'q' ? raw : raw.trim()
    // q and the opaque cursor have their own limits in the contract's schema
    if (key !== 'q' && key !== 'cursor' && value.length > MAX_VALUE_LENGTH) {
      found.errors[key] = 'That value is too long.'
      delete query[key]
      continue
    }
    found.values[key] = key === 'q' ? value.trim().slice(0, MAX_QUERY_LENGTH) : value
  }
  // Only single, non-empty values are left, so this only normalises (the API's own rules).
  normaliseQuery(query)
  problems.set(request, found)
}

/** Per-field messages from this request's problems and Fastify's validation result. */
export function fieldErrors(request: FastifyRequest): Record<string, string> {
  return { ...formErrors(request, FIELD_MESSAGES), ...problems.get(request)?.errors }
}

/**
 * The validated query as the pages use it: the filter in canonical form, the paging (a page size
 * above the maximum is clamped, as by the API) and the form's values and messages. Fields with an
 * error are left out of the filter (the page shows the form and sends nothing while any remain).
 */
export function parsedQuery(request: FastifyRequest): ParsedQuery {
  const errors = fieldErrors(request)
  const query = (isRecord(request.query) ? request.query : {}) as ListQuery
  const valid = <K extends keyof ListQuery>(key: K): ListQuery[K] | undefined => (errors[key] === undefined ? query[key] : undefined)
  const filter = filterOf({
    gender: valid('gender'),
    age_group: valid('age_group'),
    country_id: valid('country_id'),
    min_age: valid('min_age'),
    max_age: valid('max_age'),
    min_gender_probability: valid('min_gender_probability'),
    min_country_probability: valid('min_country_probability'),
  })
  const limit = valid('limit')
  const paging: Paging = {
    page: valid('page') ?? 1,
    limit: limit === undefined ? DEFAULT_LIMIT : Math.min(limit, MAX_LIMIT),
  }
  const sortBy = valid('sort_by')
  const order = valid('order')
  if (sortBy !== undefined) paging.sort_by = sortBy
  if (order !== undefined) paging.order = order
  const cursor = valid('cursor')
  if (cursor !== undefined) paging.cursor = cursor
  return { filter, paging, errors, values: problems.get(request)?.values ?? {} }
}

export function hasErrors(parsed: ParsedQuery): boolean {
  return Object.keys(parsed.errors).length > 0
}

/** An inverted age range is a valid query with no results (as in the API); the page says why. */
export function invertedAgeRange(filter: ProfileFilter): boolean {
  return filter.min_age !== undefined && filter.max_age !== undefined && filter.min_age > filter.max_age
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

/**
 * What the API is asked for one page: by its number, or after the cursor the previous page's Next
 * link carried (the cursor names its page itself).
 */
export function pageParams(paging: Paging): Query {
  return paging.cursor === undefined ? { page: paging.page, limit: paging.limit } : { cursor: paging.cursor, limit: paging.limit }
}

/** A cursor the portal itself found wrong (too long, control characters), as a page problem. */
export function takeCursorError(parsed: ParsedQuery): string | undefined {
  const message = parsed.errors.cursor
  delete parsed.errors.cursor
  return message
}

export interface EitherOrOption {
  /** the list as the contract writes it, e.g. "GH,NG" */
  value: string
  /** "Ghana or Nigeria" */
  label: string
}

/**
 * The form's selects hold one value each; a filter that is an either-or list (from the facets or a
 * search) gets an extra, selected option carrying the whole list, so "Apply filters" keeps it.
 */
export function eitherOrOptions(filter: ProfileFilter): Partial<Record<'gender' | 'age_group' | 'country_id', EitherOrOption>> {
  const out: Partial<Record<'gender' | 'age_group' | 'country_id', EitherOrOption>> = {}
  for (const field of ['gender', 'age_group', 'country_id'] as const) {
    const value = filter[field]
    if (!Array.isArray(value)) continue
    const names = value.map((v) => (field === 'country_id' ? (countryNameOf(v) ?? v) : capitalise(v)))
    out[field] = { value: value.join(','), label: `${names.slice(0, -1).join(', ')} or ${names.at(-1) ?? ''}` }
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
export function nextOrder(paging: Paging, column: SortColumn): SortOrder {
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
        label = `Gender: ${valuesOf(filter.gender).join(' or ')}`
        break
      case 'age_group': {
        const groups = valuesOf(filter.age_group).map((group: AgeGroup) => {
          const bounds = AGE_GROUP_BOUNDS[group]
          return `${group} (${bounds.max === null ? `${bounds.min}+` : `${bounds.min}–${bounds.max}`})`
        })
        label = `Age group: ${groups.join(' or ')}`
        break
      }
      case 'country_id':
        label = `Country: ${valuesOf(filter.country_id).map((id) => countryNameOf(id) ?? id).join(' or ')}`
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

/**
 * Page numbers to offer around the current one: first, last, and a window, with gaps as null. A
 * gap always stands for two pages or more: a single hidden page is shown instead.
 */
export function pageWindow(page: number, totalPages: number, radius = 2): (number | null)[] {
  if (totalPages <= 1) return []
  const pages = new Set<number>([1, totalPages])
  for (let p = Math.max(1, page - radius); p <= Math.min(totalPages, page + radius); p++) pages.add(p)
  const sorted = [...pages].sort((a, b) => a - b)
  const out: (number | null)[] = []
  for (let i = 0; i < sorted.length; i++) {
    if (i > 0) {
      const gap = sorted[i] - sorted[i - 1]
      if (gap === 2) out.push(sorted[i] - 1)
      else if (gap > 2) out.push(null)
    }
    out.push(sorted[i])
  }
  return out
}
