import { Type, type Static } from 'typebox'

/**
 * The import report's shape (contract §3 "Import"): what POST /api/profiles/import answers and what
 * its clients (the portal, the CLI's table, the benchmark) read. Free of dependencies, so the
 * portal imports it without loading the importer.
 */
export const REASON_KEYS = [
  'duplicate_name',
  'invalid_age',
  'invalid_gender',
  'invalid_country',
  'invalid_probability',
  'missing_fields',
  'malformed_row',
] as const
export type ReasonKey = (typeof REASON_KEYS)[number]

/** The report's wire schema; every reason key is always present. */
export const ImportReportSchema = Type.Object({
  total_rows: Type.Integer({ description: 'data rows read (blank lines not counted)' }),
  inserted: Type.Integer(),
  skipped: Type.Integer({ description: 'total_rows − inserted; every skipped row has exactly one reason' }),
  reasons: Type.Object({
    duplicate_name: Type.Integer({ description: 'the name (trimmed, any case) exists already or earlier in the file' }),
    invalid_age: Type.Integer(),
    invalid_gender: Type.Integer(),
    invalid_country: Type.Integer(),
    invalid_probability: Type.Integer(),
    missing_fields: Type.Integer(),
    malformed_row: Type.Integer({ description: 'wrong number of fields, not UTF-8 text, control characters, a name over 200 characters, or a record over 64 KiB' }),
  }),
})
export type ImportReport = Static<typeof ImportReportSchema>

export function emptyReport(): ImportReport {
  const reasons = Object.fromEntries(REASON_KEYS.map((k) => [k, 0])) as Record<ReasonKey, number>
  return { total_rows: 0, inserted: 0, skipped: 0, reasons }
}
