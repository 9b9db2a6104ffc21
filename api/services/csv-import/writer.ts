import { setTimeout as sleep } from 'node:timers/promises'
import type { Kysely } from 'kysely'
import { newId } from '../../../contract/ids.ts'
import { MAX_REJECTS_LISTED, REJECTS_RETENTION_HOURS, type ReasonKey, type RejectedRow } from '../../../contract/import-report.ts'
import type { Database } from '../../../db/index.ts'
import { createImport, insertImportRejects } from '../../../db/repositories/imports.ts'
import { insertProfilesBatch, storedProfileIds, type NewProfile } from '../../../db/repositories/profiles.ts'

/**
 * The writer of the CSV import (docs/import.md): profile batches, each one INSERT … ON CONFLICT DO
 * NOTHING statement retried on a deadlock, and the log of rejected rows — the first
 * MAX_REJECTS_LISTED for the report, all of them stored for download.
 */

const RETRYABLE_SQLSTATES = new Set(['40P01', '40001']) // deadlock, serialization failure
const MAX_ATTEMPTS = 5

/**
 * One batch, one statement: committed whole or not at all, so a failed attempt can simply be
 * retried. Answers how many were inserted and, when some were not, which: the duplicates.
 *
 * The batch's rows carry ids made here, so after the statement a row is stored exactly when its id
 * is: a batch without duplicates (nearly all) costs no more than its INSERT, and one with
 * duplicates one more indexed lookup. (`RETURNING id` on every batch cost ~8 % of the INSERT.) A
 * row deleted in the milliseconds between the two would be listed as a duplicate while counted as
 * inserted; the counts stay the statement's own.
 */
export async function insertBatch(db: Kysely<Database>, rows: readonly NewProfile[]): Promise<{ inserted: number; duplicates: number[] }> {
  const inserted = await insertRetried(db, rows)
  if (inserted === rows.length) return { inserted, duplicates: [] }
  const stored = await storedProfileIds(db, rows.map((r) => r.id))
  const duplicates: number[] = []
  rows.forEach((row, i) => {
    if (!stored.has(row.id)) duplicates.push(i)
  })
  return { inserted, duplicates }
}

async function insertRetried(db: Kysely<Database>, rows: readonly NewProfile[]): Promise<number> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await insertProfilesBatch(db, rows)
    } catch (error) {
      const code = (error as { code?: unknown }).code
      if (attempt >= MAX_ATTEMPTS || typeof code !== 'string' || !RETRYABLE_SQLSTATES.has(code)) throw error
      await sleep(Math.round(Math.random() * 50 * attempt))
    }
  }
}

/** Rejects held before they are stored: a few hundred KB at most. */
const STORE_EVERY_ROWS = 1000
const STORE_EVERY_CHARS = 512 * 1024

/**
 * The rejected rows of one import. Rows arrive nearly in line order (duplicates come when their
 * batch commits, possibly after later lines were rejected), so `listed()` sorts. Stored rows wait in
 * `pending` until `store()`; the import awaits it when `full`, which bounds what is held.
 */
export class RejectLog {
  readonly importId = newId()
  private listedRows: RejectedRow[] = []
  private pending: RejectedRow[] = []
  private pendingChars = 0
  private created = false
  private writing: Promise<void> = Promise.resolve()

  constructor(
    private readonly db: Kysely<Database>,
    private readonly userId: string,
  ) {}

  add(line: number, reason: ReasonKey, raw: string): void {
    const row = { line, reason, raw }
    this.listedRows.push(row)
    if (this.listedRows.length >= 2 * MAX_REJECTS_LISTED) this.listedRows = firstByLine(this.listedRows)
    this.pending.push(row)
    this.pendingChars += raw.length
  }

  get full(): boolean {
    return this.pending.length >= STORE_EVERY_ROWS || this.pendingChars >= STORE_EVERY_CHARS
  }

  /** Writes what is pending (one statement; stores run one after another). */
  store(): Promise<void> {
    if (this.pending.length === 0) return this.writing
    const rows = this.pending
    this.pending = []
    this.pendingChars = 0
    this.writing = this.writing.then(async () => {
      if (!this.created) {
        await createImport(this.db, this.importId, this.userId, new Date(Date.now() + REJECTS_RETENTION_HOURS * 3600_000))
        this.created = true
      }
      await insertImportRejects(this.db, this.importId, rows)
    })
    return this.writing
  }

  /** The first MAX_REJECTS_LISTED rejects by line. */
  listed(): RejectedRow[] {
    this.listedRows = firstByLine(this.listedRows)
    return this.listedRows.map((r) => ({ ...r }))
  }

  /** Where all of them can be downloaded, once stored; null when there are none. */
  get downloadPath(): string | null {
    return this.created ? `/api/profiles/imports/${this.importId}/rejects` : null
  }
}

function firstByLine(rows: RejectedRow[]): RejectedRow[] {
  return rows.sort((a, b) => a.line - b.line).slice(0, MAX_REJECTS_LISTED)
}
