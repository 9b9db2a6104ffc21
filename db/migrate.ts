import { promises as fs } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { FileMigrationProvider, Migrator, type Kysely, type MigrationResult } from 'kysely'

const migrationFolder = path.join(path.dirname(fileURLToPath(import.meta.url)), 'migrations')

/** Brings the schema to the newest migration; concurrent callers are serialised by Kysely's lock. */
export async function migrateToLatest<T>(db: Kysely<T>): Promise<MigrationResult[]> {
  const migrator = new Migrator({
    db,
    provider: new FileMigrationProvider({ fs, path, migrationFolder }),
  })
  const { error, results } = await migrator.migrateToLatest()
  if (error) throw error instanceof Error ? error : new Error(String(error))
  return results ?? []
}
