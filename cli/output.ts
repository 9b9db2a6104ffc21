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
  const text = rows.map((row) => columns.map((column, i) => truncate(cellText(row[i]), column.max)))
  const widths = columns.map((column, i) => Math.max(width(column.header), ...text.map((row) => width(row[i]))))
  if (layout.width !== undefined) fitWidths(columns, widths, layout.width)
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => {
        const cut = truncate(cell, widths[i])
        return columns[i].align === 'right' ? pad(cut, widths[i], 'left') : pad(cut, widths[i], 'right')
      })
      .join(' '.repeat(GAP))
      .trimEnd()
  const header = line(columns.map((c) => c.header))
  return [layout.header ? layout.header(header) : header, line(widths.map((w) => '-'.repeat(w))), ...text.map(line)].join('\n')
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
export function formatTsv(columns: readonly Column[], rows: readonly (readonly Cell[])[]): string {
  const field = (value: string) => value.replaceAll('\t', ' ')
  return [columns.map((c) => field(c.header)), ...rows.map((row) => columns.map((_, i) => field(cellText(row[i]))))]
    .map((cells) => cells.join('\t'))
    .join('\n')
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
      const colour = this.colour(this.stdoutStream)
      const rows = data.rows.map((row) =>
        row.map((cell, i) => (data.columns[i]?.shortId && typeof cell === 'string' ? shortId(cell) : cell)),
      )
      const table = formatTable(data.columns, rows, { width: this.stdoutStream.columns || 80, header: colour ? BOLD : undefined })
      this.print(table)
    } else {
      this.print(formatTsv(data.columns, data.rows))
    }
    if (data.footer !== undefined) this.footer(data.footer)
  }

  /** Paging lines and similar: under the table on a terminal, on stderr in a pipe. */
  private footer(text: string): void {
    if (this.terminal) this.print(`\n${this.colour(this.stdoutStream) ? DIM(text) : text}`)
    else this.message(text)
  }

  /** "error: …" on stderr, the prefix in red on a colour terminal. */
  error(text: string): void {
    this.message(`${this.colour(this.stderrStream) ? RED('error:') : 'error:'} ${text}`)
  }

  print(text: string): void {
    this.clearLiveLine()
    this.stdoutStream.write(`${text}\n`)
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
