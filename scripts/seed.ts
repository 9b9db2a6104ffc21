/**
 * npm run seed                              — load the shipped 2026 profiles (idempotent)
 * npm run seed -- --synthetic 1000000       — add N realistic synthetic profiles (benchmarks)
 * npm run seed -- --file other.json         — load another {"profiles":[…]} file
 */
import { parseArgs } from 'node:util'
import { loadApiConfig } from '../api/config.ts'
import { openDatabase } from '../db/connect.ts'
import { readSeedFile, insertSeedProfiles, SEED_FILE } from '../db/seed/seed.ts'
import { syntheticProfiles } from '../db/seed/synthetic.ts'

const { values } = parseArgs({
  options: { synthetic: { type: 'string' }, file: { type: 'string' }, 'random-seed': { type: 'string' } },
})
const config = loadApiConfig()
const database = await openDatabase({
  databaseUrl: config.databaseUrl,
  dataDir: config.dataDir,
  poolMax: 2,
  // while npm start runs: through its advertised loopback socket, not a second opener
  attachToRunning: true,
  log: (m) => console.log(m),
})
try {
  const started = performance.now()
  let result: { inserted: number; skipped: number }
  if (values.synthetic !== undefined) {
    const count = Number(values.synthetic)
    if (!Number.isInteger(count) || count < 1) throw new Error('--synthetic takes a positive whole number')
    const seed = await readSeedFile(SEED_FILE)
    result = await insertSeedProfiles(
      database.db,
      syntheticProfiles(seed, { count, seed: Number(values['random-seed'] ?? 42) }),
      { concurrency: config.databaseUrl ? 2 : 1 },
    )
  } else {
    result = await insertSeedProfiles(database.db, await readSeedFile(values.file ?? SEED_FILE))
  }
  const seconds = (performance.now() - started) / 1000
  console.log(
    `inserted ${result.inserted}, skipped ${result.skipped} existing names in ${seconds.toFixed(1)} s` +
      (result.inserted > 0 ? ` (${Math.round(result.inserted / seconds)} rows/s)` : ''),
  )
} finally {
  await database.close()
}
