import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { createDb, type Db } from '../../db/index.ts'
import { startEmbeddedPostgres } from '../../db/embedded.ts'
import { migrateToLatest } from '../../db/migrate.ts'
import { seedFromFile } from '../../db/seed/seed.ts'

/** The slice of a tap Test these helpers need (teardown registration). */
export interface Teardown {
  teardown(fn: () => unknown): void
}

export interface TestDatabase extends Db {
  url: string
  /** 'server' when DATABASE_URL points at a real Postgres, else 'embedded' */
  kind: 'server' | 'embedded'
}

/**
 * A fresh, migrated database for one test file: a new database on the server named by DATABASE_URL
 * (dropped afterwards), or an in-memory embedded PGlite when DATABASE_URL is unset.
 */
export async function createTestDatabase(
  t: Teardown,
  options: { seed?: boolean; poolMax?: number; migrate?: boolean } = {},
): Promise<TestDatabase> {
  const serverUrl = process.env.DATABASE_URL
  let url: string
  let dispose: () => Promise<void>
  let kind: TestDatabase['kind']
  if (serverUrl) {
    kind = 'server'
    const name = `insighta_test_${randomBytes(6).toString('hex')}`
    const admin = new pg.Client({ connectionString: serverUrl })
    await admin.connect()
    await admin.query(`CREATE DATABASE ${name}`)
    await admin.end()
    const u = new URL(serverUrl)
    u.pathname = `/${name}`
    url = u.toString()
    dispose = async () => {
      const c = new pg.Client({ connectionString: serverUrl })
      await c.connect()
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
      await c.end()
    }
  } else {
    kind = 'embedded'
    const embedded = await startEmbeddedPostgres()
    url = embedded.url
    dispose = () => embedded.close()
  }
  const db = createDb({ databaseUrl: url, poolMax: options.poolMax ?? (kind === 'server' ? 10 : 4) })
  if (options.migrate !== false) await migrateToLatest(db.db)
  if (options.seed) await seedFromFile(db.db)
  t.teardown(async () => {
    await db.close()
    await dispose()
  })
  return { ...db, url, kind }
}
