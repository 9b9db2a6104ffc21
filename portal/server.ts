import closeWithGrace from 'close-with-grace'
import type { FastifyInstance } from 'fastify'
import { openDatabase, type OpenDatabase } from '../db/connect.ts'
import { buildPortalApp } from './app.ts'
import { loadPortalConfig, type PortalConfig } from './config.ts'

export interface RunningPortal {
  app: FastifyInstance
  database: OpenDatabase
  /** the address it listens on */
  url: string
  /** the address browsers use (PORTAL_PUBLIC_URL) */
  publicUrl: string
  close(): Promise<void>
}

/**
 * Opens the database (embedded when DATABASE_URL is unset), migrates and listens. `database` may be
 * passed in when the API and the portal share one embedded database in one process (`npm start`).
 */
export async function startPortal(config: PortalConfig, shared?: OpenDatabase): Promise<RunningPortal> {
  const database =
    shared ??
    (await openDatabase({
      databaseUrl: config.databaseUrl,
      dataDir: config.dataDir,
      poolMax: config.databaseUrl ? config.dbPoolMax : 4,
      statementTimeoutMs: config.dbStatementTimeoutMs,
      log: (m) => console.log(`[db] ${m}`),
    }))
  const app = await buildPortalApp({ config, db: database })
  const url = await app.listen({ host: config.host, port: config.port })
  return {
    app,
    database,
    url,
    publicUrl: config.publicUrl,
    async close() {
      await app.close()
      if (!shared) await database.close()
    },
  }
}

// Run directly: `tsx portal/server.ts`
if (import.meta.url === `file://${process.argv[1]}`) {
  const config = loadPortalConfig()
  const running = await startPortal(config)
  console.log(`Portal listening on ${running.url} (open ${running.publicUrl})`)
  closeWithGrace({ delay: 10_000 }, async ({ err }) => {
    if (err) running.app.log.error({ err }, 'shutting down after an error')
    await running.close()
  })
}
