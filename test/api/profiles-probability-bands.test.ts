/**
 * Issue 13: a total with one probability threshold (and at most a gender) is the maintained bands
 * (profile_probability_counts) plus the threshold's own band counted from the index — exact against
 * count(*) for thresholds on band edges, a float away from them and in between, after seeds, batch
 * inserts, imports, creates, deletes, hand updates, TRUNCATE and reseeding; the migration's
 * backfill agrees too; and the band of a value is the same in JavaScript and in Postgres.
 */
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { randomBytes } from 'node:crypto'
import { FileMigrationProvider, Migrator, sql, type Kysely } from 'kysely'
import t, { type Test } from 'tap'
import { newId } from '../../contract/ids.ts'
import { migrateToLatest } from '../../db/migrate.ts'
import { insertProfilesBatch, probabilityBand, type NewProfile } from '../../db/repositories/profiles.ts'
import { seedFromFile } from '../../db/seed/seed.ts'
import type { Database } from '../../db/types.ts'
import { startEnrichmentStubs } from '../../dev/enrichment-stand-in.ts'
import { buildTestApi } from '../helpers/api.ts'
import { createTestDatabase } from '../helpers/database.ts'

const stubs = await startEnrichmentStubs()
t.teardown(() => stubs.close())
const api = await buildTestApi(t, {
  seed: true,
  env: {
    GENDERIZE_URL: stubs.urls.genderize,
    AGIFY_URL: stubs.urls.agify,
    NATIONALIZE_URL: stubs.urls.nationalize,
    ENRICHMENT_CACHE_SIZE: '0',
    CACHE_TTL_SECONDS: '0',
  },
})
const admin = await api.headers('admin')
const analyst = await api.headers('analyst')

/** The neighbouring double above (`up`) or below a finite x. */
function step(x: number, up: boolean): number {
  if (x === 0) return up ? Number.MIN_VALUE : -Number.MIN_VALUE
  const view = new DataView(new ArrayBuffer(8))
  view.setFloat64(0, x)
  view.setBigUint64(0, view.getBigUint64(0) + ((x > 0) === up ? 1n : -1n))
  return view.getFloat64(0)
}
const nextUp = (x: number) => step(x, true)
const nextDown = (x: number) => step(x, false)

/** Every edge j/100, the doubles either side of it, and values inside bands: all within [0, 1]. */
const SPECIAL_VALUES = [
  ...new Set(
    Array.from({ length: 101 }, (_, j) => j / 100)
      .flatMap((edge) => [edge, nextUp(edge), nextDown(edge)])
      .concat([0.805, 0.999999, 0.8049999999, 0.29, 0.57, 0.07, Number.MIN_VALUE, 0.123456789, 0.5000001])
      .filter((v) => v >= 0 && v <= 1),
  ),
]

/** Thresholds asked for: the issue's list, edges and their neighbours, values whose p * 100 floors wrong. */
const THRESHOLDS = [
  0, 1, 0.8, 0.805, 0.99, 0.999999, 0.5, 0.29, 0.57, 0.07, 0.01, 0.005, Number.MIN_VALUE, nextUp(0.8), nextDown(0.8),
  nextDown(1), nextUp(0.99), nextDown(0.29), nextUp(0),
]

/** The band by its definition, independently of probabilityBand: how many edges j/100 are ≤ p. */
function bandByDefinition(p: number): number {
  let band = 0
  for (let j = 1; j <= 100; j++) if (p >= j / 100) band = j
  return band
}

async function get(url: string, headers = analyst) {
  const res = await api.app.inject({ method: 'GET', url, headers })
  return { status: res.statusCode, body: res.json() }
}

function multipart(csv: string): { body: Buffer; contentType: string } {
  const boundary = `----bands${randomBytes(6).toString('hex')}`
  const body = Buffer.concat([
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="p.csv"\r\nContent-Type: text/csv\r\n\r\n`),
    Buffer.from(csv),
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ])
  return { body, contentType: `multipart/form-data; boundary=${boundary}` }
}

async function importCsv(csv: string) {
  const { body, contentType } = multipart(csv)
  const res = await api.app.inject({ method: 'POST', url: '/api/profiles/import', headers: { ...admin, 'content-type': contentType }, payload: body })
  return { status: res.statusCode, body: res.json() }
}

/** Profiles whose probabilities walk the special values (gender and country shifted apart). */
function specialProfiles(prefix: string, shift: number): NewProfile[] {
  return SPECIAL_VALUES.flatMap((value, i) =>
    (['male', 'female'] as const).map((gender, g) => ({
      id: newId(),
      name: `${prefix} ${i} ${gender}`,
      gender,
      gender_probability: value,
      age: (i * 7 + g) % 90,
      age_group: 'adult' as const,
      country_id: ['NG', 'KE', 'GH'][i % 3],
      country_name: 'Somewhere',
      country_probability: SPECIAL_VALUES[(i + shift + g) % SPECIAL_VALUES.length],
    })),
  )
}

/** The maintained bands equal the bands of the rows as they are, computed here from the definition. */
async function assertBandsMatchRows(t: Test, db: Kysely<Database>, when: string) {
  const rows = await db.selectFrom('profiles').select(['gender', 'gender_probability', 'country_probability']).execute()
  const expected = new Map<string, number>()
  for (const r of rows) {
    for (const [dimension, p] of [['gender', r.gender_probability], ['country', r.country_probability]] as const) {
      const key = `${dimension} ${r.gender} ${bandByDefinition(p)}`
      expected.set(key, (expected.get(key) ?? 0) + 1)
    }
  }
  const maintained = new Map<string, number>()
  for (const c of await db.selectFrom('profile_probability_counts').selectAll().where('n', '<>', 0).execute())
    maintained.set(`${c.dimension} ${c.gender} ${c.band}`, Number(c.n))
  const sorted = (m: Map<string, number>) => [...m].sort((a, b) => (a[0] < b[0] ? -1 : 1))
  t.same(sorted(maintained), sorted(expected), `${when}: the bands equal the rows' bands (${rows.length} rows)`)
}

/** Every threshold × dimension × gender condition: the API's total equals count(*). */
async function assertThresholdsExact(t: Test, when: string) {
  const cases: { params: URLSearchParams; where: ReturnType<typeof sql> }[] = []
  for (const column of ['gender_probability', 'country_probability'] as const) {
    for (const gender of [undefined, 'male', 'female', 'male,female']) {
      for (const threshold of THRESHOLDS) {
        const params = new URLSearchParams({ [`min_${column}`]: String(threshold) })
        const conditions = [sql`${sql.ref(column)} >= ${threshold}`]
        if (gender) {
          params.set('gender', gender)
          conditions.push(sql`gender = ANY(${gender.split(',')})`)
        }
        cases.push({ params, where: sql.join(conditions, sql` AND `) })
      }
    }
  }
  // Every count(*) in one pass: count(*) FILTER (WHERE …) per case.
  const counts = await sql<Record<string, string>>`SELECT ${sql.join(
    cases.map((c, i) => sql`count(*) FILTER (WHERE ${c.where}) AS ${sql.ref(`c${i}`)}`),
  )} FROM profiles`.execute(api.db.db)
  const mismatches: string[] = []
  for (const [i, c] of cases.entries()) {
    const expected = Number(counts.rows[0][`c${i}`])
    const { status, body } = await get(`/api/profiles?${c.params}&limit=1`)
    if (status !== 200 || body.total !== expected) mismatches.push(`?${c.params}: ${status} total ${body.total}, count(*) ${expected}`)
  }
  t.same(mismatches, [], `${when}: ${cases.length} threshold totals exact`)
}

async function assertExact(t: Test, when: string) {
  await assertBandsMatchRows(t, api.db.db, when)
  await assertThresholdsExact(t, when)
}

t.test('the band of a value is the same in JavaScript, in Postgres and by definition', async (t) => {
  const values = [...SPECIAL_VALUES, ...THRESHOLDS, ...Array.from({ length: 200 }, (_, i) => ((i * 7919) % 10007) / 10007)]
  const rows = await sql<{ p: number; band: number }>`
    SELECT p, profile_probability_band(p) AS band FROM unnest(${`{${values.join(',')}}`}::float8[]) AS v(p)`.execute(api.db.db)
  const disagreements = rows.rows.filter((r) => r.band !== probabilityBand(r.p) || r.band !== bandByDefinition(r.p))
  t.same(disagreements, [], `${rows.rows.length} values`)
  t.equal(probabilityBand(0.29), 29, '0.29 is on its band’s lower edge (floor(0.29 * 100) is 28)')
  t.equal(probabilityBand(nextDown(0.29)), 28)
  t.equal(probabilityBand(1), 100, '1 has its own band')
  t.equal(probabilityBand(nextDown(1)), 99)
  t.equal(probabilityBand(0), 0)
})

t.test('thresholds are exact after seed, inserts, imports, creates, deletes, updates, TRUNCATE and reseeding', async (t) => {
  await assertExact(t, 'on the seed')

  t.equal(await insertProfilesBatch(api.db.db, specialProfiles('Band Batch', 0)), SPECIAL_VALUES.length * 2)
  await assertExact(t, 'after a batch insert of edge values')

  // Two uploads at once (they share band rows), each with a duplicate and a refused row.
  const csvOf = (prefix: string, shift: number) => {
    let csv = 'name,gender,age,country_id,gender_probability,country_probability\n'
    for (const p of specialProfiles(prefix, shift)) csv += `${p.name},${p.gender},${p.age},${p.country_id},${p.gender_probability},${p.country_probability}\n`
    return `${csv}Band Batch 0 male,male,30,NG,0.8,0.8\n${prefix} refused,male,30,NG,1.5,0.8\n`
  }
  const imports = await Promise.all([importCsv(csvOf('Band Import A', 17)), importCsv(csvOf('Band Import B', 41))])
  for (const imported of imports) {
    t.equal(imported.status, 200)
    t.equal(imported.body.inserted, SPECIAL_VALUES.length * 2)
    t.equal(imported.body.reasons.duplicate_name, 1)
    t.equal(imported.body.reasons.invalid_probability, 1)
  }
  await assertExact(t, 'after two concurrent imports')

  for (const name of ['Band Create One', 'Band Create Two', 'Band Create Three']) {
    const res = await api.app.inject({ method: 'POST', url: '/api/profiles', headers: { ...admin, 'content-type': 'application/json' }, payload: { name } })
    t.equal(res.statusCode, 201)
  }
  await t.rejects(
    api.db.db.transaction().execute(async (trx) => {
      await insertProfilesBatch(trx, specialProfiles('Band Rolled Back', 3))
      throw new Error('roll back')
    }),
    /roll back/,
  )
  await assertExact(t, 'after creates and a rolled-back insert')

  const victims = (await get('/api/profiles?limit=5&min_gender_probability=0.8', admin)).body.data as { id: string }[]
  for (const v of victims) t.equal((await api.app.inject({ method: 'DELETE', url: `/api/profiles/${v.id}`, headers: admin })).statusCode, 204)
  await sql`DELETE FROM profiles WHERE gender_probability >= 0.8 AND gender_probability < 0.81 AND name LIKE 'Band Import A %'`.execute(api.db.db)
  await sql`DELETE FROM profiles WHERE country_probability = 1 AND name LIKE 'Band %'`.execute(api.db.db)
  await assertExact(t, 'after API and SQL deletes')

  await sql`UPDATE profiles SET gender_probability = 1 - gender_probability WHERE name LIKE 'Band Import B %'`.execute(api.db.db)
  await sql`UPDATE profiles SET country_probability = 0.805 WHERE name LIKE 'Band Batch 1%'`.execute(api.db.db)
  await sql`UPDATE profiles SET country_probability = country_probability WHERE name LIKE 'Band Batch 2%'`.execute(api.db.db)
  await assertExact(t, 'after hand updates of probabilities')

  await sql`TRUNCATE profiles`.execute(api.db.db)
  const left = await api.db.db.selectFrom('profile_probability_counts').selectAll().execute()
  t.same(left, [], 'TRUNCATE empties the bands')
  await assertExact(t, 'after TRUNCATE')
  t.equal((await get('/api/profiles?min_gender_probability=0')).body.total, 0)

  t.equal((await seedFromFile(api.db.db)).inserted, 2026)
  t.equal((await seedFromFile(api.db.db)).inserted, 0, 'seeding twice adds nothing')
  await assertExact(t, 'after reseeding')
})

t.test('one threshold (with or without a gender) is answered by the bands; other filters are not', async (t) => {
  // Tamper with one band (the write generation does not move, so a cached total would hide this):
  // a total that reads the bands is off by exactly the tampering, one that counts rows is not.
  const count = async (where: string) => Number((await sql<{ n: string }>`SELECT count(*) AS n FROM profiles WHERE ${sql.raw(where)}`.execute(api.db.db)).rows[0].n)
  await sql`UPDATE profile_probability_counts SET n = n + 1000 WHERE dimension = 'gender' AND gender = 'male' AND band = 95`.execute(api.db.db)
  try {
    const cases: [string, string, number][] = [
      ['min_gender_probability=0.95', 'gender_probability >= 0.95', 1000],
      ['min_gender_probability=0.949', 'gender_probability >= 0.949', 1000],
      ['min_gender_probability=0.951', 'gender_probability >= 0.951', 0],
      ['min_gender_probability=0.9&gender=male', "gender_probability >= 0.9 AND gender = 'male'", 1000],
      ['min_gender_probability=0.9&gender=female', "gender_probability >= 0.9 AND gender = 'female'", 0],
      ['min_gender_probability=0.9&gender=male,female', 'gender_probability >= 0.9', 1000],
      ['min_country_probability=0.5', 'country_probability >= 0.5', 0],
      ['min_gender_probability=0.9&min_country_probability=0.1', 'gender_probability >= 0.9 AND country_probability >= 0.1', 0],
      ['min_gender_probability=0.9&country_id=NG', "gender_probability >= 0.9 AND country_id = 'NG'", 0],
      ['min_gender_probability=0.9&min_age=30', 'gender_probability >= 0.9 AND age >= 30', 0],
    ]
    for (const [query, where, offBy] of cases) {
      const { body } = await get(`/api/profiles?${query}&limit=1&page=2`)
      t.equal(body.total, (await count(where)) + offBy, `${query}: ${offBy ? 'from the bands' : 'not from the tampered band'}`)
    }
  } finally {
    await sql`UPDATE profile_probability_counts SET n = n - 1000 WHERE dimension = 'gender' AND gender = 'male' AND band = 95`.execute(api.db.db)
  }
  await assertBandsMatchRows(t, api.db.db, 'restored')
})

t.test('the migration backfills the bands of existing rows, and goes down and up again', async (t) => {
  const fresh = await createTestDatabase(t, { migrate: false })
  const migrator = new Migrator({
    db: fresh.db,
    provider: new FileMigrationProvider({ fs, path, migrationFolder: path.join(import.meta.dirname, '../../db/migrations') }),
  })
  const to = async (name: string) => {
    const { error } = await migrator.migrateTo(name)
    if (error) throw error
  }
  await to('20261202T0800-saved-searches')
  await seedFromFile(fresh.db)
  await insertProfilesBatch(fresh.db, specialProfiles('Band Backfill', 5))
  await migrateToLatest(fresh.db)
  await assertBandsMatchRows(t, fresh.db, 'backfilled')
  await to('20261202T0800-saved-searches')
  const gone = await sql<{ n: string }>`SELECT count(*) AS n FROM pg_tables WHERE tablename = 'profile_probability_counts'`.execute(fresh.db)
  t.equal(Number(gone.rows[0].n), 0, 'down drops the table')
  await insertProfilesBatch(fresh.db, specialProfiles('Band While Down', 9))
  await migrateToLatest(fresh.db)
  await assertBandsMatchRows(t, fresh.db, 'up again')
})
