/**
 * The limits of a profile query (contract §3), free of any schema library so that clients which
 * only need the numbers (the CLI, which must start in a few milliseconds) do not load one.
 * `profile-query.ts` re-exports them beside the schemas built from them.
 */
export const MAX_LIMIT = 50
export const DEFAULT_LIMIT = 10
/** Far beyond any real page, small enough that (page-1)*limit stays an exact integer offset. */
export const MAX_PAGE = 10_000_000
export const MAX_AGE = 150
/** The longest natural-language query the search reads. */
export const MAX_QUERY_LENGTH = 500

export const SORT_COLUMNS = ['age', 'created_at', 'gender_probability', 'country_probability', 'name'] as const
export type SortColumn = (typeof SORT_COLUMNS)[number]
export const SORT_ORDERS = ['asc', 'desc'] as const
export type SortOrder = (typeof SORT_ORDERS)[number]
