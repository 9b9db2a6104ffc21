/**
 * The wire form of a profile query (contract §3): the list's filter, sort and paging parameters,
 * the search's `q`, their limits, how a raw value is normalised before validation, and the list
 * envelope with its links. The API validates requests with these schemas; the portal validates its
 * forms with the same ones and types the API's replies with them.
 */
import { Type, type Static } from 'typebox'
import { AgeGroupSchema, GenderSchema, ProfileSchema } from './profile.ts'
import { canonicalFilter, type ProfileFilter } from './profile-filter.ts'

import { DEFAULT_LIMIT, MAX_AGE, MAX_LIMIT, MAX_PAGE, MAX_QUERY_LENGTH, SORT_COLUMNS, SORT_ORDERS } from './query-limits.ts'
import type { SortColumn, SortOrder } from './query-limits.ts'

export { DEFAULT_LIMIT, MAX_AGE, MAX_LIMIT, MAX_PAGE, MAX_QUERY_LENGTH, SORT_COLUMNS, SORT_ORDERS }
export type { SortColumn, SortOrder }

export const SortColumnSchema = Type.Union([
  Type.Literal('age'),
  Type.Literal('created_at'),
  Type.Literal('gender_probability'),
  Type.Literal('country_probability'),
  Type.Literal('name'),
])

/** Fields the list and the search can count values of (`facets=gender,age_group,country_id`). */
export const FACETS = ['gender', 'age_group', 'country_id'] as const
export type Facet = (typeof FACETS)[number]
/** The most country values a facet lists, by count. */
export const MAX_COUNTRY_FACET_VALUES = 20

/** Pagination and sorting, shared by the list and the search. */
export const PagingQuerySchema = Type.Object({
  sort_by: Type.Optional(SortColumnSchema),
  order: Type.Optional(Type.Union([Type.Literal('asc'), Type.Literal('desc')])),
  page: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_PAGE, default: 1 })),
  limit: Type.Optional(
    Type.Integer({ minimum: 1, default: DEFAULT_LIMIT, description: `values above ${MAX_LIMIT} are clamped to ${MAX_LIMIT}` }),
  ),
  facets: Type.Optional(
    Type.String({
      pattern: '^(gender|age_group|country_id)(,(gender|age_group|country_id)){0,2}$',
      description: 'comma-separated: gender, age_group, country_id; adds `facets` with exact counts per value',
    }),
  ),
})
export type PagingQuery = Static<typeof PagingQuerySchema>

export const FilterQuerySchema = Type.Object({
  gender: Type.Optional(GenderSchema),
  age_group: Type.Optional(AgeGroupSchema),
  country_id: Type.Optional(Type.String({ pattern: '^[A-Z]{2}$', description: 'ISO 3166-1 alpha-2, any case' })),
  min_age: Type.Optional(Type.Integer({ minimum: 0, maximum: MAX_AGE })),
  max_age: Type.Optional(Type.Integer({ minimum: 0, maximum: MAX_AGE })),
  min_gender_probability: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
  min_country_probability: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
})
export type FilterQuery = Static<typeof FilterQuerySchema>
export const FILTER_PARAMS = Object.keys(FilterQuerySchema.properties) as (keyof FilterQuery)[]

export const ListQuerySchema = Type.Object(
  { ...FilterQuerySchema.properties, ...PagingQuerySchema.properties },
  { additionalProperties: true },
)
export type ListQuery = Static<typeof ListQuerySchema>

export const SearchQuerySchema = Type.Object(
  {
    q: Type.String({ maxLength: MAX_QUERY_LENGTH, description: 'plain-English query, e.g. "young males from nigeria"' }),
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
  facets: (v) => v.replace(/\s+/g, '').toLowerCase(),
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

/** The filter a validated list query asks for, in canonical form. */
export function filterOf(query: FilterQuery): ProfileFilter {
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

const FacetValueSchema = Type.Object({ value: Type.String(), count: Type.Integer() })
/** Exact counts per value for the current filter: every gender and age group, the top 20 countries. */
export const FacetsSchema = Type.Object({
  gender: Type.Optional(Type.Array(FacetValueSchema)),
  age_group: Type.Optional(Type.Array(FacetValueSchema)),
  country_id: Type.Optional(Type.Array(Type.Object({ value: Type.String(), label: Type.String(), count: Type.Integer() }))),
})
export type FacetCounts = Static<typeof FacetsSchema>

/** The facets a validated `facets` parameter asks for, each once, in the order given. */
export function facetsOf(param: string | undefined): Facet[] {
  if (param === undefined) return []
  return [...new Set(param.split(','))].filter((f): f is Facet => (FACETS as readonly string[]).includes(f))
}

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
  facets: Type.Optional(FacetsSchema),
})
export type ListEnvelope = Static<typeof ListEnvelopeSchema>

/** How the search read its query (contract §6): the canonical filter applied and the words that carried none. */
export const InterpretedSchema = Type.Object({
  filter: Type.Object({
    gender: Type.Optional(GenderSchema),
    age_group: Type.Optional(AgeGroupSchema),
    country_id: Type.Optional(Type.String()),
    min_age: Type.Optional(Type.Integer()),
    max_age: Type.Optional(Type.Integer()),
  }),
  ignored_words: Type.Array(Type.String()),
})

export const SearchEnvelopeSchema = Type.Object({ ...ListEnvelopeSchema.properties, interpreted: InterpretedSchema })
export type SearchEnvelope = Static<typeof SearchEnvelopeSchema>

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
): ListEnvelope['links'] {
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
