/** npm run migrate — bring the configured database (DATABASE_URL, or the embedded one) to the latest schema. */
import { loadApiConfig } from '../api/config.ts'
import { openDatabase } from '../db/connect.ts'

const config = loadApiConfig()
const database = await openDatabase({
  databaseUrl: config.databaseUrl,
  dataDir: config.dataDir,
  poolMax: 1,
  migrate: false,
  // while npm start runs: through its advertised loopback socket, not a second opener
  attachToRunning: true,
  log: (m) => console.log(m),
})
try {
  const { migrateToLatest } = await import('../db/migrate.ts')
  const results = await migrateToLatest(database.db)
  for (const r of results) console.log(`${r.status === 'Success' ? 'applied' : r.status}: ${r.migrationName}`)
  if (results.length === 0) console.log('schema is up to date')
} finally {
  await database.close()
}
