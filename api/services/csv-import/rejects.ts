import type { Kysely } from 'kysely'
import { MAX_REJECTS_LISTED, type ReasonKey, type RejectedRow } from '../../../contract/import-report.ts'
import type { Database } from '../../../db/index.ts'
import { countImportRejects, findLiveImport, importRejectsAfter } from '../../../db/repositories/imports.ts'
import { csvLine, neutraliseFormula } from '../csv.ts'

/** Rejects read per query: each page is its own short query, so a slow reader holds no connection. */
const PAGE = 2000

/** Whether `userId` ran import `importId` and its rejects are still kept. */
export function ownsLiveImport(db: Kysely<Database>, importId: string, userId: string): Promise<boolean> {
  return findLiveImport(db, importId, userId)
}

/** The first MAX_REJECTS_LISTED rejects of an import, and how many there are. */
export async function firstImportRejects(db: Kysely<Database>, importId: string): Promise<{ data: RejectedRow[]; total: number }> {
  const [rows, total] = await Promise.all([importRejectsAfter(db, importId, 0, MAX_REJECTS_LISTED), countImportRejects(db, importId)])
  return { data: rows.map((r) => ({ line: r.line, reason: r.reason as ReasonKey, raw: r.raw })), total }
}

/** The CSV of every row an import skipped (`line,reason,raw`, RFC 4180, CRLF), read a page at a time. */
export async function* importRejectsCsv(
  db: Kysely<Database>,
  importId: string,
  options: { neutraliseFormulas: boolean },
): AsyncGenerator<string> {
  const raw = options.neutraliseFormulas ? neutraliseFormula : (value: string) => value
  yield csvLine(['line', 'reason', 'raw'])
  for (let after = 0; ; ) {
    const rows = await importRejectsAfter(db, importId, after, PAGE)
    if (rows.length === 0) return
    let chunk = ''
    for (const row of rows) chunk += csvLine([row.line, row.reason, raw(row.raw)])
    yield chunk
    if (rows.length < PAGE) return
    after = rows[rows.length - 1].line
  }
}
