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

export interface ImportReport {
  total_rows: number
  inserted: number
  skipped: number
  reasons: Record<ReasonKey, number>
}

export function emptyReport(): ImportReport {
  const reasons = Object.fromEntries(REASON_KEYS.map((k) => [k, 0])) as Record<ReasonKey, number>
  return { total_rows: 0, inserted: 0, skipped: 0, reasons }
}
