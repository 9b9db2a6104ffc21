import { v7 as uuidv7 } from 'uuid'
import pg from 'pg'
import { readSeedFile } from '../db/seed/seed.ts'
import { syntheticProfiles } from '../db/seed/synthetic.ts'
const pool = new pg.Pool({ connectionString: 'postgres://postgres:postgres@127.0.0.1:5432/insighta_import_scratch', max: 1 })
const seed = await readSeedFile()
const rows = [...syntheticProfiles(seed, { count: 5000, seed: 11 })].map((p) => ({ ...p, id: uuidv7(), name: p.name.replace(/ (\S+)$/, ' Q. $1') }))
if (process.argv[2] === 'sorted') rows.sort((a, b) => (a.name.toLowerCase() < b.name.toLowerCase() ? -1 : 1))
const col = (k: keyof (typeof rows)[number]) => rows.map((r) => r[k])
const now = new Date().toISOString()
const text = `INSERT INTO profiles (id, name, gender, gender_probability, age, age_group, country_id, country_name, country_probability, created_at)
  SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::float8[], $5::int[], $6::text[], $7::text[], $8::text[], $9::float8[], $10::timestamptz[])
  ON CONFLICT (lower(name)) DO NOTHING`
const params = [col('id'), col('name'), col('gender'), col('gender_probability'), col('age'), col('age_group'), col('country_id'), col('country_name'), col('country_probability'), rows.map(() => now)]
const c = await pool.connect()
for (let i = 0; i < 3; i++) {
  await c.query('BEGIN')
  let s = performance.now()
  const r = await c.query('EXPLAIN (ANALYZE, BUFFERS, WAL) ' + text, params)
  const wall = performance.now() - s
  console.log('explain wall', wall.toFixed(0), r.rows.map((x) => x['QUERY PLAN']).filter((l: string) => /Execution|WAL|Trigger|Insert on|Function Scan/.test(l)).join(' | '))
  await c.query('ROLLBACK')
  await c.query('BEGIN')
  s = performance.now()
  await c.query(text, params)
  console.log('plain wall', (performance.now() - s).toFixed(0))
  await c.query('ROLLBACK')
  s = performance.now()
  await c.query('SELECT count(*) FROM unnest($1::uuid[], $2::text[], $3::text[], $4::float8[], $5::int[], $6::text[], $7::text[], $8::text[], $9::float8[], $10::timestamptz[])', params)
  console.log('unnest only wall', (performance.now() - s).toFixed(0))
}
c.release()
await pool.end()
