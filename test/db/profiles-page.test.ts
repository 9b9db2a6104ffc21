import t from 'tap'
import { SORT_COLUMNS } from '../../contract/query-limits.ts'
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
  t.ok(first.created_at instanceof Date, 'timestamps arrive as dates')
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
