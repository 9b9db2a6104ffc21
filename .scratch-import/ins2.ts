import { v7 as uuidv7 } from 'uuid'
import { sql } from 'kysely'
import { createDb } from '../db/index.ts'
import { insertProfilesBatch, type NewProfile } from '../db/repositories/profiles.ts'
import { readSeedFile } from '../db/seed/seed.ts'
import { syntheticProfiles } from '../db/seed/synthetic.ts'
const db = createDb({ databaseUrl: 'postgres://postgres:postgres@127.0.0.1:5432/insighta_import_scratch', poolMax: 2 })
const seed = await readSeedFile()
const letter = process.argv[2] ?? 'Q'
const rows: NewProfile[] = []
for (const p of syntheticProfiles(seed, { count: 50000, seed: 9 })) rows.push({ ...p, id: uuidv7(), name: p.name.replace(/ (\S+)$/, ` ${letter}. $1`), created_at: new Date() })
const times: number[] = []
for (let i = 0; i < rows.length; i += 5000) {
  const s = performance.now()
  await insertProfilesBatch(db.db, rows.slice(i, i + 5000))
  times.push(Math.round(performance.now() - s))
}
console.log('insertProfilesBatch autocommit ms per 5000:', times.join(' '))
// server-side only: time of the statement with the params already there? use EXPLAIN ANALYZE on the same statement shape
await sql`DELETE FROM profiles WHERE name ~ ${String.raw`^\S+ [A-Z]\. [A-Z]\. \S+$`}`.execute(db.db)
await db.close()
