import { Transform, type Readable, type TransformCallback } from 'node:stream'
import { setTimeout as sleep } from 'node:timers/promises'
import { CsvError, parse } from 'csv-parse'
import type { Kysely } from 'kysely'
import { v7 as uuidv7 } from 'uuid'
import type { Database } from '../../db/index.ts'
import { insertProfilesBatch, type NewProfile } from '../../db/repositories/profiles.ts'
import { ApiError } from '../errors.ts'
import { countryNameOf, isKnownCountryId } from './countries.ts'
import { ageGroupOf } from './profile-filter.ts'

/**
 * Bulk import of profiles from CSV (contract §3 "Import", docs/import.md): the file is parsed as a
 * stream, validated row by row and written in batches, each batch one INSERT … ON CONFLICT DO NOTHING
 * statement, so a batch is committed whole or not at all and nothing waits on a long transaction.
 * Pure of Fastify: the route hands it a byte stream and maps its errors.
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

export const REQUIRED_COLUMNS = ['name', 'gender', 'age', 'country_id', 'gender_probability', 'country_probability'] as const
type RequiredColumn = (typeof REQUIRED_COLUMNS)[number]
type ColumnIndex = Record<RequiredColumn, number>

export const MAX_NAME_LENGTH = 200
/** No valid row comes near this; a longer record (e.g. an unclosed quote) is one malformed row. */
export const MAX_RECORD_BYTES = 64 * 1024
export const BATCH_SIZE = 5000

export interface CsvImportOptions {
  /** data rows accepted per file; one more and the import stops (413) */
  maxRows: number
  batchSize?: number
  maxRecordBytes?: number
  /** INSERT statements in flight at once; with 1 the next batch is parsed while the last one is written */
  parallelBatches?: number
  /** created_at of the imported rows (tests pin it) */
  now?: () => Date
}

/** A problem with the file as a whole, or a limit reached; `report` says what was committed before it. */
export class CsvImportError extends ApiError {
  constructor(
    statusCode: 400 | 413,
    message: string,
    readonly report?: ImportReport,
  ) {
    super(statusCode, message)
    this.name = 'CsvImportError'
  }
}

export function emptyReport(): ImportReport {
  const reasons = Object.fromEntries(REASON_KEYS.map((k) => [k, 0])) as Record<ReasonKey, number>
  return { total_rows: 0, inserted: 0, skipped: 0, reasons }
}

// ---------------------------------------------------------------------------------------------
// Record framing

const LF = 0x0a
const CR = 0x0d
const QUOTE = 0x22
const COMMA = 0x2c
const UTF8_BOM = Buffer.from([0xef, 0xbb, 0xbf])
/** What a dropped record becomes: a one-field row holding a NUL character, which no valid row has. */
const DROPPED_RECORD = Buffer.from('\u0000\n')

const FIELD_START = 0
const UNQUOTED = 1
const IN_QUOTES = 2
const QUOTE_SEEN = 3

/**
 * Cuts the byte stream into records exactly where csv-parse will (RFC 4180 quotes, LF or CRLF ends,
 * relaxed stray quotes) and replaces a record longer than `maxRecordBytes`, or one whose quote never
 * closes, by a one-field row that counts as malformed, resuming on the line after its first. csv-parse
 * cannot recover like that: its max_record_size error ends the whole parse, with
 * skip_records_with_error it silently loses the rest of the file, and an unclosed quote swallows
 * every later row. It also turns CRLF into LF outside quotes (csv-parse then needs one delimiter)
 * and drops a UTF-8 BOM. Holds at most one record between chunks.
 */
export class RecordFramer extends Transform {
  /** records replaced by a malformed row: too long, or a quote never closed */
  dropped = 0
  private carry: Buffer | undefined
  private skipping = false
  private started = false
  /** the quoting state where the last scan stopped */
  private endState = FIELD_START

  constructor(private readonly maxRecordBytes: number) {
    super()
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    let buf = this.carry ? Buffer.concat([this.carry, chunk]) : chunk
    this.carry = undefined
    if (!this.started) {
      if (buf.length < UTF8_BOM.length && UTF8_BOM.subarray(0, buf.length).equals(buf)) {
        this.carry = buf
        return done()
      }
      this.started = true
      if (buf.subarray(0, UTF8_BOM.length).equals(UTF8_BOM)) buf = buf.subarray(UTF8_BOM.length)
    }
    this.frame(buf, false)
    done()
  }

  override _flush(done: TransformCallback): void {
    const buf = this.carry ?? Buffer.alloc(0)
    this.carry = undefined
    this.started = true
    this.frame(buf, true)
    done()
  }

  private frame(buf: Buffer, final: boolean): void {
    const out: Buffer[] = []
    const n = buf.length
    const max = this.maxRecordBytes
    let pos = 0
    let emitFrom = 0
    if (this.skipping) {
      const lf = buf.indexOf(LF)
      if (lf === -1) {
        if (final) this.skipping = false
        return
      }
      this.skipping = false
      pos = emitFrom = lf + 1
    }
    let nextQuote = buf.indexOf(QUOTE, pos)
    while (pos < n) {
      if (nextQuote !== -1 && nextQuote < pos) nextQuote = buf.indexOf(QUOTE, pos)
      const limit = Math.min(n, pos + max + 2)
      const lf = buf.indexOf(LF, pos)
      let end: number
      if (nextQuote === -1 || (lf !== -1 && lf < nextQuote)) {
        // the common case: no quote before the line break
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
          out.push(buf.subarray(emitFrom, buf[n - 1] === CR ? n - 1 : n))
          pos = emitFrom = n
          break
        }
        // Too long (a 10 MB line) or a quote never closed: one malformed row in place of the
        // record's first line, and parsing resumes on the next line.
        if (emitFrom < pos) out.push(buf.subarray(emitFrom, pos))
        out.push(DROPPED_RECORD)
        this.dropped++
        const resume = buf.indexOf(LF, pos)
        pos = emitFrom = resume === -1 ? n : resume + 1
        if (resume === -1 && !final) this.skipping = true
        continue
      }
      const contentEnd = end > pos && buf[end - 1] === CR ? end - 1 : end
      if (contentEnd - pos > max) {
        if (emitFrom < pos) out.push(buf.subarray(emitFrom, pos))
        out.push(DROPPED_RECORD)
        this.dropped++
        emitFrom = end + 1
      } else if (contentEnd !== end) {
        out.push(buf.subarray(emitFrom, contentEnd)) // CRLF → LF
        emitFrom = end
      }
      pos = end + 1
    }
    if (emitFrom < pos) out.push(buf.subarray(emitFrom, pos))
    if (pos < n) this.carry = Buffer.from(buf.subarray(pos))
    if (out.length === 1) this.push(out[0])
    else if (out.length > 1) this.push(Buffer.concat(out))
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

function secondsPrecision(date: Date): Date {
  return new Date(Math.floor(date.getTime() / 1000) * 1000)
}

/**
 * One import. `report` is live: if `run` fails midway (client gone, limit reached, database error)
 * it still says what was committed, which is what the caller needs to invalidate caches.
 */
export class ProfileCsvImport {
  readonly report: ImportReport = emptyReport()
  private readonly framer: RecordFramer
  private readonly batchSize: number
  private readonly parallelBatches: number
  private readonly now: () => Date
  private batch: NewProfile[] = []
  private readonly inFlight = new Set<Promise<void>>()
  private source: Readable | undefined
  private abortError: Error | undefined

  constructor(
    private readonly db: Kysely<Database>,
    private readonly options: CsvImportOptions,
  ) {
    this.framer = new RecordFramer(options.maxRecordBytes ?? MAX_RECORD_BYTES)
    this.batchSize = options.batchSize ?? BATCH_SIZE
    this.parallelBatches = options.parallelBatches ?? 1
    this.now = options.now ?? (() => new Date())
  }

  /**
   * Stops the import with `error` (e.g. the upload went over the size limit): rows not yet written
   * are dropped, batches already written stay, and `run` rejects with `error`.
   */
  abort(error: Error): void {
    this.abortError ??= error
    this.framer.destroy(error)
  }

  async run(source: Readable): Promise<ImportReport> {
    this.source = source
    const maxRecordBytes = this.options.maxRecordBytes ?? MAX_RECORD_BYTES
    const parser = parse({
      bom: true,
      relax_column_count: true,
      relax_quotes: true,
      skip_empty_lines: true,
      record_delimiter: '\n',
      max_record_size: maxRecordBytes + 1024,
    })
    const framer = this.framer
    source.on('error', (error) => framer.destroy(error))
    framer.on('error', (error) => parser.destroy(error))
    source.pipe(framer).pipe(parser)
    if (this.abortError) parser.destroy(this.abortError)

    let header: { columns: ColumnIndex; width: number } | undefined
    let tooMany = false
    const report = this.report
    try {
      for await (const record of parser as AsyncIterable<string[]>) {
        if (!header) {
          header = readHeader(record)
          continue
        }
        if (isBlank(record)) continue
        if (report.total_rows >= this.options.maxRows) {
          tooMany = true
          break
        }
        report.total_rows++
        const row = validateRow(record, header.columns, header.width)
        if (typeof row === 'string') {
          report.reasons[row]++
          continue
        }
        this.batch.push({ id: uuidv7(), ...row })
        if (this.batch.length >= this.batchSize) await this.flush()
      }
      if (!header) throw new CsvImportError(400, 'Empty file: expected a header row and data rows')
      await this.flush()
      await Promise.all(this.inFlight)
    } catch (error) {
      // Rows parsed but not written are dropped (a cut upload may end in a truncated row); statements
      // already sent finish, committed or rolled back whole.
      report.total_rows -= this.batch.length
      this.batch = []
      await Promise.allSettled(this.inFlight)
      this.finishReport()
      await this.drain()
      if (error instanceof CsvImportError) {
        throw new CsvImportError(error.statusCode as 400 | 413, error.message, header ? { ...report } : undefined)
      }
      if (error instanceof CsvError) throw new CsvImportError(400, `Unreadable CSV: ${error.message}`, { ...report })
      throw error
    }
    this.finishReport()
    if (tooMany) {
      await this.drain()
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
    while (this.inFlight.size >= this.parallelBatches) await Promise.race(this.inFlight)
    const createdAt = secondsPrecision(this.now())
    for (const row of rows) row.created_at = createdAt
    const write: Promise<void> = insertBatch(this.db, rows).then((inserted) => {
      this.report.inserted += inserted
      this.report.reasons.duplicate_name += rows.length - inserted
      this.inFlight.delete(write)
    })
    write.catch(() => {}) // awaited through race/all above; this only marks the rejection as handled
    this.inFlight.add(write)
  }

  /** Reads the rest of the upload into nothing, so the client can finish sending and read the answer. */
  private async drain(): Promise<void> {
    const source = this.source
    if (!source || source.readableEnded || source.destroyed) return
    source.unpipe(this.framer)
    this.framer.destroy()
    await new Promise<void>((resolve) => {
      source.once('end', resolve)
      source.once('close', resolve)
      source.once('error', () => resolve())
      source.resume()
    })
  }
}
