import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Kysely } from 'kysely'
import { newId } from '../../contract/ids.ts'
import { insertProfilesBatch, type NewProfile } from '../repositories/profiles.ts'
import type { Database } from '../types.ts'

/** The seed shipped with the product: a byte-identical copy of the 2026 reference profiles. */
export const SEED_FILE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'profiles.json')

export interface SeedProfile {
  name: string
  gender: 'male' | 'female'
  gender_probability: number
  age: number
  age_group: 'child' | 'teenager' | 'adult' | 'senior'
  country_id: string
  country_name: string
  country_probability: number
}

export const SEED_BATCH_SIZE = 5000

export async function readSeedFile(file = SEED_FILE): Promise<SeedProfile[]> {
  const parsed = JSON.parse(await readFile(file, 'utf8')) as { profiles?: unknown }
  if (!Array.isArray(parsed.profiles)) throw new Error(`${file}: expected {"profiles":[…]}`)
  return parsed.profiles as SeedProfile[]
}

/**
 * Inserts profiles in batches of one statement each, skipping names already present, so running it
 * twice adds nothing. v7 ids are generated in order, so a batch lands at the end of the id index.
 */
export async function insertSeedProfiles(
  db: Kysely<Database>,
  profiles: Iterable<SeedProfile & { created_at?: Date }>,
  options: { batchSize?: number; concurrency?: number } = {},
): Promise<{ inserted: number; skipped: number }> {
  const batchSize = options.batchSize ?? SEED_BATCH_SIZE
  // Batches in flight at once: with 2, the next batch is built while the database writes the last.
  const concurrency = options.concurrency ?? 1
  let inserted = 0
  let seen = 0
  let batch: NewProfile[] = []
  const inFlight = new Set<Promise<void>>()
  const flush = async () => {
    if (batch.length === 0) return
    const rows = batch
    batch = []
    const write: Promise<void> = insertProfilesBatch(db, rows).then((n) => {
      inserted += n
      inFlight.delete(write)
    })
    write.catch(() => {}) // handled below through race/all; this only stops an "unhandled rejection"
    inFlight.add(write)
    if (inFlight.size >= concurrency) await Promise.race(inFlight)
  }
  for (const p of profiles) {
    seen++
    batch.push({
      id: p.created_at ? newId(p.created_at.getTime()) : newId(),
      name: p.name.trim(),
      gender: p.gender,
      gender_probability: p.gender_probability,
      age: p.age,
      age_group: p.age_group,
      country_id: p.country_id,
      country_name: p.country_name,
      country_probability: p.country_probability,
    })
    if (batch.length >= batchSize) await flush()
  }
  await flush()
  await Promise.all(inFlight)
  return { inserted, skipped: seen - inserted }
}

export async function seedFromFile(db: Kysely<Database>, file = SEED_FILE) {
  return insertSeedProfiles(db, await readSeedFile(file))
}

export async function isProfilesTableEmpty(db: Kysely<Database>): Promise<boolean> {
  const row = await db.selectFrom('profiles').select('id').limit(1).executeTakeFirst()
  return row === undefined
}
