/**
 * Saved searches (contract §6): a user's named list filter or natural-language query. The stored
 * query is canonical — only the parameters a list or search understands, normalised and validated
 * exactly as the API validates a request — so running a saved search is the same request as typing it.
 */
import { Type, type Static } from 'typebox'
import { Value } from 'typebox/value'
import { parseProfileQuery } from './nl-parser.ts'
import { SafeText } from './text.ts'
import { ListQuerySchema, normaliseQuery, SearchQuerySchema } from './profile-query.ts'

export const MAX_SAVED_SEARCHES = 50
export const MAX_SAVED_SEARCH_NAME = 100
export const MAX_SAVED_SEARCH_QUERY = 1000


export const SavedSearchKindSchema = Type.Union([Type.Literal('list'), Type.Literal('search')])
export type SavedSearchKind = Static<typeof SavedSearchKindSchema>

export const SavedSearchSchema = Type.Object({
  id: Type.String({ format: 'uuid' }),
  name: Type.String(),
  kind: SavedSearchKindSchema,
  query: Type.String({ description: 'canonical query string, e.g. gender=male&country_id=NG or q=young+males' }),
  path: Type.String({ description: 'the API request it runs, e.g. /api/profiles?gender=male' }),
  created_at: Type.String({ description: 'UTC, YYYY-MM-DDTHH:MM:SSZ' }),
})
export type SavedSearchJson = Static<typeof SavedSearchSchema>

export const NewSavedSearchSchema = Type.Object({
  name: SafeText({ maxLength: MAX_SAVED_SEARCH_NAME, description: `1–${MAX_SAVED_SEARCH_NAME} characters after trimming` }),
  query: SafeText({
    maxLength: MAX_SAVED_SEARCH_QUERY,
    description: 'a list query string (gender=male&country_id=NG) or a search one (q=young males from nigeria); a leading ? is allowed',
  }),
})

/** Parameters a saved search keeps, in this order; page and cursor are where you are, not what you asked. */
const LIST_KEYS = ['gender', 'age_group', 'country_id', 'min_age', 'max_age', 'min_gender_probability', 'min_country_probability', 'sort_by', 'order', 'limit'] as const
const SEARCH_KEYS = ['q', 'sort_by', 'order', 'limit'] as const

export type SavedQueryReading = { ok: true; kind: SavedSearchKind; query: string } | { ok: false; message: string }

/**
 * Reads a saved search's query string: `q` makes it a search, anything else a list. Values are
 * normalised and validated by the same rules as GET /api/profiles and /search; a query that asks for
 * nothing (no filter and no q) or that the API would refuse is refused here too.
 */
export function readSavedQuery(raw: string): SavedQueryReading {
  const text = raw.trim().replace(/^\?/, '')
  if (text === '') return { ok: false, message: 'Missing or empty query' }
  const params = new URLSearchParams(text)
  const query: Record<string, unknown> = {}
  for (const [key, value] of params) {
    const previous = query[key]
    query[key] = previous === undefined ? value : ([] as unknown[]).concat(previous, value)
  }
  const kind: SavedSearchKind = query.q === undefined ? 'list' : 'search'
  const check = normaliseQuery(query)
  if (!check.ok) return { ok: false, message: 'Invalid query: a parameter is empty or repeated' }
  const keys = kind === 'search' ? SEARCH_KEYS : LIST_KEYS
  const kept: Record<string, unknown> = {}
  for (const key of keys) if (query[key] !== undefined) kept[key] = query[key]
  const schema = kind === 'search' ? SearchQuerySchema : ListQuerySchema
  const converted = Value.Convert(schema, { ...kept })
  if (!Value.Check(schema, converted)) return { ok: false, message: 'Invalid query: a value is not one the API accepts' }
  if (kind === 'list' && !LIST_KEYS.slice(0, 7).some((key) => kept[key] !== undefined)) {
    return { ok: false, message: 'Invalid query: it filters nothing' }
  }
  if (kind === 'search' && parseProfileQuery(String(kept.q)) === null) return { ok: false, message: 'Unable to interpret query' }
  const canonical = new URLSearchParams()
  for (const key of keys) if (kept[key] !== undefined) canonical.append(key, String(kept[key]))
  return { ok: true, kind, query: canonical.toString() }
}

/** The API request a saved search runs. */
export function savedSearchPath(kind: SavedSearchKind, query: string): string {
  return `${kind === 'search' ? '/api/profiles/search' : '/api/profiles'}?${query}`
}
