import { randomBytes } from 'node:crypto'
import { constants, createWriteStream } from 'node:fs'
import { access, rename, rm } from 'node:fs/promises'
import path from 'node:path'
import { Readable, Transform, type TransformCallback } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { ReadableStream as NodeReadableStream } from 'node:stream/web'
import { Command } from 'commander'
import type { ApiClient } from '../api-client.ts'
import type { CliContext } from '../context.ts'
import { CsvFormulaGuard } from '../csv-formula-guard.ts'
import { isErrno } from '../credentials.ts'
import { CliError, ExitCode, usageError } from '../errors.ts'
import { networkReason, unexpectedResponse } from '../http.ts'
import { formatBytes } from '../output.ts'
import { oneOf } from '../validate.ts'
import { filterQuery, withExamples, withFilters, withSorting, type FilterOptions, type PagingOptions } from './shared.ts'

const PROGRESS_INTERVAL_MS = 200
const QUOTE = 0x22
const NEWLINE = 0x0a

interface ExportOptions extends FilterOptions, PagingOptions {
  format: 'csv'
  output?: string
  raw?: boolean
}

/** `-o -`: the CSV goes to stdout (for pipes); messages stay on stderr. */
const STDOUT = '-'

export function exportCommand(ctx: CliContext): Command {
  const command = withSorting(
    withFilters(
      new Command('export')
        .description('download every matching profile as CSV, streamed to a file (default: profiles_<timestamp>.csv here)')
        .option('--format <format>', 'file format (only csv)', oneOf(['csv'] as const, '--format'), 'csv')
        .option('-o, --output <file>', 'where to write (replaced if it exists); - writes to stdout')
        .option(
          '--raw',
          "keep cells exactly as the API sent them; by default a cell starting with = + - @, tab or CR gets a leading ' so spreadsheets do not run it as a formula",
        ),
    ),
  )
  return withExamples(command, [
    'insighta profiles export --format csv',
    'insighta profiles export --format csv --country NG --gender female',
    'insighta profiles export --format csv --output nigeria.csv --sort-by age',
    'insighta profiles export -o - --age-group senior | wc -l',
    'insighta profiles export --raw -o exact.csv',
  ]).action(async (options: ExportOptions) => exportProfiles(ctx, options))
}

/** `profiles_20261123T170000Z.csv`: the name the API suggests, sortable, unique per second. */
export function defaultExportName(now = new Date()): string {
  return `profiles_${now.toISOString().replace(/\.\d+Z$/, 'Z').replace(/[-:]/g, '')}.csv`
}

/**
 * Streams the API's CSV to disk chunk by chunk with backpressure, so memory stays flat whatever the
 * size. It is written under a temporary name and renamed at the end: an interrupted export never
 * leaves a truncated file that looks complete.
 */
async function exportProfiles(ctx: CliContext, options: ExportOptions): Promise<void> {
  const toStdout = options.output === STDOUT
  const target = toStdout ? STDOUT : path.resolve(options.output ?? defaultExportName())
  if (!toStdout) await checkWritableFolder(path.dirname(target))
  const client = await ctx.client()
  // Progress needs a terminal on stderr, and one that the CSV itself is not being written to.
  const showProgress = ctx.out.interactive && !(toStdout && ctx.out.terminal)
  const total = showProgress ? await countMatches(client, options) : undefined
  const response = await client.request({
    method: 'GET',
    path: '/api/profiles/export',
    query: { format: options.format, ...filterQuery(options), sort_by: options.sortBy, order: options.order },
    headers: { accept: 'text/csv' },
  })
  if (!/^text\/csv\b/i.test(response.headers.get('content-type') ?? '') || response.body === null) {
    await response.body?.cancel()
    throw unexpectedResponse(client.apiUrl, response.status)
  }

  const started = Date.now()
  const counter = new CsvCounter((rows, bytes) => {
    if (showProgress) ctx.out.progress(progressLine(rows, bytes, total, Date.now() - started))
  })
  const stages: Transform[] = options.raw ? [counter] : [new CsvFormulaGuard(), counter]
  const body = Readable.fromWeb(response.body as NodeReadableStream<Uint8Array>)
  if (toStdout) {
    await streamToStdout(client.apiUrl, body, stages)
    ctx.out.message(`Exported ${counter.rows} profiles (${formatBytes(counter.bytes)}) to stdout`)
    return
  }

  await writeFileAtomically(client.apiUrl, body, stages, target)
  ctx.out.print(`Exported ${counter.rows} profiles (${formatBytes(counter.bytes)}) to ${target}`)
}

/**
 * A download written under a temporary name in the target's folder and renamed at the end, so an
 * interrupted download never leaves a truncated file that looks complete (Ctrl-C removes it too).
 */
export async function writeFileAtomically(apiUrl: string, body: Readable, stages: Transform[], target: string, what = 'export'): Promise<void> {
  const temp = path.join(path.dirname(target), `.${path.basename(target)}.${randomBytes(4).toString('hex')}.part`)
  const removeTemp = () => rm(temp, { force: true })
  const onSignal = () => {
    void removeTemp().finally(() => process.exit(130))
  }
  process.once('SIGINT', onSignal)
  try {
    await pipeline([body, ...stages, createWriteStream(temp, { flags: 'wx' })])
    await rename(temp, target)
  } catch (error) {
    await removeTemp()
    if (error instanceof CliError) throw error
    if (isErrno(error, 'ENOSPC') || isErrno(error, 'EACCES') || isErrno(error, 'EROFS')) {
      throw usageError(`Could not write ${target}: ${(error as NodeJS.ErrnoException).code}; nothing was saved.`)
    }
    // Anything else broke the download itself (connection dropped, server aborted the stream).
    throw interrupted(apiUrl, error, 'nothing was saved', what)
  } finally {
    process.off('SIGINT', onSignal)
  }
}

function interrupted(apiUrl: string, error: unknown, consequence: string, what = 'export'): CliError {
  return new CliError(ExitCode.network, `The ${what} from ${apiUrl} was interrupted (${networkReason(error)}); ${consequence}.`)
}

/**
 * The CSV to stdout, with backpressure. A reader that stops early (`| head`) is not an error; a
 * download that breaks is, and the consumer has then seen a truncated file: the exit code says so.
 */
export async function streamToStdout(apiUrl: string, body: Readable, stages: Transform[], what = 'export'): Promise<void> {
  try {
    await pipeline([body, ...stages, process.stdout], { end: false })
  } catch (error) {
    if (isErrno(error, 'EPIPE')) return
    throw interrupted(apiUrl, error, 'the output is incomplete', what)
  }
}

/** The size of the export, from a one-row list with the same filter; unknown if that fails. */
async function countMatches(client: ApiClient, options: FilterOptions): Promise<number | undefined> {
  try {
    const body = await client.json({ method: 'GET', path: '/api/profiles', query: { ...filterQuery(options), limit: 1 } })
    return typeof body.total === 'number' && body.total >= 0 ? body.total : undefined
  } catch {
    return undefined
  }
}

/** "Exporting… 42% · 42,000 of 100,000 rows · 4.1 MB · about 12 s left" (no percentage when the total is unknown). */
export function progressLine(rows: number, bytes: number, total: number | undefined, elapsedMs: number): string {
  const count = rows.toLocaleString('en-US')
  if (total === undefined || total === 0) return `Exporting… ${count} rows, ${formatBytes(bytes)}`
  const done = Math.min(rows, total)
  const percent = Math.floor((done / total) * 100)
  let eta = ''
  if (done > 0 && elapsedMs >= 1000 && done < total) {
    eta = ` · about ${formatDuration((elapsedMs / done) * (total - done))} left`
  }
  return `Exporting… ${percent}% · ${count} of ${total.toLocaleString('en-US')} rows · ${formatBytes(bytes)}${eta}`
}

export function formatDuration(ms: number): string {
  const seconds = Math.max(1, Math.round(ms / 1000))
  if (seconds < 60) return `${seconds} s`
  const minutes = Math.floor(seconds / 60)
  if (minutes < 60) return `${minutes} min ${seconds % 60} s`
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`
}

/** Fails before the download starts rather than after it: a missing or read-only folder. */
export async function checkWritableFolder(folder: string): Promise<void> {
  try {
    await access(folder, constants.W_OK)
  } catch (error) {
    if (isErrno(error, 'ENOENT')) throw usageError(`The folder ${folder} does not exist.`)
    throw usageError(`The folder ${folder} is not writable.`)
  }
}

/**
 * Passes bytes through unchanged while counting CSV records: newlines outside quoted fields (a
 * quoted name may contain one). The state survives chunk boundaries; `""` toggles twice, harmlessly.
 */
export class CsvCounter extends Transform {
  bytes = 0
  private lines = 0
  private inQuotes = false
  private lastReport = 0

  constructor(private readonly report?: (rows: number, bytes: number) => void) {
    super()
  }

  /** data rows, not counting the header */
  get rows(): number {
    return Math.max(0, this.lines - 1)
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i]
      if (byte === QUOTE) this.inQuotes = !this.inQuotes
      else if (byte === NEWLINE && !this.inQuotes) this.lines++
    }
    this.bytes += chunk.length
    const now = Date.now()
    if (this.report && now - this.lastReport >= PROGRESS_INTERVAL_MS) {
      this.lastReport = now
      this.report(this.rows, this.bytes)
    }
    callback(null, chunk)
  }
}
