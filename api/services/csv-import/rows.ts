import { countryNameOf, isKnownCountryId } from '../../../contract/countries.ts'
import type { ReasonKey } from '../../../contract/import-report.ts'
import { MAX_NAME_LENGTH } from '../../../contract/profile.ts'
import { ageGroupOf } from '../../../contract/profile-filter.ts'
import type { NewProfile } from '../../../db/repositories/profiles.ts'
import { CsvImportError } from './errors.ts'

/**
 * The row rules of the CSV import (docs/import.md): the header's columns, and each data record as a
 * profile to insert or the one reason it is skipped. Pure functions of the text.
 */

export const REQUIRED_COLUMNS = ['name', 'gender', 'age', 'country_id', 'gender_probability', 'country_probability'] as const
type RequiredColumn = (typeof REQUIRED_COLUMNS)[number]
export interface CsvHeader {
  /** where each required column is in a record */
  columns: Record<RequiredColumn, number>
  /** the header's number of fields, which every row must have */
  width: number
}

// eslint-disable-next-line no-control-regex -- control characters are what it looks for
const CONTROL_OR_REPLACEMENT = /[\u0000-\u001f\u007f-\u009f\ufffd]/
const AGE = /^\d{1,3}$/
const PROBABILITY = /^(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?$/
const COUNTRY = /^[A-Za-z]{2}$/

export function readHeader(record: string[]): CsvHeader {
  const names = record.map((h) => h.trim().toLowerCase())
  if (names.some((h) => CONTROL_OR_REPLACEMENT.test(h))) {
    throw new CsvImportError(400, 'Not a CSV file: the header row is binary, not UTF-8 text, or longer than 64 KiB')
  }
  const missing = REQUIRED_COLUMNS.filter((c) => !names.includes(c))
  if (missing.length > 0) {
    const other = names.length === 1 ? /[;\t|]/.exec(names[0])?.[0] : undefined
    const hint = other ? ` (the header looks separated by ${other === '\t' ? 'tabs' : `"${other}"`}: use commas)` : ''
    throw new CsvImportError(400, `Missing required columns: ${missing.join(', ')}${hint}`)
  }
  const repeated = REQUIRED_COLUMNS.filter((c) => names.indexOf(c) !== names.lastIndexOf(c))
  if (repeated.length > 0) throw new CsvImportError(400, `Repeated columns: ${repeated.join(', ')}`)
  const columns = Object.fromEntries(REQUIRED_COLUMNS.map((c) => [c, names.indexOf(c)])) as CsvHeader['columns']
  return { columns, width: names.length }
}

export function isBlank(record: string[]): boolean {
  for (const field of record) if (field.trim() !== '') return false
  return true
}

function probability(text: string): number | undefined {
  if (!PROBABILITY.test(text)) return undefined
  const value = Number(text)
  return value >= 0 && value <= 1 ? value : undefined
}

export type ValidRow = Omit<NewProfile, 'id' | 'created_at'>

/** The row as a profile to insert, or the reason it is skipped (first failing check wins). */
export function validateRow(record: string[], { columns, width }: CsvHeader): ValidRow | Exclude<ReasonKey, 'duplicate_name'> {
  if (record.length !== width) return 'malformed_row'
  const name = record[columns.name].trim()
  const gender = record[columns.gender].trim().toLowerCase()
  const ageText = record[columns.age].trim()
  const countryText = record[columns.country_id].trim()
  const genderProbability = record[columns.gender_probability].trim()
  const countryProbability = record[columns.country_probability].trim()
  if (!name || !gender || !ageText || !countryText || !genderProbability || !countryProbability) return 'missing_fields'
  if (CONTROL_OR_REPLACEMENT.test(name)) return 'malformed_row'
  if (name.length > MAX_NAME_LENGTH && [...name].length > MAX_NAME_LENGTH) return 'malformed_row'
  if (gender !== 'male' && gender !== 'female') return 'invalid_gender'
  if (!AGE.test(ageText)) return 'invalid_age'
  const age = Number(ageText)
  if (age > 150) return 'invalid_age'
  const countryId = countryText.toUpperCase()
  if (!COUNTRY.test(countryText) || !isKnownCountryId(countryId)) return 'invalid_country'
  const gp = probability(genderProbability)
  const cp = probability(countryProbability)
  if (gp === undefined || cp === undefined) return 'invalid_probability'
  return {
    name,
    gender,
    gender_probability: gp,
    age,
    age_group: ageGroupOf(age),
    country_id: countryId,
    // the seed's spelling for the code, whatever the file says (contract §1)
    country_name: countryNameOf(countryId) ?? countryId,
    country_probability: cp,
  }
}
