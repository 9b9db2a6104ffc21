import t from 'tap'
import { SORT_COLUMNS } from '../../contract/query-limits.ts'
import { sql } from 'kysely'
import { createdAtOfId } from '../../contract/profile.ts'
import { listProfiles, listProfilesWithGeneration, profilesGeneration, type ProfileSort, type ProfileWhere } from '../../db/repositories/profiles.ts'
import { createTestDatabase } from '../helpers/database.ts'

const db = await createTestDatabase(t, { seed: true })

const COUNTRIES = ['NG', 'KE', 'GH', 'US', 'GB', 'FR', 'DE', 'ZA', 'EG', 'TZ', 'UG', 'AO']

/** Many distinct statement texts: every list length of `IN (…)` and every sort is a text of its own. */
function shapes(): { where: ProfileWhere; sort: ProfileSort }[] {
  const out: { where: ProfileWhere; sort: ProfileSort }[] = []
  for (let n = 1; n <= COUNTRIES.length; n++) {
    for (const column of SORT_COLUMNS) {
      for (const direction of ['asc', 'desc'] as const) {
        out.push({ where: { country_id: COUNTRIES.slice(0, n), min_age: n }, sort: { column, direction } })
      }
    }
  }
  return out
}

t.test('the prepared page read answers exactly what the built query answers, past the named shapes', async (t) => {
  const all = shapes()
  t.ok(all.length > 64, `${all.length} distinct statement texts: more than get a name`)
  const generation = await profilesGeneration(db.pool)
  // Twice over: the first pass prepares (or runs unnamed past the bound), the second reuses.
  for (const pass of [1, 2]) {
    for (const { where, sort } of all) {
      const expected = await listProfiles(db.db, where, sort, 7, 3)
      const page = await listProfilesWithGeneration(db.db, db.pool, where, sort, 7, 3)
      const rows = page.rows.map(({ generation: _g, ...row }: (typeof page.rows)[number] & { generation?: unknown }) => row)
      t.same(rows, expected, `pass ${pass}: ${JSON.stringify(where)} by ${sort.column} ${sort.direction}`)
      t.equal(page.generation, expected.length > 0 ? generation : undefined)
    }
  }
  const first = (await listProfilesWithGeneration(db.db, db.pool, {}, { column: 'created_at', direction: 'asc' }, 1, 0)).rows[0]
  t.notOk('created_at' in first, 'created_at is not read: it is derived from the id')
  t.equal(typeof first.gender_probability, 'number', 'probabilities arrive as numbers')
})

t.test('an empty page carries no generation; a write moves the next page’s generation', async (t) => {
  const sort: ProfileSort = { column: 'created_at', direction: 'asc' }
  const empty = await listProfilesWithGeneration(db.db, db.pool, { country_id: 'ZZ' }, sort, 10, 0)
  t.same(empty, { rows: [], generation: undefined })
  const before = (await listProfilesWithGeneration(db.db, db.pool, {}, sort, 1, 0)).generation
  const deleted = await db.db.deleteFrom('profiles').where('country_id', '=', 'NG').where('age', '>=', 60).executeTakeFirst()
  t.ok(deleted.numDeletedRows > 0n, 'some profiles deleted')
  const after = (await listProfilesWithGeneration(db.db, db.pool, {}, sort, 1, 0)).generation
  t.ok(before !== undefined && after !== undefined && after > before, `generation ${before} → ${after}`)
})

t.test('a malformed value fails the statement, and the pool goes on serving', async (t) => {
  const sort: ProfileSort = { column: 'age', direction: 'asc' }
  await t.rejects(listProfilesWithGeneration(db.db, db.pool, { min_age: Number.NaN }, sort, 1, 0))
  await t.rejects(listProfilesWithGeneration(db.db, db.pool, {}, sort, -1, 0))
  const page = await listProfilesWithGeneration(db.db, db.pool, { min_age: 1 }, sort, 2, 0)
  t.equal(page.rows.length, 2)
})

/** A v7 id for an exact millisecond, version and variant bits set, the rest from `tail`. */
function idAt(ms: number, tail: number): string {
  const hex = ms.toString(16).padStart(12, '0')
  const rest = tail.toString(16).padStart(15, '0').slice(-15)
  return `${hex.slice(0, 8)}-${hex.slice(8)}-7${rest.slice(0, 3)}-8${rest.slice(3, 6)}-${rest.slice(6)}000`
}

t.test('createdAtOfId is the generated column: every stored row, and ids on every side of a second', async (t) => {
  const stored = await sql<{ id: string; created_at: string }>`
    SELECT id, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS created_at FROM profiles`.execute(db.db)
  t.ok(stored.rows.length > 1000, `${stored.rows.length} stored rows`)
  const wrong = stored.rows.filter((r) => createdAtOfId(r.id) !== r.created_at)
  t.same(wrong, [], 'every stored row: the id says what the column holds')

  // Edges: the first and last millisecond of a second, the epoch, the 48-bit limit's year, a leap day,
  // and the same second twice in a row then another (the function keeps the last second it formatted).
  const instants = [0, 999, 1000, 1_709_164_799_999, 1_709_164_800_000, 1_767_225_599_999, 1_767_225_600_000, 1_767_225_600_999, 253_402_300_799_999]
  const ids = instants.map((ms, i) => idAt(ms, 0x1234567 + i))
  for (const id of ids) t.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-8[0-9a-f]{3}-[0-9a-f]{12}$/, `${id} is a v7 id`)
  await sql`INSERT INTO profiles (id, name, gender, gender_probability, age, age_group, country_id, country_name, country_probability)
    SELECT id, 'Edge Instant ' || n, 'male', 0.5, 30, 'adult', 'NG', 'Nigeria', 0.5
    FROM unnest(${`{${ids.join(',')}}`}::uuid[]) WITH ORDINALITY AS u(id, n)`.execute(db.db)
  t.teardown(async () => {
    await sql`DELETE FROM profiles WHERE name LIKE 'Edge Instant %'`.execute(db.db)
  })
  const edges = await sql<{ id: string; created_at: string }>`
    SELECT id, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS created_at
    FROM profiles WHERE name LIKE 'Edge Instant %' ORDER BY id`.execute(db.db)
  t.equal(edges.rows.length, instants.length)
  for (const row of edges.rows) t.equal(createdAtOfId(row.id), row.created_at, `${row.id} → ${row.created_at}`)
  t.equal(createdAtOfId(ids[0]), '1970-01-01T00:00:00Z')
  t.equal(createdAtOfId(ids[1]), '1970-01-01T00:00:00Z', '999 ms is still the first second')
  t.equal(createdAtOfId(ids[2]), '1970-01-01T00:00:01Z')
  t.equal(createdAtOfId(ids[3]), '2024-02-28T23:59:59Z')
  t.equal(createdAtOfId(ids[4]), '2024-02-29T00:00:00Z')
  t.equal(createdAtOfId(ids[8]), '9999-12-31T23:59:59Z')
})
