import { Kysely, PostgresDialect } from 'kysely'
import pg from 'pg'
import type { Database } from './types.ts'

export type { Database } from './types.ts'

export interface DbConfig {
  databaseUrl: string
  /** pool size; the embedded database multiplexes one session, so it runs with 1 */
  poolMax: number
  /** abort a statement that runs longer than this (ms); 0 disables */
  statementTimeoutMs?: number
  /** how long to wait for a free connection or a TCP connect before failing (ms) */
  connectionTimeoutMs?: number
}

export interface Db {
  db: Kysely<Database>
  pool: pg.Pool
  close(): Promise<void>
}

// int8 (count(*)) and numeric arrive as strings by default; every such value here fits a double.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v))
pg.types.setTypeParser(pg.types.builtins.NUMERIC, (v) => Number(v))

/**
 * A pg pool on the database. createDb builds the main one; the API builds a second, small one for
 * exports (their own connection budget, api/services/export-csv.ts) with the same settings.
 */
export function createPool(config: DbConfig & { applicationName?: string }): pg.Pool {
  const pool = new pg.Pool({
    connectionString: config.databaseUrl,
    max: config.poolMax,
    connectionTimeoutMillis: config.connectionTimeoutMs ?? 5000,
    idleTimeoutMillis: 30_000,
    statement_timeout: config.statementTimeoutMs || undefined,
    application_name: config.applicationName ?? 'insighta',
  })
  // A dropped connection (database restarted, network cut) must not crash the process. Idle clients
  // report through the pool; a checked-out client emits 'error' itself while its query also fails,
  // and pg-pool discards it on release because it is no longer queryable.
  pool.on('error', () => {})
  pool.on('connect', (client) => client.on('error', () => {}))
  return pool
}

export function createDb(config: DbConfig): Db {
  const pool = createPool(config)
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) })
  return {
    db,
    pool,
    async close() {
      await db.destroy()
    },
  }
}
