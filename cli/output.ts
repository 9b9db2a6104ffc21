import { sanitise } from './http.ts'

export interface Column {
  header: string
  align?: 'left' | 'right'
  /** longer cells are cut with an ellipsis, so one long name cannot push every row off screen */
  max?: number
}

export type Cell = string | number | boolean | null | undefined

/** Plain-text table: header, dashes, rows; columns separated by two spaces, no trailing blanks. */
export function formatTable(columns: readonly Column[], rows: readonly (readonly Cell[])[]): string {
  const text = rows.map((row) => columns.map((column, i) => truncate(cellText(row[i]), column.max)))
  const widths = columns.map((column, i) => Math.max(width(column.header), ...text.map((row) => width(row[i]))))
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => (columns[i].align === 'right' ? pad(cell, widths[i], 'left') : pad(cell, widths[i], 'right')))
      .join('  ')
      .trimEnd()
  return [
    line(columns.map((c) => c.header)),
    line(widths.map((w) => '-'.repeat(w))),
    ...text.map(line),
  ].join('\n')
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
export class Output {
  private spinnerTimer: NodeJS.Timeout | undefined
  private liveLine = false

  constructor(
    private readonly stdoutStream: NodeJS.WritableStream & { isTTY?: boolean },
    private readonly stderrStream: NodeJS.WritableStream & { isTTY?: boolean },
  ) {}

  get interactive(): boolean {
    return this.stderrStream.isTTY === true
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
