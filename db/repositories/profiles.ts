import type pg from 'pg'
import { sql, type SelectQueryBuilder } from 'kysely'
import { PROFILE_COLUMNS } from '../../contract/profile.ts'
import type { SortColumn } from '../../contract/profile-query.ts'
import type { Database, Executor, ProfilesTable } from '../types.ts'

/**
 * A profile row as read: its stored columns without `created_at`, which is generated from the id
 * and derived from it where it is shown (`createdAtOfId`), so no list or lookup has Postgres send a
 * timestamp that `pg` then parses into a Date only for it to be formatted back.
 */
export type ProfileRow = Omit<ProfilesTable, 'created_at'>

/** The columns a profile row is read with: PROFILE_COLUMNS but the derived created_at. */
export const PROFILE_ROW_COLUMNS = PROFILE_COLUMNS.filter((c): c is Exclude<(typeof PROFILE_COLUMNS)[number], 'created_at'> => c !== 'created_at')

/** What the repository filters on; age groups are already resolved to age bounds by the caller. */
export interface ProfileWhere {
  /** one value, or any of a list */
  gender?: 'male' | 'female' | readonly ('male' | 'female')[]
  /** one value, or any of a list */
  country_id?: string | readonly string[]
  /** any of these inclusive age ranges (max null = no upper bound), besides min_age/max_age */
  age_ranges?: readonly { min: number; max: number | null }[]
  min_age?: number
  max_age?: number
  min_gender_probability?: number
  min_country_probability?: number
}

export interface ProfileSort {
  column: SortColumn
  direction: 'asc' | 'desc'
}

/** created_at is generated from the id (a v7 id minted at the wanted time carries it). */
export type NewProfile = ProfileRow

/** gender, country and age conditions, which the profiles table and the maintained counts share. */
function applyCountedWhere<QB extends SelectQueryBuilder<Database, 'profiles' | 'profile_counts', O>, O>(query: QB, where: ProfileWhere): QB {
  let q = query as SelectQueryBuilder<Database, 'profiles' | 'profile_counts', O>
  const { gender, country_id: country, age_ranges: ranges } = where
  if (gender !== undefined) q = typeof gender === 'string' ? q.where('gender', '=', gender) : q.where('gender', 'in', gender)
  if (country !== undefined) q = typeof country === 'string' ? q.where('country_id', '=', country) : q.where('country_id', 'in', country)
  if (where.min_age !== undefined) q = q.where('age', '>=', where.min_age)
  if (where.max_age !== undefined) q = q.where('age', '<=', where.max_age)
  if (ranges !== undefined && ranges.length > 0) {
    q = q.where((eb) =>
      eb.or(ranges.map((r) => (r.max === null ? eb('age', '>=', r.min) : eb.and([eb('age', '>=', r.min), eb('age', '<=', r.max)])))),
    )
  }
  return q as QB
}

function applyWhere<O>(
  query: SelectQueryBuilder<Database, 'profiles', O>,
  where: ProfileWhere,
): SelectQueryBuilder<Database, 'profiles', O> {
  let q = applyCountedWhere(query, where)
  if (where.min_gender_probability !== undefined) q = q.where('gender_probability', '>=', where.min_gender_probability)
  if (where.min_country_probability !== undefined)
    q = q.where('country_probability', '>=', where.min_country_probability)
  return q
}

/**
 * The contract's order: the sort column, ties broken by id. Names sort case-insensitively, by
 * lower(name), the key of the unique index that enforces the contract's case-insensitive name rule:
 * it serves the sort, and being unique needs no tie-breaker.
 */
function orderBySort<O>(
  query: SelectQueryBuilder<Database, 'profiles', O>,
  sort: ProfileSort,
): SelectQueryBuilder<Database, 'profiles', O> {
  if (sort.column === 'name') return query.orderBy(sql`lower(name)`, sort.direction)
  // created_at is generated from the v7 id, so id order is created_at order with the id tie-break:
  // the primary key serves it.
  if (sort.column === 'created_at') return query.orderBy('id', sort.direction)
  return query.orderBy(sort.column, sort.direction).orderBy('id', sort.direction)
}

function usesOnlyCountedColumns(where: ProfileWhere): boolean {
  return where.min_gender_probability === undefined && where.min_country_probability === undefined
}

function countsQuery(db: Executor, where: ProfileWhere) {
  return applyCountedWhere(db.selectFrom('profile_counts'), where)
}

export async function findProfileById(db: Executor, id: string): Promise<ProfileRow | undefined> {
  return db.selectFrom('profiles').select(PROFILE_ROW_COLUMNS).where('id', '=', id).executeTakeFirst()
}

/**
 * The hottest read, as a named prepared statement straight on the pool: parsed and planned once per
 * connection, no query building per request.
 */
const PROFILE_BY_ID = `SELECT ${PROFILE_ROW_COLUMNS.join(', ')} FROM profiles WHERE id = $1`
export async function findProfileByIdPrepared(pool: pg.Pool, id: string): Promise<ProfileRow | undefined> {
  const { rows } = await preparedQuery<ProfileRow>(pool, 'profile_by_id', PROFILE_BY_ID, [id])
  return rows[0]
}

/** The write generation of profiles (profile_totals.generation): bumped by every writing statement. */
export async function profilesGeneration(pool: pg.Pool): Promise<number> {
  const { rows } = await preparedQuery<{ generation: number }>(pool, 'profiles_generation', 'SELECT generation FROM profile_totals', [])
  return Number(rows[0]?.generation ?? 0)
}

const connectionNumbers = new WeakMap<pg.PoolClient, number>()
let connectionsSeen = 0

/**
 * A named prepared statement on a pooled connection. The name carries the connection's number: the
 * embedded database serves every pool connection from one Postgres session, where a name shared by
 * two connections would collide (42P05); on a real server each connection prepares its own anyway.
 * A failed query discards its connection, as pool.query does.
 */
async function preparedQuery<R extends pg.QueryResultRow>(pool: pg.Pool, name: string, text: string, values: unknown[]) {
  const client = await pool.connect()
  let number = connectionNumbers.get(client)
  if (number === undefined) connectionNumbers.set(client, (number = ++connectionsSeen))
  try {
    const result = await client.query<R>({ name: `${name}_${number}`, text, values })
    client.release()
    return result
  } catch (error) {
    client.release(error instanceof Error ? error : true)
    throw error
  }
}

/** Case-insensitive, trimmed match: the uniqueness rule of the contract. */
export async function findProfileByName(db: Executor, name: string): Promise<ProfileRow | undefined> {
  return db
    .selectFrom('profiles')
    .select(PROFILE_ROW_COLUMNS)
    .where(sql`lower(name)`, '=', name.trim().toLowerCase())
    .executeTakeFirst()
}

/** Inserts one profile; undefined when the name already exists (nothing written). */
export async function insertProfile(db: Executor, profile: NewProfile): Promise<ProfileRow | undefined> {
  return db
    .insertInto('profiles')
    .values(profile)
    .onConflict((oc) => oc.expression(sql`lower(name)`).doNothing())
    .returning(PROFILE_ROW_COLUMNS)
    .executeTakeFirst()
}

const ARRAY_ELEMENT_SPECIALS = /[\\"]/g

/**
 * Postgres array literals, `{"a","b \\"c\\""}` and `{1,2.5}`, built here with one native join
 * rather than by node-postgres, whose element-by-element serialisation cost a bulk import ~3 µs a
 * row. Text elements are always quoted; quotes and backslashes inside them are escaped.
 */
function textArrayLiteral(values: readonly string[]): string {
  if (values.length === 0) return '{}'
  let plain = true
  for (const v of values) {
    if (v.includes('"') || v.includes('\\')) {
      plain = false
      break
    }
  }
  const items = plain ? values : values.map((v) => v.replace(ARRAY_ELEMENT_SPECIALS, '\\$&'))
  return `{"${items.join('","')}"}`
}

function numberArrayLiteral(values: readonly number[]): string {
  return `{${values.join(',')}}`
}

/**
 * Inserts many profiles in one statement whatever their number (nine array parameters, unnested by
 * Postgres), skipping names that exist already or repeat inside the batch (ON CONFLICT on
 * lower(name)). Returns how many rows were inserted; the rest of the batch were duplicates.
 */
export async function insertProfilesBatch(db: Executor, profiles: readonly NewProfile[]): Promise<number> {
  if (profiles.length === 0) return 0
  const result = await insertStatement(profiles).execute(db)
  return Number(result.numAffectedRows ?? 0n)
}

/** Which of `ids` are stored (one index probe each): after a batch, the ones its INSERT skipped are not. */
export async function storedProfileIds(db: Executor, ids: readonly string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set()
  const rows = await db.selectFrom('profiles').select('id').where('id', '=', sql<string>`ANY(${textArrayLiteral(ids)}::uuid[])`).execute()
  return new Set(rows.map((r) => r.id))
}

function insertStatement(profiles: readonly NewProfile[]) {
  const text = (key: 'id' | 'name' | 'gender' | 'age_group' | 'country_id' | 'country_name') =>
    textArrayLiteral(profiles.map((p) => p[key]))
  const number = (key: 'gender_probability' | 'age' | 'country_probability') => numberArrayLiteral(profiles.map((p) => p[key]))
  return sql`
    INSERT INTO profiles (id, name, gender, gender_probability, age, age_group, country_id, country_name,
                          country_probability)
    SELECT * FROM unnest(
      ${text('id')}::uuid[], ${text('name')}::text[], ${text('gender')}::text[],
      ${number('gender_probability')}::float8[], ${number('age')}::int[], ${text('age_group')}::text[],
      ${text('country_id')}::text[], ${text('country_name')}::text[], ${number('country_probability')}::float8[])
    ON CONFLICT (lower(name)) DO NOTHING`
}

export async function deleteProfile(db: Executor, id: string): Promise<boolean> {
  const result = await db.deleteFrom('profiles').where('id', '=', id).executeTakeFirst()
  return result.numDeletedRows > 0n
}

export async function listProfiles(
  db: Executor,
  where: ProfileWhere,
  sort: ProfileSort,
  limit: number,
  offset: number,
): Promise<ProfileRow[]> {
  return orderBySort(applyWhere(db.selectFrom('profiles').select(PROFILE_ROW_COLUMNS), where), sort)
    .limit(limit)
    .offset(offset)
    .execute()
}

/**
 * The page reads' statement texts get a name each, up to this many (filter shape × sort); a text
 * past them runs unnamed. Bounded because every pooled connection keeps what it prepared.
 */
const MAX_PREPARED_PAGE_SHAPES = 64
const pageStatementNames = new Map<string, string>()

/**
 * listProfiles with the write generation read in the same statement (the same snapshot), so a total
 * cached with that generation can be trusted for this page without a round trip of its own.
 * `generation` is undefined when the page is empty (nothing to carry it). The hot path of every list:
 * built by Kysely, then run as a named prepared statement straight on the pool (parsed once per
 * connection, none of Kysely's execution layers); Postgres still chooses custom or generic plans
 * per statement as it does for any prepared statement.
 */
export async function listProfilesWithGeneration(
  db: Executor,
  pool: pg.Pool,
  where: ProfileWhere,
  sort: ProfileSort,
  limit: number,
  offset: number,
): Promise<{ rows: ProfileRow[]; generation: number | undefined }> {
  const compiled = orderBySort(applyWhere(db.selectFrom('profiles').select(PROFILE_ROW_COLUMNS).select(GENERATION.as('generation')), where), sort)
    .limit(limit)
    .offset(offset)
    .compile()
  let name = pageStatementNames.get(compiled.sql)
  if (name === undefined && pageStatementNames.size < MAX_PREPARED_PAGE_SHAPES) {
    pageStatementNames.set(compiled.sql, (name = `profiles_page_${pageStatementNames.size + 1}`))
  }
  const values = compiled.parameters as unknown[]
  const { rows } =
    name === undefined
      ? await pool.query<ProfileRow & { generation: number }>(compiled.sql, values)
      : await preparedQuery<ProfileRow & { generation: number }>(pool, name, compiled.sql, values)
  return { rows, generation: rows.length > 0 ? Number(rows[0].generation) : undefined }
}

/**
 * The `limit` rows that follow a position in the sort order (keyset paging): a range scan from the
 * position on the same index as the page, whatever its depth. The position is the last row's id and
 * sort value; while that row exists its own value is used (exact whatever the collation), else the
 * value the cursor carried.
 */
export async function listProfilesAfter(
  db: Executor,
  where: ProfileWhere,
  sort: ProfileSort,
  after: { key: string | number | null; id: string },
  limit: number,
): Promise<ProfileRow[]> {
  const op = sort.direction === 'asc' ? '>' : '<'
  const query = applyWhere(db.selectFrom('profiles').select(PROFILE_ROW_COLUMNS), where)
  let positioned
  if (sort.column === 'created_at') {
    positioned = query.where('id', op, after.id)
  } else if (sort.column === 'name') {
    const key = sql`coalesce((SELECT lower(p.name) FROM profiles p WHERE p.id = ${after.id}), lower(${String(after.key)}))`
    positioned = query.where(sql<boolean>`lower(name) ${sql.raw(op)} ${key}`)
  } else {
    const column = sql.ref(sort.column)
    const key = sql`coalesce((SELECT p.${column} FROM profiles p WHERE p.id = ${after.id}), ${after.key})`
    positioned = query.where(sql<boolean>`(${column}, id) ${sql.raw(op)} (${key}, ${after.id}::uuid)`)
  }
  return orderBySort(positioned, sort).limit(limit).execute()
}

function isUnfiltered(where: ProfileWhere): boolean {
  for (const key in where) if (where[key as keyof ProfileWhere] !== undefined) return false
  return true
}

const GENERATION = sql<number>`(SELECT generation FROM profile_totals)`

/** Bands of profile_probability_counts: edge j (1…100) is the double nearest j/100 (its migration). */
const LAST_BAND = 100

/**
 * The band of a probability, as the database computes it (width_bucket over the edges): how many
 * edges j/100 (j = 1…100) are at or below it. 0.29 is in band 29 (floor(0.29 * 100) is 28), 1 in
 * band 100. Every edge is JavaScript's j / 100, which is the double Postgres reads for the literal.
 */
export function probabilityBand(p: number): number {
  let band = Math.min(LAST_BAND, Math.max(0, Math.floor(p * 100)))
  while (band > 0 && p < band / 100) band--
  while (band < LAST_BAND && p >= (band + 1) / 100) band++
  return band
}

interface BandQuery {
  dimension: 'gender' | 'country'
  column: 'gender_probability' | 'country_probability'
  threshold: number
  gender: ProfileWhere['gender']
}

/** A filter the bands answer: exactly one probability threshold, and nothing else but gender. */
function bandQueryOf(where: ProfileWhere): BandQuery | undefined {
  const { gender, min_gender_probability: genderP, min_country_probability: countryP } = where
  for (const key in where) {
    if (key !== 'gender' && key !== 'min_gender_probability' && key !== 'min_country_probability' && where[key as keyof ProfileWhere] !== undefined)
      return undefined
  }
  if (genderP !== undefined && countryP === undefined && Number.isFinite(genderP))
    return { dimension: 'gender', column: 'gender_probability', threshold: genderP, gender }
  if (countryP !== undefined && genderP === undefined && Number.isFinite(countryP))
    return { dimension: 'country', column: 'country_probability', threshold: countryP, gender }
  return undefined
}

/**
 * The exact total of a filter the bands answer (one probability threshold, at most a gender), with
 * the write generation in the same statement; undefined for any other filter (countProfilesAt).
 * count(p >= t): with t in band k, every band above k, plus the rows of band k at or above t — none
 * to count when t is band k's lower edge (0.8, 0.99, 1; 0 for band 0), else `t <= p < (k+1)/100`, a
 * short range of the probability's index. Exact for any float. One function (its migration,
 * 20261202T1100), whose statements keep one generic plan per connection: planning took longer than
 * running them.
 */
const BAND_TOTAL = 'SELECT total, generation FROM profile_band_total($1, $2, $3, $4, $5)'

export async function countProfilesByBands(pool: pg.Pool, where: ProfileWhere): Promise<{ total: number; generation: number } | undefined> {
  const q = bandQueryOf(where)
  if (!q) return undefined
  const { threshold: t, gender } = q
  const band = probabilityBand(t)
  const onEdge = band === 0 ? t <= 0 : t === band / 100
  const genders = gender === undefined ? undefined : typeof gender === 'string' ? [gender] : [...gender]
  const inside = !onEdge
  const values = [q.dimension, band, genders ?? null, inside ? t : null, inside ? (band < LAST_BAND ? (band + 1) / 100 : Infinity) : null]
  const { rows } = await preparedQuery<{ total: number; generation: number }>(pool, 'band_total', BAND_TOTAL, values)
  return { total: Number(rows[0].total), generation: Number(rows[0].generation) }
}

/**
 * The exact number of profiles matching, with the write generation read in the same statement (so
 * the same snapshot): the pair may be cached until the generation moves. The unfiltered total is the
 * one-row rollup; filters on gender, age and country sum the maintained counts; probability filters
 * count the rows (one threshold with at most a gender is countProfilesByBands's, on the pool).
 */
export async function countProfilesAt(db: Executor, where: ProfileWhere): Promise<{ total: number; generation: number }> {
  if (where.min_age !== undefined && where.max_age !== undefined && where.min_age > where.max_age) {
    const row = await db.selectNoFrom(GENERATION.as('generation')).executeTakeFirstOrThrow()
    return { total: 0, generation: Number(row.generation) }
  }
  let row: { total: number; generation: number }
  if (isUnfiltered(where)) {
    row = await db.selectFrom('profile_totals').select(['total', 'generation']).executeTakeFirstOrThrow()
  } else if (usesOnlyCountedColumns(where)) {
    row = await countsQuery(db, where)
      .select([sql<number>`coalesce(sum(n), 0)::int8`.as('total'), GENERATION.as('generation')])
      .executeTakeFirstOrThrow()
  } else {
    row = await applyWhere(db.selectFrom('profiles'), where)
      .select([sql<number>`count(*)`.as('total'), GENERATION.as('generation')])
      .executeTakeFirstOrThrow()
  }
  return { total: Number(row.total), generation: Number(row.generation) }
}

/** The exact number of profiles matching. */
export async function countProfiles(db: Executor, where: ProfileWhere): Promise<number> {
  return (await countProfilesAt(db, where)).total
}

export interface ProfileStats {
  total: number
  by_gender: { gender: string; count: number }[]
  by_age: { age: number; count: number }[]
  by_country: { country_id: string; count: number }[]
}

/**
 * Counts by gender, by single year of age and by country for a filter; callers derive age groups and
 * histogram buckets from by_age. One grouped pass over (gender, age, country) feeds all three.
 */
export async function profileStats(db: Executor, where: ProfileWhere): Promise<ProfileStats> {
  type Cell = { gender: string; age: number; country_id: string; n: number }
  let cells: Cell[]
  if (usesOnlyCountedColumns(where)) {
    cells = await countsQuery(db, where).select(['gender', 'age', 'country_id', 'n']).where('n', '>', 0).execute()
  } else {
    cells = await applyWhere(db.selectFrom('profiles'), where)
      .select(['gender', 'age', 'country_id', sql<number>`count(*)`.as('n')])
      .groupBy(['gender', 'age', 'country_id'])
      .execute()
  }
  const byGender = new Map<string, number>()
  const byAge = new Map<number, number>()
  const byCountry = new Map<string, number>()
  let total = 0
  for (const cell of cells) {
    const n = Number(cell.n)
    total += n
    byGender.set(cell.gender, (byGender.get(cell.gender) ?? 0) + n)
    byAge.set(cell.age, (byAge.get(cell.age) ?? 0) + n)
    byCountry.set(cell.country_id, (byCountry.get(cell.country_id) ?? 0) + n)
  }
  return {
    total,
    by_gender: [...byGender].map(([gender, count]) => ({ gender, count })).sort((a, b) => b.count - a.count),
    by_age: [...byAge].map(([age, count]) => ({ age, count })).sort((a, b) => a.age - b.age),
    by_country: [...byCountry]
      .map(([country_id, count]) => ({ country_id, count }))
      .sort((a, b) => b.count - a.count || a.country_id.localeCompare(b.country_id)),
  }
}

/**
 * A float8 as JavaScript's String(number) writes it (the JSON API's numbers): Postgres's shortest
 * round-trip digits are the same, but it switches to exponents below 1e-4 ("1e-05") where JavaScript
 * keeps decimals down to 1e-6 ("0.00001"), and pads exponents ("1e-07" vs "1e-7"). Probabilities
 * are 0–1 (a CHECK), so large exponents never occur; -0 prints as 0, as in JSON.
 */
function jsNumberText(column: string): string {
  return `CASE WHEN ${column} = 0 THEN '0' WHEN abs(${column}) >= 1e-4 THEN ${column}::text
    WHEN abs(${column}) >= 1e-6 THEN (${column}::text)::numeric::text
    ELSE replace(${column}::text, 'e-0', 'e-') END`
}

/**
 * Free text as exported: NULLIF makes an empty value an unquoted empty field (COPY quotes empty
 * strings to tell them from NULL; the JavaScript formatter does not). With `neutraliseFormulas`, a
 * value a spreadsheet would evaluate (first character = + - @, tab or CR; OWASP) gets a leading '.
 */
function exportText(column: string, neutraliseFormulas: boolean): string {
  const value = neutraliseFormulas
    ? `CASE WHEN left(${column}, 1) IN ('=', '+', '-', '@', E'\\t', E'\\r') THEN '''' || ${column} ELSE ${column} END`
    : column
  return `NULLIF(${value}, '')`
}

/** A value inlined as an SQL literal: COPY takes no bind parameters. */
function sqlLiteral(value: unknown): string {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error('non-finite number in an export filter')
    return String(value)
  }
  if (typeof value === 'string') {
    if (value.includes('\0')) throw new Error('NUL in an export filter')
    return `'${value.replace(/'/g, "''")}'`
  }
  if (Array.isArray(value)) return `ARRAY[${value.map(sqlLiteral).join(', ')}]`
  throw new Error(`unsupported export filter value: ${typeof value}`)
}

/**
 * The export as one statement: `COPY (SELECT …) TO STDOUT (FORMAT csv)` with the list's filters and
 * order, every column formatted as the JSON API writes it (numbers as JavaScript prints them,
 * created_at as YYYY-MM-DDTHH:MM:SSZ in UTC, country_id trimmed). Rows end in LF (COPY's only
 * choice) and there is no header: api/services/export-csv.ts adds both. Filter values are inlined
 * as literals because COPY takes no parameters; they arrive validated, and strings are quoted for
 * standard_conforming_strings (on by default since Postgres 9.1).
 */
export function profilesCopySql(
  db: Executor,
  where: ProfileWhere,
  sort: ProfileSort,
  options: { neutraliseFormulas: boolean },
): string {
  const columns = [
    'id',
    exportText('name', options.neutraliseFormulas),
    'gender',
    jsNumberText('gender_probability'),
    'age',
    'age_group',
    'btrim(country_id)',
    exportText('country_name', options.neutraliseFormulas),
    jsNumberText('country_probability'),
    `to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')`,
  ]
  // Aliases no column has, so that ORDER BY's names can only mean the table's columns.
  const select = db.selectFrom('profiles').select(columns.map((c, i) => sql.raw<string>(c).as(`export_${i}`)))
  const compiled = orderBySort(applyWhere(select, where), sort).compile()
  const text = compiled.sql.replace(/\$(\d+)/g, (_, n: string) => sqlLiteral(compiled.parameters[Number(n) - 1]))
  return `COPY (${text}) TO STDOUT WITH (FORMAT csv)`
}
