/**
 * The export is Postgres's COPY, yet its bytes are exactly what the JavaScript formatter makes of the
 * list's JSON (csvLine over the same profiles, in the same order): quoting, numbers, timestamps,
 * trimmed country codes, and the sort with its id tie-break. Plus `safe=true`, the formula guard.
 */
import { parse } from 'csv-parse/sync'
import t from 'tap'
import { idAt } from '../../contract/ids.ts'
import { PROFILE_COLUMNS, type ProfileJson } from '../../contract/profile.ts'
import { csvLine } from '../../api/services/csv.ts'
import { insertProfilesBatch } from '../../db/repositories/profiles.ts'
import { buildTestApi } from '../helpers/api.ts'

const api = await buildTestApi(t, { seed: true })
const analyst = await api.headers('analyst')

const TRICKY_NAMES = [
  `O'Brien, "Jr"`,
  'Line\nBreak',
  'Carriage\rReturn',
  'Both\r\nEnds',
  '"quoted"',
  'Zoë 🚀 Ünal',
  'محمد علي',
  '中文 名字',
  '=HYPERLINK("http://x","y")',
  '+1 555',
  '-minus',
  '@at',
  'Tab\there',
  'Trailing, comma,',
  'semi;colon',
  String.raw`back\slash`,
  String.raw`\.`,
  'Plain Name',
]
const PROBABILITIES = [0.1, 1, 0, 0.000001, 0.99999, 0.00001, 0.0001, 0.00012345, 1e-7, 1.5e-10, 1 / 3, 2 / 3, 0.30000000000000004, 5e-324, 0.5, 0.123456789012345]

// Kosovo rows: the seed has none, so these are the whole export of country_id=XK.
await insertProfilesBatch(
  api.db.db,
  TRICKY_NAMES.map((name, i) => ({
    // created_at is the id's timestamp truncated to the second: 'Plain Name' gets the last
    // millisecond of a second, which must still print as that second, never rounded up.
    id: idAt(Date.UTC(2026, 0, 2, 3, 4, 5, name === 'Plain Name' ? 999 : i * 55)),
    name,
    gender: i % 2 ? ('male' as const) : ('female' as const),
    gender_probability: PROBABILITIES[i % PROBABILITIES.length],
    age: 20 + (i % 3),
    age_group: 'adult' as const,
    country_id: 'XK',
    country_name: i === 3 ? '' : i === 5 ? '=cmd|" /C calc"!A0' : 'Kosovo',
    country_probability: PROBABILITIES[(i + 5) % PROBABILITIES.length],
  })),
)

async function listAll(query: string): Promise<ProfileJson[]> {
  const rows: ProfileJson[] = []
  for (let page = 1; page < 100; page++) {
    const res = await api.app.inject({ method: 'GET', url: `/api/profiles?${query}&limit=50&page=${page}`, headers: analyst })
    t.equal(res.statusCode, 200, `list ${query} page ${page}`)
    const body = res.json() as { data: ProfileJson[]; links: { next: string | null } }
    rows.push(...body.data)
    if (!body.links.next) return rows
  }
  throw new Error('more pages than expected')
}

function jsCsv(rows: ProfileJson[]): string {
  return csvLine(PROFILE_COLUMNS) + rows.map((p) => csvLine(PROFILE_COLUMNS.map((c) => p[c]))).join('')
}

async function exportCsv(query: string) {
  return api.app.inject({ method: 'GET', url: `/api/profiles/export?format=csv&${query}`, headers: analyst })
}

t.test('COPY bytes equal the JavaScript formatter on tricky values', async (t) => {
  for (const sort of ['name', 'created_at', 'gender_probability', 'country_probability', 'age']) {
    for (const order of ['asc', 'desc']) {
      const query = `country_id=XK&sort_by=${sort}&order=${order}`
      const res = await exportCsv(query)
      t.equal(res.statusCode, 200)
      const expected = jsCsv(await listAll(query))
      t.equal(res.body, expected, query)
    }
  }
  const body = (await exportCsv('country_id=XK')).body
  for (const n of ['0.000001', '1e-7', '1.5e-10', '0.00001', '0.00012345', '0.3333333333333333', '5e-324', ',1,'])
    t.ok(body.includes(n), `number written as JavaScript writes it: ${n}`)
  t.ok(body.includes(',2026-01-02T03:04:05Z\r\n'), 'microseconds truncated, not rounded up')
  t.ok(body.includes(',XK,,'), 'an empty text value is an empty field, not ""')
  t.ok(body.includes('"Line\nBreak"'), 'a newline inside a field stays LF; rows end in CRLF')
  t.equal(body.split('\r\n').length - 1, TRICKY_NAMES.length + 1 + 1, 'one CRLF per row plus the one inside "Both\\r\\nEnds"')
})

t.test('the seed: every sort and filter combination matches the list byte for byte', async (t) => {
  const queries = [
    'country_id=NG&sort_by=name&order=asc',
    'country_id=ng&sort_by=name&order=desc',
    'gender=female&age_group=senior&sort_by=age&order=asc',
    'min_gender_probability=0.9&country_id=KE&sort_by=gender_probability&order=desc',
    'min_country_probability=0.5&max_age=15&sort_by=country_probability',
    'min_age=60&max_age=65&sort_by=created_at&order=asc',
    'min_age=70&max_age=70',
  ]
  for (const query of queries) {
    const res = await exportCsv(query)
    t.equal(res.body, jsCsv(await listAll(query)), query)
  }
})

t.test('safe=true neutralises formula cells; the default export is raw', async (t) => {
  const raw = parse((await exportCsv('country_id=XK&sort_by=name')).body, { columns: true, relax_column_count: false }) as Record<string, string>[]
  const safeRes = await exportCsv('country_id=XK&sort_by=name&safe=true')
  t.equal(safeRes.statusCode, 200)
  const safe = parse(safeRes.body, { columns: true }) as Record<string, string>[]
  t.equal(safe.length, raw.length)
  const risky = new Set(['=', '+', '-', '@', '\t', '\r'])
  for (let i = 0; i < raw.length; i++) {
    for (const column of ['name', 'country_name']) {
      const value = raw[i][column]
      const expected = value !== '' && risky.has(value[0]) ? `'${value}` : value
      t.equal(safe[i][column], expected, `${column} ${JSON.stringify(value)}`)
    }
    for (const column of ['id', 'gender_probability', 'age', 'country_id', 'created_at']) t.equal(safe[i][column], raw[i][column])
  }
  t.ok(raw.some((r) => r.name.startsWith('=HYPERLINK')), 'raw by default: the contract export is unchanged')
  t.ok(safe.some((r) => r.name === `'=HYPERLINK("http://x","y")`))
  t.ok(safe.some((r) => r.country_name === `'=cmd|" /C calc"!A0`))
  t.equal(safe.find((r) => r.name === 'Plain Name')?.name, 'Plain Name')

  const off = await exportCsv('country_id=XK&sort_by=name&safe=false')
  t.equal(off.body, (await exportCsv('country_id=XK&sort_by=name')).body, 'safe=false is the raw export')
  for (const bad of ['safe=yes', 'safe=', 'safe=2']) {
    const res = await exportCsv(`country_id=XK&${bad}`)
    t.ok([400, 422].includes(res.statusCode), `${bad} → ${res.statusCode}`)
    t.same(res.json(), { status: 'error', message: 'Invalid query parameters' })
  }
})
