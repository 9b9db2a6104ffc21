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

export interface ProfileFilter {
  gender?: Gender
  age_group?: AgeGroup
  /** ISO 3166-1 alpha-2, upper case */
  country_id?: string
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

/** A new object with only the defined keys, in sorted key order. */
export function canonicalFilter(filter: ProfileFilter): ProfileFilter {
  const out: Record<string, unknown> = {}
  for (const key of FILTER_KEYS) {
    const value = filter[key]
    if (value !== undefined) out[key] = value
  }
  return out as ProfileFilter
}

/** A stable string for a filter: equal filters give equal keys whatever their construction order. */
export function canonicalFilterKey(filter: ProfileFilter): string {
  return JSON.stringify(canonicalFilter(filter))
}
