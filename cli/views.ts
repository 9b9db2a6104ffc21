import { PROFILE_COLUMNS as PROFILE_FIELD_NAMES } from '../contract/profile-columns.ts'
import { isRecord } from './credentials.ts'
import { formatTable, pageFooter, cellText, type Cell, type Column, type TableData } from './output.ts'

/** Turns API JSON into text. Shapes are checked, not trusted: a missing field prints as "-". */

type Json = Record<string, unknown>

export interface ListEnvelope {
  page: number
  totalPages: number
  total: number
  data: Json[]
}

/** The paginated envelope (contract §3); null when the body is not one. */
export function listEnvelope(body: Json): ListEnvelope | null {
  const { page, total, total_pages: totalPages, data } = body
  if (typeof page !== 'number' || typeof total !== 'number' || typeof totalPages !== 'number' || !Array.isArray(data)) return null
  return { page, total, totalPages, data: data.filter(isRecord) }
}

/** The array in `data` (sessions, users), also when the API answers a bare list without paging. */
export function dataArray(body: Json): Json[] | null {
  return Array.isArray(body.data) ? body.data.filter(isRecord) : null
}

function cell(value: unknown): Cell {
  if (value === null || value === undefined) return null
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value
  return JSON.stringify(value)
}

function probabilityText(value: unknown): string {
  return typeof value === 'number' ? value.toFixed(2) : '-'
}

/** The columns of a profiles table (list, search). */
export const PROFILE_TABLE_COLUMNS: readonly Column[] = [
  { header: 'ID', shortId: true, min: 8 },
  { header: 'NAME', max: 40, min: 8 },
  { header: 'GENDER' },
  { header: 'P(G)', align: 'right' },
  { header: 'AGE', align: 'right' },
  { header: 'AGE GROUP', min: 5 },
  { header: 'COUNTRY', max: 32, min: 6 },
  { header: 'P(C)', align: 'right' },
]

/** What a profiles table says instead of an empty table. */
export const NO_PROFILES = 'No profiles match.'

/** Profiles as the cells of PROFILE_TABLE_COLUMNS. */
export function profileRows(profiles: readonly Json[]): Cell[][] {
  return profiles.map((p) => [
    cell(p.id),
    cell(p.name),
    cell(p.gender),
    probabilityText(p.gender_probability),
    cell(p.age),
    cell(p.age_group),
    typeof p.country_name === 'string' ? `${p.country_name} (${cellText(cell(p.country_id))})` : cell(p.country_id),
    probabilityText(p.country_probability),
  ])
}

export function profileTable(list: ListEnvelope): TableData {
  return { columns: PROFILE_TABLE_COLUMNS, rows: profileRows(list.data), footer: pageFooter(list.page, list.totalPages, list.total), empty: NO_PROFILES }
}

/** One profile as aligned "field  value" lines. */
export function profileDetails(profile: Json): string {
  return keyValues(PROFILE_FIELD_NAMES.map((field) => [field, cell(profile[field])]))
}

export function keyValues(pairs: readonly (readonly [string, Cell])[]): string {
  const width = Math.max(...pairs.map(([key]) => key.length))
  return pairs.map(([key, value]) => `${key.padEnd(width)}  ${cellText(value)}`).join('\n')
}

/** Stats (GET /api/profiles/stats): totals, then each breakdown with a share and a bar. */
export function statsReport(data: Json, maxCountries = 10): string {
  const total = typeof data.total === 'number' ? data.total : 0
  const share = (count: number) => (total === 0 ? '0.0%' : `${((count / total) * 100).toFixed(1)}%`)
  const bar = (count: number, max: number) => '█'.repeat(max === 0 ? 0 : Math.round((count / max) * 30))
  const sections: string[] = [`Profiles: ${total}`]

  const counts = (value: unknown): [string, number][] =>
    isRecord(value) ? Object.entries(value).map(([k, v]) => [k, typeof v === 'number' ? v : 0]) : []
  const breakdown = (title: string, entries: [string, number][]) => {
    if (entries.length === 0) return
    const rows = entries.map(([label, count]) => [label, count, share(count)])
    sections.push(`${title}\n${formatTable([{ header: 'VALUE' }, { header: 'COUNT', align: 'right' }, { header: 'SHARE', align: 'right' }], rows)}`)
  }
  breakdown('By gender', counts(data.by_gender))
  breakdown('By age group', counts(data.by_age_group))

  const countries = Array.isArray(data.by_country) ? data.by_country.filter(isRecord) : []
  if (countries.length > 0) {
    const shown = countries.slice(0, maxCountries)
    const rows = shown.map((c) => [`${cellText(cell(c.country_name))} (${cellText(cell(c.country_id))})`, cell(c.count), share(typeof c.count === 'number' ? c.count : 0)])
    const more = countries.length > shown.length ? `\n… and ${countries.length - shown.length} more countries (--json lists all)` : ''
    sections.push(`Top countries\n${formatTable([{ header: 'COUNTRY', max: 32 }, { header: 'COUNT', align: 'right' }, { header: 'SHARE', align: 'right' }], rows)}${more}`)
  }

  const histogram = Array.isArray(data.age_histogram) ? data.age_histogram.filter(isRecord) : []
  if (histogram.length > 0) {
    const max = Math.max(...histogram.map((b) => (typeof b.count === 'number' ? b.count : 0)))
    const rows = histogram.map((b) => {
      const count = typeof b.count === 'number' ? b.count : 0
      return [`${cellText(cell(b.from))}–${cellText(cell(b.to))}`, count, bar(count, max)]
    })
    sections.push(`Ages\n${formatTable([{ header: 'AGES' }, { header: 'COUNT', align: 'right' }, { header: '' }], rows)}`)
  }
  return sections.join('\n\n')
}

/**
 * A table of API records (sessions, users) whose exact fields belong to another team's API: known
 * fields come first in a sensible order, and any other scalar field is still shown rather than lost.
 */
export function recordTable(
  records: readonly Json[],
  preferred: readonly string[],
  hidden: readonly string[] = [],
  options: { footer?: string; empty?: string; ids?: readonly string[] } = {},
): TableData {
  const keys: string[] = []
  for (const key of preferred) if (records.some((r) => key in r)) keys.push(key)
  for (const record of records) {
    for (const [key, value] of Object.entries(record)) {
      if (!keys.includes(key) && !hidden.includes(key) && (value === null || typeof value !== 'object')) keys.push(key)
    }
  }
  const ids = options.ids ?? ['id']
  const columns: Column[] = keys.map((key) => ({ header: key.toUpperCase().replaceAll('_', ' '), max: 40, shortId: ids.includes(key) }))
  return { columns, rows: records.map((r) => keys.map((key) => cell(r[key]))), footer: options.footer, empty: options.empty }
}
