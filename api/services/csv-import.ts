import type { Readable } from 'node:stream'
import { setTimeout as sleep } from 'node:timers/promises'
import { parse as parseCsv } from 'csv-parse/sync'
import type { Kysely } from 'kysely'
import { newId } from '../../contract/ids.ts'
import type { Database } from '../../db/index.ts'
import { insertProfilesBatch, type NewProfile } from '../../db/repositories/profiles.ts'
import { ApiError } from '../errors.ts'
import { countryNameOf, isKnownCountryId } from '../../contract/countries.ts'
import { emptyReport, type ImportReport, type ReasonKey } from '../../contract/import-report.ts'
import { ageGroupOf } from '../../contract/profile-filter.ts'

/**
 * Bulk import of profiles from CSV (contract §3 "Import", docs/import.md): the file is parsed as a
 * stream, validated row by row and written in batches, each batch one INSERT … ON CONFLICT DO NOTHING
 * statement, so a batch is committed whole or not at all and nothing waits on a long transaction.
 * Pure of Fastify: the route hands it a byte stream and maps its errors.
 */


export const REQUIRED_COLUMNS = ['name', 'gender', 'age', 'country_id', 'gender_probability', 'country_probability'] as const
type RequiredColumn = (typeof REQUIRED_COLUMNS)[number]
type ColumnIndex = Record<RequiredColumn, number>

export const MAX_NAME_LENGTH = 200
/** No valid row comes near this; a longer record (e.g. an unclosed quote) is one malformed row. */
export const MAX_RECORD_BYTES = 64 * 1024
/**
 * Rows per INSERT. Throughput was flat from 2,500 to 10,000 on the bench (the database's index upkeep
 * dominates); smaller batches die young in V8's nursery, so the API's peak RSS during a 500k-row
 * import grew by ~45 MB at 2,000 against ~90 MB at 5,000.
 */
export const BATCH_SIZE = 2000

export interface CsvImportOptions {
  /** data rows accepted per file; one more and the import stops (413) */
  maxRows: number
  batchSize?: number
  maxRecordBytes?: number
  /** batches written at once (default 1; the API passes IMPORT_WRITERS); the next batch is read meanwhile */
  concurrency?: number
}

/** A problem with the file as a whole, or a limit reached; `report` says what was committed before it. */
export class CsvImportError extends ApiError {
  constructor(
    statusCode: 400 | 408 | 413,
    message: string,
    readonly report?: ImportReport,
  ) {
    super(statusCode, message)
    this.name = 'CsvImportError'
  }
}

// ---------------------------------------------------------------------------------------------
// Records

const LF = 0x0a
const CR = 0x0d
const QUOTE = 0x22
const COMMA = 0x2c
const UTF8_BOM = Buffer.from([0xef, 0xbb, 0xbf])
const NEWLINE = Buffer.from('\n')
/** What a dropped record becomes: one field holding a NUL character, which no valid row has. */
const DROPPED_RECORD: readonly string[] = ['\u0000']
/** Bytes turned into records per step: records are made only as fast as rows are written. */
export const PIECE_BYTES = 8 * 1024

const FIELD_START = 0
const UNQUOTED = 1
const IN_QUOTES = 2
const QUOTE_SEEN = 3

/**
 * RFC 4180 records from a byte stream fed in pieces (UTF-8, optional BOM, LF or CRLF line ends).
 *
 * It finds where each record ends itself, with the quoting rules of csv-parse (relax_quotes: a stray
 * quote inside an unquoted field is literal), for two reasons measured on 500k-row files:
 * - recovery: a record longer than `maxRecordBytes` (a 10 MB line) or whose quote never closes
 *   becomes one malformed row and reading resumes on the next line. csv-parse's max_record_size
 *   error ends the whole parse (with skip_records_with_error it silently loses the rest of the
 *   file), and an unclosed quote swallows every later row.
 * - cost: csv-parse allocates a Buffer view per field (~1 KB per row), 3–4× the CPU and enough
 *   garbage to grow the API's heap by ~100 MB over a large import.
 * Records without a quote (nearly all) are split on commas here; runs of records holding quotes are
 * handed to csv-parse. Between pieces it holds at most one incomplete record.
 */
export class CsvRecordReader {
  /** records replaced by a malformed row: too long, or a quote never closed */
  dropped = 0
  private carry: Buffer | undefined
  private skipping = false
  private started = false
  /** the quoting state where the last scan stopped */
  private endState = FIELD_START

  constructor(private readonly maxRecordBytes = MAX_RECORD_BYTES) {}

  /** The records completed by `chunk`; a record still open waits for the next call. */
  feed(chunk: Buffer): string[][] {
    let buf = this.carry ? Buffer.concat([this.carry, chunk]) : chunk
    this.carry = undefined
    if (!this.started) {
      if (buf.length < UTF8_BOM.length && UTF8_BOM.subarray(0, buf.length).equals(buf)) {
        this.carry = buf
        return []
      }
      this.started = true
      if (buf.subarray(0, UTF8_BOM.length).equals(UTF8_BOM)) buf = buf.subarray(UTF8_BOM.length)
    }
    return this.frame(buf, false)
  }

  /** The last records, at the end of the input. */
  end(): string[][] {
    const buf = this.carry ?? Buffer.alloc(0)
    this.carry = undefined
    this.started = true
    return this.frame(buf, true)
  }

  private frame(buf: Buffer, final: boolean): string[][] {
    const records: string[][] = []
    let quoted: Buffer[] = []
    const flushQuoted = () => {
      if (quoted.length === 0) return
      for (const record of parseQuoted(quoted, this.maxRecordBytes)) records.push(record)
      quoted = []
    }
    const add = (from: number, to: number) => {
      flushQuoted()
      if (to > from) records.push(buf.toString('utf8', from, to).split(','))
    }
    const drop = () => {
      flushQuoted()
      records.push([...DROPPED_RECORD])
      this.dropped++
    }
    const n = buf.length
    const max = this.maxRecordBytes
    let pos = 0
    if (this.skipping) {
      const lf = buf.indexOf(LF)
      if (lf === -1) {
        if (final) this.skipping = false
        return records
      }
      this.skipping = false
      pos = lf + 1
    }
    let nextQuote = buf.indexOf(QUOTE, pos)
    while (pos < n) {
      if (nextQuote !== -1 && nextQuote < pos) nextQuote = buf.indexOf(QUOTE, pos)
      const limit = Math.min(n, pos + max + 2)
      const lf = buf.indexOf(LF, pos)
      const plain = nextQuote === -1 || (lf !== -1 && lf < nextQuote)
      let end: number
      if (plain) {
        end = lf !== -1 && lf < limit ? lf : -1
        this.endState = UNQUOTED
      } else {
        end = this.scanQuoted(buf, pos, limit)
      }
      if (end === -1) {
        const tooLong = n - pos >= max + 2
        if (!tooLong && !final) break // incomplete: wait for more bytes
        if (!tooLong && this.endState !== IN_QUOTES) {
          // the last record, without a line break
          const contentEnd = buf[n - 1] === CR ? n - 1 : n
          if (plain) add(pos, contentEnd)
          else quoted.push(buf.subarray(pos, contentEnd))
          pos = n
          break
        }
        // Too long or a quote never closed: one malformed row for the record's first line, and
        // reading resumes on the next line.
        drop()
        const resume = buf.indexOf(LF, pos)
        pos = resume === -1 ? n : resume + 1
        if (resume === -1 && !final) this.skipping = true
        continue
      }
      const contentEnd = end > pos && buf[end - 1] === CR ? end - 1 : end
      if (contentEnd - pos > max) drop()
      else if (plain) add(pos, contentEnd)
      else quoted.push(buf.subarray(pos, contentEnd))
      pos = end + 1
    }
    flushQuoted()
    if (pos < n) this.carry = Buffer.from(buf.subarray(pos))
    return records
  }

  /** The index of the line feed ending the record that starts at `pos`, or -1 before `limit`. */
  private scanQuoted(buf: Buffer, pos: number, limit: number): number {
    let state = FIELD_START
    for (let i = pos; i < limit; i++) {
      const c = buf[i]
      if (state === IN_QUOTES) {
        if (c === QUOTE) state = QUOTE_SEEN
        continue
      }
      if (c === LF) {
        this.endState = state
        return i
      }
      if (state === QUOTE_SEEN) {
        // a closing quote must be followed by a delimiter or a line end; csv-parse (relax_quotes)
        // otherwise ends the quoted part and reads on literally
        if (c === QUOTE) state = IN_QUOTES
        else if (c === COMMA) state = FIELD_START
        else if (c !== CR || (i + 1 < buf.length && buf[i + 1] !== LF)) state = UNQUOTED
      } else if (state === FIELD_START) {
        if (c === QUOTE) state = IN_QUOTES
        else if (c !== COMMA) state = UNQUOTED
      } else if (c === COMMA) {
        state = FIELD_START
      }
    }
    this.endState = state
    return -1
  }
}

/** Complete records that hold quotes, one per line given, parsed by csv-parse in one call. */
function parseQuoted(lines: Buffer[], maxRecordBytes: number): string[][] {
  const parts: Buffer[] = []
  for (const line of lines) parts.push(line, NEWLINE)
  try {
    return parseCsv(Buffer.concat(parts), {
      bom: true,
      relax_column_count: true,
      relax_quotes: true,
      skip_empty_lines: true,
      record_delimiter: '\n',
      max_record_size: maxRecordBytes + 1024,
    }) as string[][]
  } catch {
    // cannot happen for records framed as above; if it does, those rows are malformed, not fatal
    return lines.map(() => [...DROPPED_RECORD])
  }
}

/** The records of a byte stream, a piece at a time, pulled as the consumer is ready for them. */
export async function* csvRecords(source: AsyncIterable<Buffer>, maxRecordBytes = MAX_RECORD_BYTES): AsyncGenerator<string[][]> {
  const reader = new CsvRecordReader(maxRecordBytes)
  for await (const chunk of source) {
    for (let i = 0; i < chunk.length; i += PIECE_BYTES) yield reader.feed(chunk.subarray(i, i + PIECE_BYTES))
  }
  yield reader.end()
}

// ---------------------------------------------------------------------------------------------
// Header and rows

// eslint-disable-next-line no-control-regex -- control characters are what it looks for
const CONTROL_OR_REPLACEMENT = /[\u0000-\u001f\u007f-\u009f\ufffd]/
const AGE = /^\d{1,3}$/
const PROBABILITY = /^(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?$/
const COUNTRY = /^[A-Za-z]{2}$/

function readHeader(record: string[]): { columns: ColumnIndex; width: number } {
  const names = record.map((h) => h.trim().toLowerCase())
  if (names.some((h) => CONTROL_OR_REPLACEMENT.test(h))) {
    throw new CsvImportError(400, 'Not a CSV file: the header row is binary, not UTF-8 text, or longer than 64 KiB')
  }
  const missing = REQUIRED_COLUMNS.filter((c) => !names.includes(c))
  if (missing.length > 0) {
    const other = names.length === 1 ? /[;\t|]/.exec(names[0])?.[0] : undefined
    const hint = other ? ` (the header looks separated by ${other === '\t' ? 'tabs' : `"${other}"`}: use commas)` : ''
    throw new CsvImportError(400, `Missing required columns: ${missing.join(', ')}${hint}`)
  }
  const repeated = REQUIRED_COLUMNS.filter((c) => names.indexOf(c) !== names.lastIndexOf(c))
  if (repeated.length > 0) throw new CsvImportError(400, `Repeated columns: ${repeated.join(', ')}`)
  const columns = Object.fromEntries(REQUIRED_COLUMNS.map((c) => [c, names.indexOf(c)])) as ColumnIndex
  return { columns, width: names.length }
}

function isBlank(record: string[]): boolean {
  for (const field of record) if (field.trim() !== '') return false
  return true
}

function probability(text: string): number | undefined {
  if (!PROBABILITY.test(text)) return undefined
  const value = Number(text)
  return value >= 0 && value <= 1 ? value : undefined
}

export type ValidRow = Omit<NewProfile, 'id' | 'created_at'>

/** The row as a profile to insert, or the reason it is skipped (first failing check wins). */
export function validateRow(record: string[], columns: ColumnIndex, width: number): ValidRow | Exclude<ReasonKey, 'duplicate_name'> {
  if (record.length !== width) return 'malformed_row'
  const name = record[columns.name].trim()
  const gender = record[columns.gender].trim().toLowerCase()
  const ageText = record[columns.age].trim()
  const countryText = record[columns.country_id].trim()
  const genderProbability = record[columns.gender_probability].trim()
  const countryProbability = record[columns.country_probability].trim()
  if (!name || !gender || !ageText || !countryText || !genderProbability || !countryProbability) return 'missing_fields'
  if (CONTROL_OR_REPLACEMENT.test(name)) return 'malformed_row'
  if (name.length > MAX_NAME_LENGTH && [...name].length > MAX_NAME_LENGTH) return 'malformed_row'
  if (gender !== 'male' && gender !== 'female') return 'invalid_gender'
  if (!AGE.test(ageText)) return 'invalid_age'
  const age = Number(ageText)
  if (age > 150) return 'invalid_age'
  const countryId = countryText.toUpperCase()
  if (!COUNTRY.test(countryText) || !isKnownCountryId(countryId)) return 'invalid_country'
  const gp = probability(genderProbability)
  const cp = probability(countryProbability)
  if (gp === undefined || cp === undefined) return 'invalid_probability'
  return {
    name,
    gender,
    gender_probability: gp,
    age,
    age_group: ageGroupOf(age),
    country_id: countryId,
    // the seed's spelling for the code, whatever the file says (contract §1)
    country_name: countryNameOf(countryId) ?? countryId,
    country_probability: cp,
  }
}

// ---------------------------------------------------------------------------------------------
// Writing

const RETRYABLE_SQLSTATES = new Set(['40P01', '40001']) // deadlock, serialization failure
const MAX_ATTEMPTS = 5

/** One batch, one statement: committed whole or not at all, so a failed attempt can simply be retried. */
async function insertBatch(db: Kysely<Database>, rows: readonly NewProfile[]): Promise<number> {
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


/**
 * One import. `report` is live: if `run` fails midway (client gone, limit reached, database error)
 * it still says what was committed, which is what the caller needs to invalidate caches.
 */
export class ProfileCsvImport {
  readonly report: ImportReport = emptyReport()
  private readonly batchSize: number
  private readonly concurrency: number
  private batch: NewProfile[] = []
  private readonly inFlight = new Set<Promise<void>>()
  private header: { columns: ColumnIndex; width: number } | undefined
  private abortError: Error | undefined

  constructor(
    private readonly db: Kysely<Database>,
    private readonly options: CsvImportOptions,
  ) {
    this.batchSize = options.batchSize ?? BATCH_SIZE
    this.concurrency = options.concurrency ?? 1
  }

  /**
   * Stops the import with `error` (e.g. the upload went over the size limit) at the next piece of
   * input: rows not yet written are dropped, batches already written stay, and `run` rejects.
   */
  abort(error: Error): void {
    this.abortError ??= error
  }

  async run(source: Readable): Promise<ImportReport> {
    const report = this.report
    let tooMany = false
    try {
      // Stopping early must not destroy the upload: the rest is drained so the client gets an answer.
      const chunks = source.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>
      read: for await (const records of csvRecords(chunks, this.options.maxRecordBytes)) {
        if (this.abortError) throw this.abortError
        for (const record of records) {
          if (!this.header) {
            this.header = readHeader(record)
            continue
          }
          if (isBlank(record)) continue
          if (report.total_rows >= this.options.maxRows) {
            tooMany = true
            break read
          }
          report.total_rows++
          const row = validateRow(record, this.header.columns, this.header.width)
          if (typeof row === 'string') {
            report.reasons[row]++
            continue
          }
          this.batch.push({ id: newId(), ...row })
          if (this.batch.length >= this.batchSize) await this.flush()
        }
      }
      if (this.abortError) throw this.abortError
      if (!this.header) throw new CsvImportError(400, 'Empty file: expected a header row and data rows')
      await this.flush()
      await Promise.all(this.inFlight)
    } catch (error) {
      // Rows read but not written are dropped (a cut upload may end in a truncated row); statements
      // already sent finish, committed or rolled back whole.
      report.total_rows -= this.batch.length
      this.batch = []
      await Promise.allSettled(this.inFlight)
      this.finishReport()
      await drain(source)
      if (error instanceof CsvImportError) {
        throw new CsvImportError(error.statusCode as 400 | 408 | 413, error.message, this.header ? { ...report } : undefined)
      }
      throw error
    }
    this.finishReport()
    if (tooMany) {
      await drain(source)
      throw new CsvImportError(
        413,
        `Too many rows: at most ${this.options.maxRows} data rows per file; the first ${this.options.maxRows} were imported and the rest ignored`,
        { ...report },
      )
    }
    return { ...report, reasons: { ...report.reasons } }
  }

  private finishReport(): void {
    const r = this.report
    r.skipped = r.total_rows - r.inserted
  }

  private async flush(): Promise<void> {
    if (this.batch.length === 0) return
    const rows = this.batch
    this.batch = []
    const write: Promise<void> = insertBatch(this.db, rows).then((inserted) => {
      this.report.inserted += inserted
      this.report.reasons.duplicate_name += rows.length - inserted
      this.inFlight.delete(write)
    })
    write.catch(() => {}) // awaited through race/all; this only marks the rejection as handled
    this.inFlight.add(write)
    // Postgres's index upkeep is the bottleneck and one statement runs on one core: with 2 writers
    // (IMPORT_WRITERS), both cores write while the next batch is parsed. On the 1M-row bench table this
    // took 500k rows from ~26k to ~40k rows/s; a third writer on two cores added nothing.
    while (this.inFlight.size >= this.concurrency) await Promise.race(this.inFlight)
  }
}

/** Reads the rest of the upload into nothing, so the client can finish sending and read the answer. */
async function drain(source: Readable): Promise<void> {
  if (source.readableEnded || source.destroyed) return
  await new Promise<void>((resolve) => {
    source.once('end', resolve)
    source.once('close', resolve)
    source.once('error', () => resolve())
    source.resume()
  })
}
