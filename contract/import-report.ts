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

/** Rejected rows listed in the report itself, in file order; all of them are in `links.rejects`. */
export const MAX_REJECTS_LISTED = 1000
/** A rejected row's `raw` text is cut to this many characters, ending in "…" when cut. */
export const MAX_RAW_CHARS = 1024
/** How long the CSV of an import's rejected rows can be downloaded. */
export const REJECTS_RETENTION_HOURS = 24

export const RejectedRowSchema = Type.Object({
  line: Type.Integer({ minimum: 1, description: "the file's line the row starts on; the header is line 1" }),
  reason: Type.Union(
    [
      Type.Literal('duplicate_name'),
      Type.Literal('invalid_age'),
      Type.Literal('invalid_gender'),
      Type.Literal('invalid_country'),
      Type.Literal('invalid_probability'),
      Type.Literal('missing_fields'),
      Type.Literal('malformed_row'),
    ],
    { description: 'the reason key it is counted under' },
  ),
  raw: Type.String({ description: `the row as the file has it, up to ${MAX_RAW_CHARS} characters` }),
})
export type RejectedRow = Static<typeof RejectedRowSchema>

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
  rejected: Type.Array(RejectedRowSchema, {
    maxItems: MAX_REJECTS_LISTED,
    description: `the first ${MAX_REJECTS_LISTED} skipped rows in file order (additive to contract §3)`,
  }),
  links: Type.Object({
    rejects: Type.Union([Type.String(), Type.Null()], {
      description: `relative URL of a CSV (line,reason,raw) of every skipped row, for ${REJECTS_RETENTION_HOURS} hours to the admin who imported; null when none was skipped`,
    }),
  }),
})
export type ImportReport = Static<typeof ImportReportSchema>

export function emptyReport(): ImportReport {
  const reasons = Object.fromEntries(REASON_KEYS.map((k) => [k, 0])) as Record<ReasonKey, number>
  return { total_rows: 0, inserted: 0, skipped: 0, reasons, rejected: [], links: { rejects: null } }
}
