import closeWithGrace from 'close-with-grace'
import type { FastifyInstance } from 'fastify'
import { openDatabase, type OpenDatabase } from '../db/connect.ts'
import { buildApiApp } from './app.ts'
import { loadApiConfig, type ApiConfig } from './config.ts'

export interface RunningApi {
  app: FastifyInstance
  database: OpenDatabase
  url: string
  close(): Promise<void>
}

/**
 * Opens the database (embedded when DATABASE_URL is unset), migrates, seeds an empty profiles table
 * and listens. `database` may be passed in when several apps share one embedded database.
 */
export async function startApi(config: ApiConfig, shared?: OpenDatabase): Promise<RunningApi> {
  const database =
    shared ??
    (await openDatabase({
      databaseUrl: config.databaseUrl,
      dataDir: config.dataDir,
      poolMax: config.databaseUrl ? config.dbPoolMax : 4,
      statementTimeoutMs: config.dbStatementTimeoutMs,
      connectionTimeoutMs: config.dbAcquireTimeoutMs,
      seedIfEmpty: true,
      log: (m) => console.log(`[db] ${m}`),
    }))
  const app = await buildApiApp({ config, db: database })
  const url = await app.listen({ host: config.host, port: config.port })
  return {
    app,
    database,
    url,
    async close() {
      await app.close()
      if (!shared) await database.close()
    },
  }
}

// Run directly: `tsx api/server.ts`
if (import.meta.url === `file://${process.argv[1]}`) {
  const config = loadApiConfig()
  const running = await startApi(config)
  console.log(`API listening on ${running.url} (OpenAPI at ${running.url}/docs)`)
  closeWithGrace({ delay: 10_000 }, async ({ err }) => {
    if (err) running.app.log.error({ err }, 'shutting down after an error')
    await running.close()
  })
}
