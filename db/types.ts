import type { ColumnType, Generated } from 'kysely'

/** Row shapes as Postgres stores them; the API maps them to the contract's JSON. */
export interface ProfilesTable {
  id: string
  name: string
  gender: 'male' | 'female'
  gender_probability: number
  age: number
  age_group: 'child' | 'teenager' | 'adult' | 'senior'
  country_id: string
  country_name: string
  country_probability: number
  created_at: ColumnType<Date, Date | string | undefined, never>
}

/** Maintained by triggers on profiles: how many profiles share a (gender, age, country). */
export interface ProfileCountsTable {
  gender: string
  age: number
  country_id: string
  n: number
}

export interface Database {
  profiles: ProfilesTable
  profile_counts: ProfileCountsTable
}

export type { Generated }
