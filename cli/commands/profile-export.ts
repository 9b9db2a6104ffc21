import { randomBytes } from 'node:crypto'
import { constants, createWriteStream } from 'node:fs'
import { access, rename, rm } from 'node:fs/promises'
import path from 'node:path'
import { Readable, Transform, type TransformCallback } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { ReadableStream as NodeReadableStream } from 'node:stream/web'
import { Command } from 'commander'
import type { CliContext } from '../context.ts'
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
}

export function exportCommand(ctx: CliContext): Command {
  const command = withSorting(
    withFilters(
      new Command('export')
        .description('download every matching profile as CSV, streamed to a file (default: profiles_<timestamp>.csv here)')
        .option('--format <format>', 'file format (only csv)', oneOf(['csv'] as const, '--format'), 'csv')
        .option('-o, --output <file>', 'where to write (replaced if it exists)'),
    ),
  )
  return withExamples(command, [
    'insighta profiles export --format csv',
    'insighta profiles export --format csv --country NG --gender female',
    'insighta profiles export --format csv --output nigeria.csv --sort-by age',
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
  const target = path.resolve(options.output ?? defaultExportName())
  await checkWritableFolder(path.dirname(target))
  const client = await ctx.client()
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

  const temp = path.join(path.dirname(target), `.${path.basename(target)}.${randomBytes(4).toString('hex')}.part`)
  const counter = new CsvCounter((rows, bytes) => ctx.out.progress(`Exporting… ${rows} rows, ${formatBytes(bytes)}`))
  const removeTemp = () => rm(temp, { force: true })
  const onSignal = () => {
    void removeTemp().finally(() => process.exit(130))
  }
  process.once('SIGINT', onSignal)
  try {
    await pipeline(Readable.fromWeb(response.body as NodeReadableStream<Uint8Array>), counter, createWriteStream(temp, { flags: 'wx' }))
    await rename(temp, target)
  } catch (error) {
    await removeTemp()
    if (error instanceof CliError) throw error
    if (isErrno(error, 'ENOSPC') || isErrno(error, 'EACCES') || isErrno(error, 'EROFS')) {
      throw usageError(`Could not write ${target}: ${(error as NodeJS.ErrnoException).code}; nothing was saved.`)
    }
    // Anything else broke the download itself (connection dropped, server aborted the stream).
    throw new CliError(ExitCode.network, `The export from ${client.apiUrl} was interrupted (${networkReason(error)}); nothing was saved.`)
  } finally {
    process.off('SIGINT', onSignal)
  }
  ctx.out.print(`Exported ${counter.rows} profiles (${formatBytes(counter.bytes)}) to ${target}`)
}

/** Fails before the download starts rather than after it: a missing or read-only folder. */
async function checkWritableFolder(folder: string): Promise<void> {
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
