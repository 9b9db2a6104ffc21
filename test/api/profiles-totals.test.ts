/**
 * Issue 13: created_at is the v7 id's timestamp (every way a row is written), id order is
 * created_at order, and every total — including probability filters served from the generation
 * cache — equals count(*) after inserts, deletes, imports and hand updates (random filters).
 */
import { randomBytes } from 'node:crypto'
import { sql } from 'kysely'
import t, { type Test } from 'tap'
import { newId } from '../../contract/ids.ts'
import { insertProfilesBatch, type NewProfile } from '../../db/repositories/profiles.ts'
import { startEnrichmentStubs } from '../../dev/enrichment-stand-in.ts'
import { buildTestApi } from '../helpers/api.ts'

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

/** The seconds of a v7 id's 48-bit millisecond timestamp, computed here independently of Postgres. */
function idSeconds(id: string): number {
  return Math.floor(parseInt(id.replace(/-/g, '').slice(0, 12), 16) / 1000)
}

async function assertInvariant(t: Test, when: string) {
  const rows = await sql<{ id: string; epoch: number }>`SELECT id, extract(epoch FROM created_at)::float8 AS epoch FROM profiles`.execute(api.db.db)
  t.ok(rows.rows.length > 0, `${when}: rows exist`)
  const wrong = rows.rows.filter((r) => r.epoch !== idSeconds(r.id) || r.id[14] !== '7')
  t.same(wrong, [], `${when}: every created_at is its v7 id's second`)
}

async function get(url: string, headers = analyst) {
  const res = await api.app.inject({ method: 'GET', url, headers })
  return { status: res.statusCode, body: res.json() }
}

function multipart(csv: string): { body: Buffer; contentType: string } {
  const boundary = `----totals${randomBytes(6).toString('hex')}`
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

// A small deterministic PRNG, so a failure names a reproducible seed.
function prng(seed: number) {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let x = Math.imul(a ^ (a >>> 15), 1 | a)
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
}
const COUNTRIES = ['NG', 'KE', 'GH', 'AO', 'ZA', 'EG', 'TZ', 'XX']
const GROUPS: Record<string, [number, number]> = { child: [0, 12], teenager: [13, 19], adult: [20, 59], senior: [60, 150] }

const t2 = (n: number) => Math.round(n * 100) / 100

t.test('created_at is the id timestamp after seed, create and import; nobody can write it', async (t) => {
  await assertInvariant(t, 'after seed')
  const created = await api.app.inject({ method: 'POST', url: '/api/profiles', headers: { ...admin, 'content-type': 'application/json' }, payload: { name: 'Invariant Person' } })
  t.equal(created.statusCode, 201)
  const profile = created.json().data as { id: string; created_at: string }
  t.equal(Date.parse(profile.created_at) / 1000, idSeconds(profile.id), 'the created profile says so on the wire')
  const imported = await importCsv('name,gender,age,country_id,gender_probability,country_probability\nInvariant Import One,male,30,NG,0.9,0.8\nInvariant Import Two,female,70,KE,0.6,0.4\n')
  t.equal(imported.status, 200)
  t.equal(imported.body.inserted, 2)
  await assertInvariant(t, 'after create and import')
  await t.rejects(
    sql`INSERT INTO profiles (id, name, gender, gender_probability, age, age_group, country_id, country_name, country_probability, created_at)
        VALUES (${newId()}, 'Explicit Time', 'male', 0.5, 30, 'adult', 'NG', 'Nigeria', 0.5, now())`.execute(api.db.db),
    /generated column|non-DEFAULT/,
    'created_at cannot be written',
  )
  await t.rejects(
    sql`INSERT INTO profiles (id, name, gender, gender_probability, age, age_group, country_id, country_name, country_probability)
        VALUES ('4b1d7f0e-3c2a-4e1b-9a8c-1234567890ab', 'Version Four', 'male', 0.5, 30, 'adult', 'NG', 'Nigeria', 0.5)`.execute(api.db.db),
    /profiles_id_is_uuid_v7/,
    'a non-v7 id is refused',
  )
  const indexes = await sql<{ indexname: string }>`SELECT indexname FROM pg_indexes WHERE tablename = 'profiles'`.execute(api.db.db)
  t.notOk(indexes.rows.some((r) => r.indexname === 'profiles_created_at_id_idx'), 'the created_at index is gone')
})

t.test('default order and sort_by=created_at walk every profile in (created_at, id) order', async (t) => {
  const all = await sql<{ id: string; epoch: number }>`SELECT id, extract(epoch FROM created_at)::float8 AS epoch FROM profiles`.execute(api.db.db)
  const asc = [...all.rows].sort((a, b) => a.epoch - b.epoch || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)).map((r) => r.id)
  for (const [query, expected] of [
    ['', [...asc].reverse()],
    ['&sort_by=created_at', asc],
    ['&sort_by=created_at&order=desc', [...asc].reverse()],
  ] as const) {
    const seen: string[] = []
    for (let page = 1; ; page++) {
      const { status, body } = await get(`/api/profiles?limit=50&page=${page}${query}`)
      t.equal(status, 200)
      seen.push(...(body.data as { id: string }[]).map((p) => p.id))
      if (body.links.next === null) break
    }
    t.same(seen, expected, `order of "${query || 'default'}": every profile once, in order`)
  }
})

t.test('every sort, both directions: pages in the back half (read from the other end) keep the order', async (t) => {
  for (const column of ['age', 'name', 'gender_probability', 'country_probability'] as const) {
    for (const order of ['asc', 'desc'] as const) {
      const key = column === 'name' ? sql`lower(name)` : sql.ref(column)
      const direction = sql.raw(order)
      const seen: string[] = []
      const expected = (await sql<{ id: string }>`SELECT id FROM profiles WHERE age >= 30
        ORDER BY ${key} ${direction}, id ${direction}`.execute(api.db.db)).rows.map((r) => r.id)
      for (let page = 1; page < 500; page++) {
        const { body } = await get(`/api/profiles?limit=37&page=${page}&sort_by=${column}&order=${order}&min_age=30`)
        seen.push(...(body.data as { id: string }[]).map((p) => p.id))
        if (body.links.next === null) break
      }
      t.ok(expected.length > 100, 'enough rows for a back half')
      t.same(seen, expected, `sort_by=${column}&order=${order}: every page in order`)
    }
  }
})

t.test('every total equals count(*) for random filters after inserts, deletes, imports and updates', async (t) => {
  const random = prng(13)
  const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)]
  async function checkRandomFilters(when: string, n = 40) {
    let mismatches = 0
    for (let i = 0; i < n; i++) {
      const params = new URLSearchParams()
      const conditions = [sql`true`]
      if (random() < 0.4) {
        const g = pick(['male', 'female'])
        params.set('gender', g)
        conditions.push(sql`gender = ${g}`)
      }
      if (random() < 0.4) {
        const c = pick(COUNTRIES)
        params.set('country_id', c)
        conditions.push(sql`country_id = ${c}`)
      }
      if (random() < 0.3) {
        const group = pick(Object.keys(GROUPS))
        params.set('age_group', group)
        conditions.push(sql`age BETWEEN ${GROUPS[group][0]} AND ${GROUPS[group][1]}`)
      }
      if (random() < 0.3) {
        const min = Math.floor(random() * 80)
        params.set('min_age', String(min))
        conditions.push(sql`age >= ${min}`)
      }
      if (random() < 0.3) {
        const max = Math.floor(random() * 100)
        params.set('max_age', String(max))
        conditions.push(sql`age <= ${max}`)
      }
      if (random() < 0.5) {
        const p = t2(random())
        params.set('min_gender_probability', String(p))
        conditions.push(sql`gender_probability >= ${p}`)
      }
      if (random() < 0.4) {
        const p = t2(random())
        params.set('min_country_probability', String(p))
        conditions.push(sql`country_probability >= ${p}`)
      }
      const expected = Number(
        (await sql<{ n: string }>`SELECT count(*) AS n FROM profiles WHERE ${sql.join(conditions, sql` AND `)}`.execute(api.db.db)).rows[0].n,
      )
      // The same filter on another page and sort must not recount, and must agree.
      const first = await get(`/api/profiles?${params}`)
      const other = await get(`/api/profiles?${params}&page=${1 + Math.floor(random() * 5)}&sort_by=${pick(['age', 'name', 'created_at', 'gender_probability'])}&limit=7`)
      const stats = await get(`/api/profiles/stats?${params}`)
      if (first.body.total !== expected || other.body.total !== expected || stats.body.data.total !== expected) {
        mismatches++
        t.fail(`${when}: ?${params} → list ${first.body.total}, other page ${other.body.total}, stats ${stats.body.data.total}, count(*) ${expected}`)
      }
    }
    t.equal(mismatches, 0, `${when}: ${n} random filters exact`)
  }

  await checkRandomFilters('on the seed')
  const countries = ['NG', 'KE', 'GH', 'AO', 'ZA', 'EG', 'TZ']
  const batch: NewProfile[] = Array.from({ length: 400 }, (_, i) => {
    const age = Math.floor(random() * 100)
    const group = age <= 12 ? 'child' : age <= 19 ? 'teenager' : age <= 59 ? 'adult' : 'senior'
    return {
      id: newId(),
      name: `Totals Batch ${i}`,
      gender: random() < 0.5 ? 'male' : 'female',
      gender_probability: t2(random()),
      age,
      age_group: group,
      country_id: countries[i % countries.length],
      country_name: 'Somewhere',
      country_probability: t2(random()),
    }
  })
  t.equal(await insertProfilesBatch(api.db.db, batch), 400)
  await checkRandomFilters('after a batch insert')

  const victims = (await get('/api/profiles?limit=5&min_gender_probability=0.5')).body.data as { id: string }[]
  for (const v of victims) t.equal((await api.app.inject({ method: 'DELETE', url: `/api/profiles/${v.id}`, headers: admin })).statusCode, 204)
  await sql`DELETE FROM profiles WHERE id IN (SELECT id FROM profiles WHERE name LIKE 'Totals Batch %' ORDER BY id LIMIT 120)`.execute(api.db.db)
  await checkRandomFilters('after API and SQL deletes')

  let csv = 'name,gender,age,country_id,gender_probability,country_probability\n'
  for (let i = 0; i < 300; i++) csv += `Totals Import ${i},${random() < 0.5 ? 'male' : 'female'},${Math.floor(random() * 100)},${pick(countries)},${t2(random())},${t2(random())}\n`
  csv += 'Totals Import 0,male,30,NG,0.5,0.5\n' // a duplicate: skipped, not counted
  const imported = await importCsv(csv)
  t.equal(imported.body.inserted, 300)
  t.equal(imported.body.reasons.duplicate_name, 1)
  await checkRandomFilters('after an import')

  await sql`UPDATE profiles SET gender_probability = 1 - gender_probability WHERE name LIKE 'Totals Import %'`.execute(api.db.db)
  await checkRandomFilters('after a hand update of probabilities')

  await sql`TRUNCATE profiles`.execute(api.db.db)
  const empty = await get('/api/profiles?min_gender_probability=0.5')
  t.equal(empty.body.total, 0, 'after TRUNCATE')
  const unfiltered = await get('/api/profiles')
  t.equal(unfiltered.body.total, 0)
  const rollup = await sql<{ total: string }>`SELECT total FROM profile_totals`.execute(api.db.db)
  t.equal(Number(rollup.rows[0].total), 0, 'the rollup follows TRUNCATE')
})

t.test('a filter counted before: its pages in one statement with the generation, and a write elsewhere is seen at once', async (t) => {
  const base = '/api/profiles?gender=male&sort_by=age&order=asc&limit=5'
  const males = async () => Number((await sql<{ n: string }>`SELECT count(*) AS n FROM profiles WHERE gender = 'male'`.execute(api.db.db)).rows[0].n)
  async function agree(when: string) {
    // The reference: a new instance on the same database, which has counted nothing yet.
    const fresh = await buildTestApi(t, { db: api.db, env: { CACHE_TTL_SECONDS: '0' } })
    const freshHeaders = await fresh.headers('analyst')
    const total = await males()
    t.ok(total > 20, `${when}: enough rows for a back half`)
    const lastPage = Math.ceil(total / 5)
    for (const page of [1, 2, lastPage - 1, lastPage]) {
      const url = `${base}&page=${page}`
      const mine = await get(url)
      const theirs = (await fresh.app.inject({ method: 'GET', url, headers: freshHeaders })).json()
      t.equal(mine.body.total, total, `${when}: page ${page} total is count(*)`)
      t.same(mine.body.data.map((p: { id: string }) => p.id), theirs.data.map((p: { id: string }) => p.id), `${when}: page ${page} rows`)
    }
  }
  const rows: NewProfile[] = Array.from({ length: 60 }, (_, i) => ({
    id: newId(), name: `Generation Row ${i}`, gender: 'male', gender_probability: 0.9, age: i % 7, age_group: 'child',
    country_id: 'NG', country_name: 'Nigeria', country_probability: 0.5,
  }))
  t.equal(await insertProfilesBatch(api.db.db, rows), 60)
  await get(`${base}&page=1`) // counted here: later pages read the generation with their rows
  await agree('counted')
  const victim = (await get(`${base}&page=3`)).body.data[0].id
  await sql`DELETE FROM profiles WHERE id = ${victim}`.execute(api.db.db) // another instance's write
  await agree('after a delete elsewhere')
  await sql`INSERT INTO profiles (id, name, gender, gender_probability, age, age_group, country_id, country_name, country_probability)
    VALUES (${newId()}, 'Generation Check', 'male', 0.9, 1, 'child', 'NG', 'Nigeria', 0.9)`.execute(api.db.db)
  await agree('after an insert elsewhere')
})
