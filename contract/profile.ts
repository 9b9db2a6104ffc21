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

let lastSecond = -1
let lastCreatedAt = ''

/**
 * A profile's created_at from its id: the v7 id's first 48 bits are milliseconds since the epoch,
 * and created_at is that instant truncated to the second (contract §1), exactly what the table's
 * generated column stores. Rows written together share their second, so the last one is kept.
 */
export function createdAtOfId(id: string): string {
  const ms = parseInt(id.slice(0, 8), 16) * 0x10000 + parseInt(id.slice(9, 13), 16)
  const second = Math.floor(ms / 1000)
  if (second !== lastSecond) {
    lastCreatedAt = formatTimestamp(new Date(second * 1000))
    lastSecond = second
  }
  return lastCreatedAt
}
