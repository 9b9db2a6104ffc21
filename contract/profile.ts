import { Type, type Static } from 'typebox'

export { PROFILE_COLUMNS, type ProfileColumn } from './profile-columns.ts'

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
