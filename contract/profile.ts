import { Type, type Static } from 'typebox'

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

/** Longest profile name accepted, after trimming (create and import alike). */
export const MAX_NAME_LENGTH = 200

// Written out, not mapped from GENDERS/AGE_GROUPS, so that Static<> infers the literal union.
export const GenderSchema = Type.Union([Type.Literal('male'), Type.Literal('female')])
export const AgeGroupSchema = Type.Union([
  Type.Literal('child'),
  Type.Literal('teenager'),
  Type.Literal('adult'),
  Type.Literal('senior'),
])

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
export type ProfileJson = Static<typeof ProfileSchema>

/** UTC, second precision: YYYY-MM-DDTHH:MM:SSZ (contract §1). */
export function formatTimestamp(date: Date): string {
  return `${date.toISOString().slice(0, 19)}Z`
}
