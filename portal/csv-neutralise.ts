/**
 * Spreadsheet formula injection (OWASP "CSV Injection"): a cell that begins with `=`, `+`, `-`,
 * `@`, tab or carriage return is run as a formula by Excel, LibreOffice and Sheets. The portal's
 * download prefixes such a cell's value with `'`, which spreadsheets show as text.
 *
 * A streaming transform over the API's RFC 4180 CSV: it follows quoting byte by byte (every byte
 * that matters is ASCII, and UTF-8 never uses ASCII values inside a multi-byte character), so it
 * works across chunk boundaries and never holds more than one chunk.
 */
import { Transform, type TransformCallback } from 'node:stream'

const QUOTE = 0x22
const COMMA = 0x2c
const LF = 0x0a
const CR = 0x0d
const APOSTROPHE = 0x27

/** The first characters that make a spreadsheet cell a formula. */
const DANGEROUS: ReadonlySet<number> = new Set([0x3d /* = */, 0x2b /* + */, 0x2d /* - */, 0x40 /* @ */, 0x09 /* tab */, CR])

const enum State {
  /** at the first byte of a field */
  FieldStart,
  /** inside an unquoted field */
  Unquoted,
  /** just after a field's opening quote: the next byte is the value's first */
  QuotedStart,
  /** inside a quoted field */
  Quoted,
  /** a quote inside a quoted field: an escaped quote or the field's end */
  QuoteInQuoted,
}

export class CsvFormulaNeutraliser extends Transform {
  private state = State.FieldStart

  override _transform(chunk: Buffer | string, _encoding: BufferEncoding, done: TransformCallback): void {
    const input = typeof chunk === 'string' ? Buffer.from(chunk) : chunk
    const out = Buffer.allocUnsafe(input.length * 2)
    let n = 0
    for (let i = 0; i < input.length; i++) {
      const b = input[i]
      switch (this.state) {
        case State.FieldStart:
          if (b === QUOTE) this.state = State.QuotedStart
          else if (b === COMMA || b === LF || b === CR) this.state = State.FieldStart
          else {
            if (DANGEROUS.has(b)) out[n++] = APOSTROPHE
            this.state = State.Unquoted
          }
          break
        case State.Unquoted:
          if (b === COMMA || b === LF) this.state = State.FieldStart
          break
        case State.QuotedStart:
          if (b === QUOTE) this.state = State.QuoteInQuoted
          else {
            if (DANGEROUS.has(b)) out[n++] = APOSTROPHE
            this.state = State.Quoted
          }
          break
        case State.Quoted:
          if (b === QUOTE) this.state = State.QuoteInQuoted
          break
        case State.QuoteInQuoted:
          if (b === QUOTE) this.state = State.Quoted
          else if (b === COMMA || b === LF || b === CR) this.state = State.FieldStart
          else this.state = State.Unquoted
          break
      }
      out[n++] = b
    }
    done(null, out.subarray(0, n))
  }
}
