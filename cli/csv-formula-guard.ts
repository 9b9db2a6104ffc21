import { Transform, type TransformCallback } from 'node:stream'

const QUOTE = 0x22
const COMMA = 0x2c
const NEWLINE = 0x0a
const CR = 0x0d
const APOSTROPHE = Buffer.from("'")

/** OWASP "CSV injection": a cell starting with one of these is run as a formula by spreadsheets. */
const FORMULA_START = new Set([0x3d /* = */, 0x2b /* + */, 0x2d /* - */, 0x40 /* @ */, 0x09 /* tab */, CR])

/**
 * Neutralises spreadsheet formulas in an RFC 4180 CSV stream: every cell whose value begins with
 * `=`, `+`, `-`, `@`, a tab or a carriage return gets a leading `'`, so Excel, LibreOffice and Google
 * Sheets show it as text instead of running it (OWASP's rule). Works byte by byte with its state
 * carried across chunks — quoted fields (with commas, `""` and line breaks inside) are understood —
 * and keeps no more than the chunk in hand, so memory stays flat for any size of export.
 *
 * An unquoted CR at the start of a field is the line ending of a row whose last field is empty, not
 * a value (RFC 4180 quotes a value containing CR), so only a quoted leading CR is neutralised.
 */
export class CsvFormulaGuard extends Transform {
  /** cells changed so far */
  neutralised = 0
  private fieldStart = true
  private inQuotes = false
  /** just after a field's opening quote: the next byte is the value's first */
  private quotedStart = false
  /** inside a quoted field, a quote was seen: an escaped quote if another follows, else the field's end */
  private quotePending = false

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    const parts: Buffer[] = []
    let from = 0
    const neutralise = (at: number) => {
      parts.push(chunk.subarray(from, at), APOSTROPHE)
      from = at
      this.neutralised++
    }
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i]
      if (this.inQuotes) {
        if (this.quotedStart) {
          this.quotedStart = false
          if (FORMULA_START.has(byte)) {
            neutralise(i)
            continue
          }
        }
        if (this.quotePending) {
          this.quotePending = false
          if (byte === QUOTE) continue // "" inside a quoted field
          this.inQuotes = false // the closing quote was the previous byte; this one is outside
        } else {
          if (byte === QUOTE) this.quotePending = true
          continue
        }
      }
      if (this.fieldStart) {
        this.fieldStart = false
        if (byte === QUOTE) {
          this.inQuotes = true
          this.quotedStart = true
          continue
        }
        if (byte !== CR && FORMULA_START.has(byte)) neutralise(i)
      }
      if (byte === COMMA || byte === NEWLINE) this.fieldStart = true
    }
    if (parts.length === 0) return callback(null, chunk)
    parts.push(chunk.subarray(from))
    callback(null, Buffer.concat(parts))
  }
}
