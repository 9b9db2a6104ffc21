import { createDb, type Db } from './index.ts'
import { runningEmbedded, startEmbeddedPostgres, type EmbeddedPostgres } from './embedded.ts'
import { migrateToLatest } from './migrate.ts'
import { isProfilesTableEmpty, seedFromFile } from './seed/seed.ts'

export interface OpenDatabaseOptions {
  /** a real server; when absent the embedded database under dataDir is started */
  databaseUrl?: string
  dataDir: string
  poolMax: number
  statementTimeoutMs?: number
  /** wait this long for a free pooled connection or a TCP connect (ms) */
  connectionTimeoutMs?: number
  /** run migrations (default true) */
  migrate?: boolean
  /** seed the shipped profiles when the table is empty (default false) */
  seedIfEmpty?: boolean
  log?: (message: string) => void
  /**
   * Operator commands: when another live process serves the embedded database in dataDir, use it
   * through the loopback URL it advertises in its lock file (no migrations: the owner ran them).
   */
  attachToRunning?: boolean
}

export interface OpenDatabase extends Db {
  url: string
  embedded: EmbeddedPostgres | undefined
}

/** Opens the configured database (starting the embedded one if needed), migrated and optionally seeded. */
export async function openDatabase(options: OpenDatabaseOptions): Promise<OpenDatabase> {
  const log = options.log ?? (() => {})
  let embedded: EmbeddedPostgres | undefined
  let url = options.databaseUrl
  let attached = false
  if (!url && options.attachToRunning) {
    const owner = runningEmbedded(options.dataDir)
    if (owner && !owner.url) {
      throw new Error(`the embedded database in ${options.dataDir} is being opened by process ${owner.pid}: retry once it is ready`)
    }
    if (owner?.url) {
      url = owner.url
      attached = true
      log(`using the embedded database served by the running process ${owner.pid}`)
    }
  }
  if (!url) {
    embedded = await startEmbeddedPostgres({ dataDir: options.dataDir, log })
    url = embedded.url
    log(`embedded database ready at ${url.replace(/:[^:@/]*@/, ':***@')}`)
  }
  const db = createDb({
    databaseUrl: url,
    poolMax: options.poolMax,
    statementTimeoutMs: options.statementTimeoutMs,
    connectionTimeoutMs: options.connectionTimeoutMs,
  })
  try {
    if (options.migrate !== false && !attached) await migrateToLatest(db.db)
    if (options.seedIfEmpty && (await isProfilesTableEmpty(db.db))) {
      const { inserted } = await seedFromFile(db.db)
      log(`seeded ${inserted} profiles`)
    }
  } catch (error) {
    await db.close().catch(() => {})
    await embedded?.close().catch(() => {})
    throw error
  }
  return {
    ...db,
    url,
    embedded,
    async close() {
      await db.close()
      await embedded?.close()
    },
  }
}
