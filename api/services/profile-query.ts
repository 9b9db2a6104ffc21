import { Type, type Static } from '@sinclair/typebox'
import type { ProfileRow, ProfileSort, ProfileWhere, SortColumn } from '../../db/repositories/profiles.ts'
import { AGE_GROUP_BOUNDS, canonicalFilter, type ProfileFilter } from './profile-filter.ts'

export const MAX_LIMIT = 50
export const DEFAULT_LIMIT = 10
/** Far beyond any real page, small enough that (page-1)*limit stays an exact integer offset. */
export const MAX_PAGE = 10_000_000
export const MAX_AGE = 150

const GenderSchema = Type.Union([Type.Literal('male'), Type.Literal('female')])
const AgeGroupSchema = Type.Union([
  Type.Literal('child'),
  Type.Literal('teenager'),
  Type.Literal('adult'),
  Type.Literal('senior'),
])
const SortColumnSchema = Type.Union([
  Type.Literal('age'),
  Type.Literal('created_at'),
  Type.Literal('gender_probability'),
  Type.Literal('country_probability'),
  Type.Literal('name'),
])

/** Pagination and sorting, shared by the list and the search. */
export const PagingQuerySchema = Type.Object({
  sort_by: Type.Optional(SortColumnSchema),
  order: Type.Optional(Type.Union([Type.Literal('asc'), Type.Literal('desc')])),
  page: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_PAGE, default: 1 })),
  limit: Type.Optional(
    Type.Integer({ minimum: 1, default: DEFAULT_LIMIT, description: `values above ${MAX_LIMIT} are clamped to ${MAX_LIMIT}` }),
  ),
})

export const FilterQuerySchema = Type.Object({
  gender: Type.Optional(GenderSchema),
  age_group: Type.Optional(AgeGroupSchema),
  country_id: Type.Optional(Type.String({ pattern: '^[A-Z]{2}$', description: 'ISO 3166-1 alpha-2, any case' })),
  min_age: Type.Optional(Type.Integer({ minimum: 0, maximum: MAX_AGE })),
  max_age: Type.Optional(Type.Integer({ minimum: 0, maximum: MAX_AGE })),
  min_gender_probability: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
  min_country_probability: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
})

export const ListQuerySchema = Type.Object(
  { ...FilterQuerySchema.properties, ...PagingQuerySchema.properties },
  { additionalProperties: true },
)
export type ListQuery = Static<typeof ListQuerySchema>

export const SearchQuerySchema = Type.Object(
  {
    q: Type.String({ maxLength: 500, description: 'plain-English query, e.g. "young males from nigeria"' }),
    ...PagingQuerySchema.properties,
  },
  { additionalProperties: true },
)
export type SearchQuery = Static<typeof SearchQuerySchema>

/** Every query parameter these routes know, with how a value is normalised before validation. */
const NORMALISERS: Record<string, (v: string) => string> = {
  gender: (v) => v.trim().toLowerCase(),
  age_group: (v) => v.trim().toLowerCase(),
  country_id: (v) => v.trim().toUpperCase(),
  sort_by: (v) => v.trim().toLowerCase(),
  order: (v) => v.trim().toLowerCase(),
  min_age: (v) => v.trim(),
  max_age: (v) => v.trim(),
  min_gender_probability: (v) => v.trim(),
  min_country_probability: (v) => v.trim(),
  page: (v) => v.trim(),
  limit: (v) => v.trim(),
  format: (v) => v.trim().toLowerCase(),
  q: (v) => v,
}

export type QueryCheck = { ok: true } | { ok: false; status: 400 | 422 }

/**
 * Runs before schema validation: values are case-insensitive (contract §3), an empty value is a 400
 * rather than a type error, and a repeated parameter is ambiguous (422). Unknown keys are left alone.
 */
export function normaliseQuery(query: Record<string, unknown>): QueryCheck {
  let repeated = false
  for (const [key, normalise] of Object.entries(NORMALISERS)) {
    const value = query[key]
    if (value === undefined) continue
    if (Array.isArray(value)) {
      if (value.some((v) => String(v).trim() === '')) return { ok: false, status: 400 }
      repeated = true
      continue
    }
    if (typeof value !== 'string') continue
    if (value.trim() === '') return { ok: false, status: 400 }
    query[key] = normalise(value)
  }
  return repeated ? { ok: false, status: 422 } : { ok: true }
}

export interface Paging {
  page: number
  limit: number
  sort: ProfileSort
  /** the sort parameters exactly as given, for links */
  sortParams: { sort_by?: string; order?: string }
}

export function pagingOf(query: Static<typeof PagingQuerySchema>): Paging {
  const limit = Math.min(query.limit ?? DEFAULT_LIMIT, MAX_LIMIT)
  const column: SortColumn = query.sort_by ?? 'created_at'
  const direction = query.order ?? (query.sort_by ? 'asc' : 'desc')
  const sortParams: Paging['sortParams'] = {}
  if (query.sort_by) sortParams.sort_by = query.sort_by
  if (query.order) sortParams.order = query.order
  return { page: query.page ?? 1, limit, sort: { column, direction }, sortParams }
}

export function filterOf(query: Static<typeof FilterQuerySchema>): ProfileFilter {
  return canonicalFilter({
    gender: query.gender,
    age_group: query.age_group,
    country_id: query.country_id,
    min_age: query.min_age,
    max_age: query.max_age,
    min_gender_probability: query.min_gender_probability,
    min_country_probability: query.min_country_probability,
  })
}

/** The SQL-level filter: an age group becomes age bounds, intersected with min_age/max_age. */
export function whereOf(filter: ProfileFilter): ProfileWhere {
  let min = filter.min_age
  let max = filter.max_age
  if (filter.age_group) {
    const bounds = AGE_GROUP_BOUNDS[filter.age_group]
    min = min === undefined ? bounds.min : Math.max(min, bounds.min)
    if (bounds.max !== null) max = max === undefined ? bounds.max : Math.min(max, bounds.max)
  }
  const where: ProfileWhere = {}
  if (filter.gender) where.gender = filter.gender
  if (filter.country_id) where.country_id = filter.country_id
  if (min !== undefined) where.min_age = min
  if (max !== undefined) where.max_age = max
  if (filter.min_gender_probability !== undefined) where.min_gender_probability = filter.min_gender_probability
  if (filter.min_country_probability !== undefined) where.min_country_probability = filter.min_country_probability
  return where
}

export interface ProfileJson {
  id: string
  name: string
  gender: 'male' | 'female'
  gender_probability: number
  age: number
  age_group: 'child' | 'teenager' | 'adult' | 'senior'
  country_id: string
  country_name: string
  country_probability: number
  created_at: string
}

/** UTC, second precision: YYYY-MM-DDTHH:MM:SSZ */
export function formatTimestamp(date: Date): string {
  return `${date.toISOString().slice(0, 19)}Z`
}

export function toProfileJson(row: ProfileRow): ProfileJson {
  return {
    id: row.id,
    name: row.name,
    gender: row.gender,
    gender_probability: row.gender_probability,
    age: row.age,
    age_group: row.age_group,
    country_id: row.country_id.trim(),
    country_name: row.country_name,
    country_probability: row.country_probability,
    created_at: formatTimestamp(row.created_at),
  }
}

export const ProfileSchema = Type.Object({
  id: Type.String({ format: 'uuid' }),
  name: Type.String(),
  gender: GenderSchema,
  gender_probability: Type.Number(),
  age: Type.Integer(),
  age_group: AgeGroupSchema,
  country_id: Type.String(),
  country_name: Type.String(),
  country_probability: Type.Number(),
  created_at: Type.String({ description: 'UTC, YYYY-MM-DDTHH:MM:SSZ' }),
})

export const ListEnvelopeSchema = Type.Object({
  status: Type.Literal('success'),
  page: Type.Integer(),
  limit: Type.Integer(),
  total: Type.Integer(),
  total_pages: Type.Integer(),
  links: Type.Object({
    self: Type.String(),
    next: Type.Union([Type.String(), Type.Null()]),
    prev: Type.Union([Type.String(), Type.Null()]),
  }),
  data: Type.Array(ProfileSchema),
})

/**
 * Relative links that keep the active parameters (filters or q, then sorting) and put page and
 * limit last, as the contract asks.
 */
export function pageLinks(
  path: string,
  params: Record<string, string | number | undefined>,
  page: number,
  limit: number,
  totalPages: number,
) {
  const base = new URLSearchParams()
  for (const [key, value] of Object.entries(params)) if (value !== undefined) base.append(key, String(value))
  const at = (p: number) => {
    const qs = new URLSearchParams(base)
    qs.append('page', String(p))
    qs.append('limit', String(limit))
    return `${path}?${qs.toString()}`
  }
  return {
    self: at(page),
    next: page < totalPages ? at(page + 1) : null,
    prev: page > 1 ? at(Math.min(page - 1, Math.max(totalPages, 1))) : null,
  }
}
