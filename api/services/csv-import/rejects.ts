import type { Kysely } from 'kysely'
import type { Database } from '../../../db/index.ts'
import { findLiveImport, importRejectsAfter } from '../../../db/repositories/imports.ts'
import { csvLine, neutraliseFormula } from '../csv.ts'

/** Rejects read per query: each page is its own short query, so a slow reader holds no connection. */
const PAGE = 2000

/**
 * The CSV of every row an import skipped (`line,reason,raw`, RFC 4180, CRLF), for the admin who
 * imported while it is kept; undefined when there is no such import for them (or it expired).
 */
export async function importRejectsCsv(
  db: Kysely<Database>,
  importId: string,
  userId: string,
  options: { neutraliseFormulas: boolean },
): Promise<AsyncGenerator<string> | undefined> {
  if (!(await findLiveImport(db, importId, userId))) return undefined
  const raw = options.neutraliseFormulas ? neutraliseFormula : (value: string) => value
  return (async function* () {
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
  })()
}
