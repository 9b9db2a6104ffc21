// Free of any schema library, so that the CLI can import it without loading one.
/** The ten keys of every profile object, in the contract's order (§1); also the CSV header. */
export const PROFILE_COLUMNS = [
  'id',
  'name',
  'gender',
  'gender_probability',
  'age',
  'age_group',
  'country_id',
  'country_name',
  'country_probability',
  'created_at',
] as const
export type ProfileColumn = (typeof PROFILE_COLUMNS)[number]
