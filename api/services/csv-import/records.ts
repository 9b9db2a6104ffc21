import { parse as parseCsv } from 'csv-parse/sync'
import { MAX_RAW_CHARS } from '../../../contract/import-report.ts'

/**
 * The record framer of the CSV import (docs/import.md): RFC 4180 records from a byte stream fed in
 * pieces, each with the line it starts on and, where the record is not plain text split on commas,
 * its original text. Knows nothing of profiles.
 */

/** No valid row comes near this; a longer record (e.g. an unclosed quote) is one malformed row. */
export const MAX_RECORD_BYTES = 64 * 1024
/** Bytes turned into records per step: records are made only as fast as rows are written. */
export const PIECE_BYTES = 8 * 1024
/** What a dropped record becomes: one field holding a NUL character, which no valid row has. */
export const DROPPED_FIELDS: readonly string[] = ['\u0000']

export interface CsvRecord {
  fields: string[]
  /** the 1-based line of the file the record starts on (the header is line 1 of most files) */
  line: number
  /**
   * The record's text as the file has it, up to MAX_RAW_CHARS, for records holding quotes or
   * dropped; a plain record's text is its fields joined by commas (`rawText`).
   */
  raw: string | undefined
}

/** The record's original text, cut to MAX_RAW_CHARS characters with a final "…" when longer. */
export function rawText(record: CsvRecord): string {
  // Postgres text cannot hold NUL; what the file had there is shown as U+FFFD, as invalid UTF-8 is
  return capRaw(record.raw ?? record.fields.join(',')).replaceAll('\u0000', '\ufffd')
}

function capRaw(text: string): string {
  return text.length > MAX_RAW_CHARS ? `${text.slice(0, MAX_RAW_CHARS - 1)}…` : text
}

const LF = 0x0a
const CR = 0x0d
const QUOTE = 0x22
const COMMA = 0x2c
const UTF8_BOM = Buffer.from([0xef, 0xbb, 0xbf])
const NEWLINE = Buffer.from('\n')
/** bytes of a dropped record's first line kept as its raw text (4 bytes per character at most) */
const DROPPED_RAW_BYTES = MAX_RAW_CHARS * 4

const FIELD_START = 0
const UNQUOTED = 1
const IN_QUOTES = 2
const QUOTE_SEEN = 3

function countLineFeeds(buf: Buffer, from: number, to: number): number {
  let n = 0
  for (let i = buf.indexOf(LF, from); i !== -1 && i < to; i = buf.indexOf(LF, i + 1)) n++
  return n
}

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
 * handed to csv-parse. Between pieces it holds at most one incomplete record. Line numbers count
 * every line feed of the file, blank lines and line breaks inside quotes included.
 */
export class CsvRecordReader {
  /** records replaced by a malformed row: too long, or a quote never closed */
  dropped = 0
  private carry: Buffer | undefined
  private skipping = false
  private started = false
  /** the line the next record starts on */
  private line = 1
  /** the quoting state where the last scan stopped */
  private endState = FIELD_START

  constructor(private readonly maxRecordBytes = MAX_RECORD_BYTES) {}

  /** The records completed by `chunk`; a record still open waits for the next call. */
  feed(chunk: Buffer): CsvRecord[] {
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
  end(): CsvRecord[] {
    const buf = this.carry ?? Buffer.alloc(0)
    this.carry = undefined
    this.started = true
    return this.frame(buf, true)
  }

  private frame(buf: Buffer, final: boolean): CsvRecord[] {
    const records: CsvRecord[] = []
    let quoted: Buffer[] = []
    let quotedLines: number[] = []
    const flushQuoted = () => {
      if (quoted.length === 0) return
      const parsed = parseQuoted(quoted, this.maxRecordBytes)
      for (let i = 0; i < quoted.length; i++) {
        records.push({ fields: parsed[i], line: quotedLines[i], raw: capRaw(quoted[i].toString('utf8')) })
      }
      quoted = []
      quotedLines = []
    }
    const add = (from: number, to: number) => {
      flushQuoted()
      if (to > from) records.push({ fields: buf.toString('utf8', from, to).split(','), line: this.line, raw: undefined })
    }
    const addQuoted = (from: number, to: number) => {
      quoted.push(buf.subarray(from, to))
      quotedLines.push(this.line)
    }
    const drop = (from: number, to: number) => {
      flushQuoted()
      const rawEnd = Math.min(to, from + DROPPED_RAW_BYTES)
      const rawEndWithoutCr = rawEnd > from && buf[rawEnd - 1] === CR ? rawEnd - 1 : rawEnd
      records.push({ fields: [...DROPPED_FIELDS], line: this.line, raw: capRaw(buf.toString('utf8', from, rawEndWithoutCr)) })
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
      this.line++
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
          else addQuoted(pos, contentEnd)
          pos = n
          break
        }
        // Too long or a quote never closed: one malformed row for the record's first line, and
        // reading resumes on the next line.
        const resume = buf.indexOf(LF, pos)
        drop(pos, resume === -1 ? n : resume)
        pos = resume === -1 ? n : resume + 1
        if (resume === -1 && !final) this.skipping = true
        else this.line++
        continue
      }
      const contentEnd = end > pos && buf[end - 1] === CR ? end - 1 : end
      if (contentEnd - pos > max) drop(pos, contentEnd)
      else if (plain) add(pos, contentEnd)
      else addQuoted(pos, contentEnd)
      this.line += plain ? 1 : 1 + countLineFeeds(buf, pos, end)
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

const QUOTED_OPTIONS = {
  bom: true,
  relax_column_count: true,
  relax_quotes: true,
  skip_empty_lines: true,
  record_delimiter: '\n',
} as const

/**
 * The fields of complete records that hold quotes, one record per buffer, parsed by csv-parse in
 * one call; record by record if that call does not give one record per buffer.
 */
function parseQuoted(lines: Buffer[], maxRecordBytes: number): string[][] {
  const options = { ...QUOTED_OPTIONS, max_record_size: maxRecordBytes + 1024 }
  const parts: Buffer[] = []
  for (const line of lines) parts.push(line, NEWLINE)
  try {
    const records = parseCsv(Buffer.concat(parts), options) as string[][]
    if (records.length === lines.length) return records
  } catch {
    // fall through to one record at a time
  }
  return lines.map((line) => {
    try {
      const [record] = parseCsv(line, options) as string[][]
      return record ?? [...DROPPED_FIELDS]
    } catch {
      // cannot happen for records framed as above; if it does, the row is malformed, not fatal
      return [...DROPPED_FIELDS]
    }
  })
}

/** The records of a byte stream, a piece at a time, pulled as the consumer is ready for them. */
export async function* csvRecords(source: AsyncIterable<Buffer>, maxRecordBytes = MAX_RECORD_BYTES): AsyncGenerator<CsvRecord[]> {
  const reader = new CsvRecordReader(maxRecordBytes)
  for await (const chunk of source) {
    for (let i = 0; i < chunk.length; i += PIECE_BYTES) yield reader.feed(chunk.subarray(i, i + PIECE_BYTES))
  }
  yield reader.end()
}
