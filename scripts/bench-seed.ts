/** npm run bench -- seed — seeding N synthetic profiles into an empty database (target: 1M in ≤ 60 s). */
import pg from 'pg'
import { createDb } from '../db/index.ts'
import { migrateToLatest } from '../db/migrate.ts'
import { insertSeedProfiles, readSeedFile } from '../db/seed/seed.ts'
import { syntheticProfiles } from '../db/seed/synthetic.ts'
import { BENCH_DATABASE_URL, machineLine } from './bench-support.ts'

export async function benchSeed(options: { rows?: number } = {}): Promise<{ rows: number; seconds: number }> {
  const rows = options.rows ?? 1_000_000
  console.log(`machine: ${machineLine()}`)
  const url = new URL(BENCH_DATABASE_URL)
  // A scratch database beside the bench database (its name + _seed), created and dropped here.
  const scratch = `${url.pathname.slice(1).replace(/\W/g, '')}_seed`
  url.pathname = `/${scratch}`
  const admin = new URL(BENCH_DATABASE_URL)
  admin.pathname = '/postgres'
  const c = new pg.Client({ connectionString: admin.toString() })
  await c.connect()
  await c.query(`DROP DATABASE IF EXISTS ${scratch} WITH (FORCE)`)
  await c.query(`CREATE DATABASE ${scratch}`)
  await c.end()
  const db = createDb({ databaseUrl: url.toString(), poolMax: 2 })
  try {
    await migrateToLatest(db.db)
    const seed = await readSeedFile()
    const started = performance.now()
    const result = await insertSeedProfiles(db.db, syntheticProfiles(seed, { count: rows }), { concurrency: 2 })
    const s = (performance.now() - started) / 1000
    console.log(`seeded ${result.inserted} profiles in ${s.toFixed(1)} s (${Math.round(result.inserted / s)} rows/s); target 1M ≤ 60 s`)
    return { rows: result.inserted, seconds: s }
  } finally {
    await db.close()
    const d = new pg.Client({ connectionString: admin.toString() })
    await d.connect()
    await d.query(`DROP DATABASE IF EXISTS ${scratch} WITH (FORCE)`)
    await d.end()
  }
}
