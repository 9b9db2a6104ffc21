import { sanitise } from './http.ts'

export interface Column {
  header: string
  align?: 'left' | 'right'
  /** longer cells are cut with an ellipsis, so one long name cannot push every row off screen */
  max?: number
  /** narrowest this column may be cut to when the table is wider than the terminal (default 4) */
  min?: number
  /** a UUID column: on a terminal only its first 8 characters are shown; pipes get the full id */
  shortId?: boolean
}

/** What a terminal shows of an id (`insighta … get` takes it back as a prefix where unambiguous). */
export const SHORT_ID_LENGTH = 8

export function shortId(id: string): string {
  return id.slice(0, SHORT_ID_LENGTH)
}

export type Cell = string | number | boolean | null | undefined

/** A table before it is laid out: a terminal gets aligned columns, a pipe tab-separated lines. */
export interface TableData {
  columns: readonly Column[]
  rows: readonly (readonly Cell[])[]
  /** a line about the table (paging); on a terminal under it, in a pipe on stderr so data stays data */
  footer?: string
  /** what to say instead of an empty table */
  empty?: string
}

export interface TableLayout {
  /** the terminal's width: the widest columns are cut with "…" until the table fits */
  width?: number
  /** wraps the header line (bold on a colour terminal) */
  header?: (text: string) => string
}

const GAP = 2
const DEFAULT_MIN = 4

/**
 * Plain-text table: header, dashes, rows; columns separated by two spaces, no trailing blanks. With a
 * width, the widest columns give up characters one at a time until the lines fit (never below their
 * minimum), so one long value cannot push every other column off screen.
 */
export function formatTable(columns: readonly Column[], rows: readonly (readonly Cell[])[], layout: TableLayout = {}): string {
  const text = cellTexts(columns, rows)
  const widths = naturalWidths(columns, text)
  if (layout.width !== undefined) fitWidths(columns, widths, layout.width)
  return [...tableHead(columns, widths, layout), ...text.map((cells) => tableLine(columns, widths, cells))].join('\n')
}

/**
 * Column widths for a table printed as its rows arrive (`--all`): the first rows size the columns,
 * fitted to `width`, and columns with a `max` then take any room left up to that max, so the longer
 * values of later rows are cut only when the terminal really is too narrow.
 */
export function streamedWidths(columns: readonly Column[], firstRows: readonly (readonly Cell[])[], width: number): number[] {
  const widths = naturalWidths(columns, cellTexts(columns, firstRows))
  fitWidths(columns, widths, width)
  let total = widths.reduce((sum, w) => sum + w, 0) + GAP * Math.max(0, widths.length - 1)
  for (let grew = true; grew && total < width; ) {
    grew = false
    for (let i = 0; i < widths.length && total < width; i++) {
      const max = columns[i].max
      if (max !== undefined && widths[i] < max) {
        widths[i]++
        total++
        grew = true
      }
    }
  }
  return widths
}

/** The header line (styled by `layout.header`) and the line of dashes under it. */
export function tableHead(columns: readonly Column[], widths: readonly number[], layout: Pick<TableLayout, 'header'> = {}): [string, string] {
  const header = tableLine(columns, widths, columns.map((c) => c.header))
  return [layout.header ? layout.header(header) : header, tableLine(columns, widths, widths.map((w) => '-'.repeat(w)))]
}

/** Rows laid out in fixed widths: each cell cut to its column's max and width, padded, aligned. */
export function tableRows(columns: readonly Column[], widths: readonly number[], rows: readonly (readonly Cell[])[]): string[] {
  return cellTexts(columns, rows).map((cells) => tableLine(columns, widths, cells))
}

function cellTexts(columns: readonly Column[], rows: readonly (readonly Cell[])[]): string[][] {
  return rows.map((row) => columns.map((column, i) => truncate(cellText(row[i]), column.max)))
}

function naturalWidths(columns: readonly Column[], text: readonly (readonly string[])[]): number[] {
  return columns.map((column, i) => Math.max(width(column.header), ...text.map((row) => width(row[i]))))
}

function tableLine(columns: readonly Column[], widths: readonly number[], cells: readonly string[]): string {
  return cells
    .map((cell, i) => {
      const cut = truncate(cell, widths[i])
      return columns[i].align === 'right' ? pad(cut, widths[i], 'left') : pad(cut, widths[i], 'right')
    })
    .join(' '.repeat(GAP))
    .trimEnd()
}

function fitWidths(columns: readonly Column[], widths: number[], available: number): void {
  let total = widths.reduce((sum, w) => sum + w, 0) + GAP * Math.max(0, widths.length - 1)
  while (total > available) {
    let widest = -1
    for (let i = 0; i < widths.length; i++) {
      const min = columns[i].min ?? Math.min(DEFAULT_MIN, widths[i])
      if (widths[i] > min && (widest === -1 || widths[i] > widths[widest])) widest = i
    }
    if (widest === -1) return
    widths[widest]--
    total--
  }
}

/** Tab-separated lines with a header, for pipes: full values, one record per line, no padding. */
export function formatTsv(columns: readonly Column[], rows: readonly (readonly Cell[])[], options: { header?: boolean } = {}): string {
  const field = (value: string) => value.replaceAll('\t', ' ')
  const lines = rows.map((row) => columns.map((_, i) => field(cellText(row[i]))))
  if (options.header !== false) lines.unshift(columns.map((c) => field(c.header)))
  return lines.map((cells) => cells.join('\t')).join('\n')
}

/** What a terminal shows of each id column: its first characters (pipes get the full id). */
function withShortIds(columns: readonly Column[], rows: readonly (readonly Cell[])[]): Cell[][] {
  return rows.map((row) => row.map((cell, i) => (columns[i]?.shortId && typeof cell === 'string' ? shortId(cell) : cell)))
}

export function cellText(value: Cell): string {
  if (value === null || value === undefined) return '-'
  if (typeof value === 'boolean') return value ? 'yes' : 'no'
  return sanitise(String(value))
}

function width(text: string): number {
  return [...text].length
}

function truncate(text: string, max: number | undefined): string {
  if (max === undefined || width(text) <= max) return text
  if (max <= 1) return '…'.slice(0, max)
  return `${[...text].slice(0, max - 1).join('')}…`
}

function pad(text: string, size: number, side: 'left' | 'right'): string {
  const fill = ' '.repeat(Math.max(0, size - width(text)))
  return side === 'left' ? fill + text : text + fill
}

/** "page 2 of 203, total 2026" — what the user needs to page on. */
export function pageFooter(page: number, totalPages: number, total: number): string {
  // An empty result is still "page 1 of 1", not the API's total_pages of 0.
  return `page ${page} of ${Math.max(totalPages, 1)}, total ${total}`
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`
  const units = ['KB', 'MB', 'GB', 'TB']
  let value = bytes / 1024
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024
    unit++
  }
  return `${value.toFixed(1)} ${units[unit]}`
}

/**
 * Where the CLI writes. Data goes to stdout (so it can be piped); messages, warnings, the spinner
 * and progress lines go to stderr. Animations only run on a terminal: in a pipe or a log they
 * would be garbage.
 */
export type ColourMode = 'auto' | 'always' | 'never'

type Stream = NodeJS.WritableStream & { isTTY?: boolean; columns?: number }

const BOLD = (text: string) => `\u001b[1m${text}\u001b[22m`
const DIM = (text: string) => `\u001b[2m${text}\u001b[22m`
const RED = (text: string) => `\u001b[31m${text}\u001b[39m`

export class Output {
  private spinnerTimer: NodeJS.Timeout | undefined
  private liveLine = false
  /** stdout's reader went away (EPIPE); see watchReader */
  private readerGone = false

  constructor(
    private readonly stdoutStream: Stream,
    private readonly stderrStream: Stream,
    /** NO_COLOR / FORCE_COLOR, read by environment.ts; `auto` means colour on a terminal only */
    private readonly colourMode: ColourMode = 'auto',
  ) {}

  /** stderr is a terminal: spinners, progress and questions make sense */
  get interactive(): boolean {
    return this.stderrStream.isTTY === true
  }

  /** stdout is a terminal: tables are laid out for a person; otherwise they are data for a program */
  get terminal(): boolean {
    return this.stdoutStream.isTTY === true
  }

  private colour(stream: Stream): boolean {
    return this.colourMode === 'always' || (this.colourMode === 'auto' && stream.isTTY === true)
  }

  /** A table on stdout: fitted to the terminal with a bold header, or tab-separated in a pipe. */
  table(data: TableData): void {
    if (data.rows.length === 0 && data.empty !== undefined) {
      // A pipe gets no lines at all; the person reading stderr learns why.
      if (this.terminal) this.print(data.empty)
      else this.message(data.empty)
      if (data.footer !== undefined) this.footer(data.footer)
      return
    }
    if (this.terminal) {
      const table = formatTable(data.columns, withShortIds(data.columns, data.rows), { width: this.width, header: this.headerStyle })
      this.print(table)
    } else {
      this.print(formatTsv(data.columns, data.rows))
    }
    if (data.footer !== undefined) this.footer(data.footer)
  }

  /**
   * A table printed as its rows arrive (`--all`), keeping none of them: each call prints the rows it
   * is given. On a terminal the header comes once, with column widths from the first rows
   * (streamedWidths); in a pipe, tab-separated lines with the header once.
   */
  tableWriter(columns: readonly Column[]): (rows: readonly (readonly Cell[])[]) => void {
    let widths: number[] | undefined
    let started = false
    return (rows) => {
      if (rows.length === 0) return
      if (!this.terminal) {
        this.print(formatTsv(columns, rows, { header: !started }))
        started = true
        return
      }
      const shown = withShortIds(columns, rows)
      const lines: string[] = []
      if (widths === undefined) {
        widths = streamedWidths(columns, shown, this.width)
        lines.push(...tableHead(columns, widths, { header: this.headerStyle }))
      }
      lines.push(...tableRows(columns, widths, shown))
      this.print(lines.join('\n'))
    }
  }

  private get width(): number {
    return this.stdoutStream.columns || 80
  }

  private get headerStyle(): ((text: string) => string) | undefined {
    return this.colour(this.stdoutStream) ? BOLD : undefined
  }

  /** Paging lines and similar: under the table on a terminal, on stderr in a pipe. */
  footer(text: string): void {
    if (this.terminal) this.print(`\n${this.colour(this.stdoutStream) ? DIM(text) : text}`)
    else this.message(text)
  }

  /** "error: …" on stderr, the prefix in red on a colour terminal. */
  error(text: string): void {
    this.message(`${this.colour(this.stderrStream) ? RED('error:') : 'error:'} ${text}`)
  }

  print(text: string): void {
    this.clearLiveLine()
    if (this.readerGone) return
    this.stdoutStream.write(`${text}\n`)
  }

  /**
   * Resolves once stdout has taken what was written (at once unless its buffer is full), so that a
   * long listing waits for a slow reader instead of piling pages up in memory.
   */
  async drained(): Promise<void> {
    const stream = this.stdoutStream as Stream & { writableNeedDrain?: boolean }
    if (this.readerGone || stream.writableNeedDrain !== true) return
    await new Promise<void>((resolve) => {
      const done = () => {
        stream.off('drain', done)
        stream.off('error', done)
        stream.off('close', done)
        resolve()
      }
      stream.once('drain', done)
      stream.once('error', done)
      stream.once('close', done)
    })
  }

  /**
   * Watches for the reader of stdout going away (`| head` exits: EPIPE). `onGone` runs once with the
   * error; from then on writes to stdout are dropped, and the error never ends the process with a
   * stack trace. Returns the function that stops watching (while the reader is still there).
   */
  watchReader(onGone: (error: NodeJS.ErrnoException) => void): () => void {
    const onError = (error: NodeJS.ErrnoException) => {
      if (this.readerGone) return
      this.readerGone = true
      onGone(error)
    }
    this.stdoutStream.on('error', onError)
    // Once gone, the listener stays: a later write must not raise an unhandled 'error'.
    return () => {
      if (!this.readerGone) this.stdoutStream.off('error', onError)
    }
  }

  /** Clears a progress line or spinner left on the terminal (before exiting on a signal). */
  endProgress(): void {
    this.clearLiveLine()
  }

  message(text: string): void {
    this.clearLiveLine()
    this.stderrStream.write(`${text}\n`)
  }

  /** Runs `task` with a spinner on a terminal; without one, just runs it. */
  async spin<T>(label: string, task: () => Promise<T>): Promise<T> {
    if (!this.interactive) return task()
    const frames = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏']
    let frame = 0
    const draw = () => this.writeLive(`${frames[frame++ % frames.length]} ${label}`)
    draw()
    this.spinnerTimer = setInterval(draw, 80)
    try {
      return await task()
    } finally {
      clearInterval(this.spinnerTimer)
      this.spinnerTimer = undefined
      this.clearLiveLine()
    }
  }

  /** A line rewritten in place on a terminal (progress); ignored elsewhere, where a summary follows. */
  progress(text: string): void {
    if (this.interactive) this.writeLive(text)
  }

  private writeLive(text: string): void {
    this.stderrStream.write(`\r\u001b[2K${text}`)
    this.liveLine = true
  }

  private clearLiveLine(): void {
    if (!this.liveLine) return
    this.stderrStream.write('\r\u001b[2K')
    this.liveLine = false
  }
}
