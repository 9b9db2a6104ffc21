/** The translation between the contract's vocabulary and the profiles table's rows. */
import { formatTimestamp, type ProfileJson } from '../../contract/profile.ts'
import { AGE_GROUP_BOUNDS, type ProfileFilter } from '../../contract/profile-filter.ts'
import type { ProfileRow, ProfileWhere } from '../../db/repositories/profiles.ts'

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
