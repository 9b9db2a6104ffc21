/** The translation between the contract's vocabulary and the profiles table's rows. */
import { createdAtOfId, type ProfileJson } from '../../contract/profile.ts'
import { AGE_GROUP_BOUNDS, AGE_GROUPS, valuesOf, type AgeGroup, type ProfileFilter } from '../../contract/profile-filter.ts'
import type { ProfileRow, ProfileWhere } from '../../db/repositories/profiles.ts'

/** Age groups as the fewest inclusive ranges: adjacent groups merge ("child,teenager" → 0–19). */
function ageRangesOf(groups: readonly AgeGroup[]): { min: number; max: number | null }[] {
  const ranges: { min: number; max: number | null }[] = []
  for (const group of AGE_GROUPS) {
    if (!groups.includes(group)) continue
    const bounds = AGE_GROUP_BOUNDS[group]
    const last = ranges[ranges.length - 1]
    if (last && last.max !== null && last.max + 1 === bounds.min) last.max = bounds.max
    else ranges.push({ ...bounds })
  }
  return ranges
}

/**
 * The SQL-level filter: age groups become age bounds (one range) or, for groups that are not
 * adjacent, a list of ranges, intersected with min_age/max_age; lists of values stay lists.
 */
export function whereOf(filter: ProfileFilter): ProfileWhere {
  let min = filter.min_age
  let max = filter.max_age
  const where: ProfileWhere = {}
  const ranges = ageRangesOf(valuesOf(filter.age_group))
  if (ranges.length === 1) {
    const bounds = ranges[0]
    min = min === undefined ? bounds.min : Math.max(min, bounds.min)
    if (bounds.max !== null) max = max === undefined ? bounds.max : Math.min(max, bounds.max)
  } else if (ranges.length > 1) {
    where.age_ranges = ranges
  }
  if (filter.gender !== undefined) where.gender = filter.gender
  if (filter.country_id !== undefined) where.country_id = filter.country_id
  if (min !== undefined) where.min_age = min
  if (max !== undefined) where.max_age = max
  if (filter.min_gender_probability !== undefined) where.min_gender_probability = filter.min_gender_probability
  if (filter.min_country_probability !== undefined) where.min_country_probability = filter.min_country_probability
  return where
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
    created_at: createdAtOfId(row.id),
  }
}
