/**
 * The one shape every profile query is expressed in: the list endpoint's query parameters, the
 * natural-language parser's output, stats and export all reduce to a ProfileFilter. Its canonical
 * form (see canonicalFilterKey) is what caches key on.
 */
export const GENDERS = ['male', 'female'] as const
export type Gender = (typeof GENDERS)[number]

export const AGE_GROUPS = ['child', 'teenager', 'adult', 'senior'] as const
export type AgeGroup = (typeof AGE_GROUPS)[number]

/** Inclusive age bounds of each group (contract §1). */
export const AGE_GROUP_BOUNDS: Record<AgeGroup, { min: number; max: number | null }> = {
  child: { min: 0, max: 12 },
  teenager: { min: 13, max: 19 },
  adult: { min: 20, max: 59 },
  senior: { min: 60, max: null },
}

export function ageGroupOf(age: number): AgeGroup {
  if (age <= 12) return 'child'
  if (age <= 19) return 'teenager'
  if (age <= 59) return 'adult'
  return 'senior'
}

/**
 * gender, age_group and country_id take one value or, for "any of", a list (contract §6 either-or:
 * `country_id=NG,GH`). In canonical form a list has at least two distinct values in a fixed order
 * (genders and age groups as declared, countries alphabetical), one value is a plain string, and a
 * list naming every gender or every age group is no filter at all.
 */
export interface ProfileFilter {
  gender?: Gender | Gender[]
  age_group?: AgeGroup | AgeGroup[]
  /** ISO 3166-1 alpha-2, upper case */
  country_id?: string | string[]
  /** inclusive */
  min_age?: number
  /** inclusive */
  max_age?: number
  min_gender_probability?: number
  min_country_probability?: number
}

export const FILTER_KEYS = [
  'age_group',
  'country_id',
  'gender',
  'max_age',
  'min_age',
  'min_country_probability',
  'min_gender_probability',
] as const satisfies readonly (keyof ProfileFilter)[]

/** The values of a one-or-many filter field, as a list (empty when the field is unset). */
export function valuesOf<T extends string>(value: T | readonly T[] | undefined): readonly T[] {
  if (value === undefined) return []
  return typeof value === 'string' ? [value] : value
}

/** One-or-many in canonical form: distinct, in `order`; one value alone; every value = no filter. */
function canonicalChoice<T extends string>(value: T | T[] | undefined, order: readonly T[] | undefined): T | T[] | undefined {
  if (value === undefined || typeof value === 'string') return value
  const distinct = [...new Set(value)]
  if (order) {
    distinct.sort((a, b) => order.indexOf(a) - order.indexOf(b))
    if (distinct.length === order.length) return undefined
  } else distinct.sort()
  if (distinct.length === 0) return undefined
  return distinct.length === 1 ? distinct[0] : distinct
}

/** A new object with only the defined keys, in sorted key order, lists in canonical form. */
export function canonicalFilter(filter: ProfileFilter): ProfileFilter {
  const normalised: ProfileFilter = {
    ...filter,
    gender: canonicalChoice(filter.gender, GENDERS),
    age_group: canonicalChoice(filter.age_group, AGE_GROUPS),
    country_id: canonicalChoice(filter.country_id, undefined),
  }
  const out: Record<string, unknown> = {}
  for (const key of FILTER_KEYS) {
    const value = normalised[key]
    if (value !== undefined) out[key] = value
  }
  return out as ProfileFilter
}

/** A stable string for a filter: equal filters give equal keys whatever their construction order. */
export function canonicalFilterKey(filter: ProfileFilter): string {
  return JSON.stringify(canonicalFilter(filter))
}
