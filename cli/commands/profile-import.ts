import { randomBytes } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import path from 'node:path'
import { Readable } from 'node:stream'
import type { ReadableStream as NodeReadableStream } from 'node:stream/web'
import { Command } from 'commander'
import type { ApiClient } from '../api-client.ts'
import type { CliContext } from '../context.ts'
import { isErrno, isRecord } from '../credentials.ts'
import { usageError } from '../errors.ts'
import { unexpectedResponse, type StreamedBody } from '../http.ts'
import { formatBytes } from '../output.ts'
import { keyValues } from '../views.ts'
import { checkWritableFolder, CsvCounter, streamToStdout, writeFileAtomically } from './profile-export.ts'
import { printJson, withExamples, withJson } from './shared.ts'

/** The API answers only after the last row is stored; half a million rows take a while. */
const IMPORT_TIMEOUT_MS = 30 * 60 * 1000
const CHUNK_SIZE = 64 * 1024

export function importCommand(ctx: CliContext): Command {
  const command = withJson(
    new Command('import')
      .description('upload a CSV of profiles (admin); bad rows are skipped and counted')
      .argument('<file>', 'CSV with a header row: name, gender, age, country_id, gender_probability, country_probability'),
  )
  command.option('--rejects <file>', 'save every skipped row (line,reason,raw) as CSV; - writes to stdout')
  return withExamples(command, [
    'insighta profiles import people.csv',
    'insighta profiles import people.csv --rejects skipped.csv',
    'insighta profiles import people.csv --json',
  ]).action(async (file: string, options: { json?: boolean; rejects?: string }) => importProfiles(ctx, file, options))
}

/** Skipped rows printed under the counts on a terminal; the rest are behind --rejects. */
const REJECTS_SHOWN = 10

async function importProfiles(ctx: CliContext, file: string, options: { json?: boolean; rejects?: string }): Promise<void> {
  const fullPath = path.resolve(file)
  const size = await fileSize(file, fullPath)
  const rejectsTarget = options.rejects === undefined || options.rejects === STDOUT ? options.rejects : path.resolve(options.rejects)
  if (rejectsTarget === STDOUT && options.json) throw usageError('--json and --rejects - both write to stdout: save the rejects to a file.')
  if (rejectsTarget !== undefined && rejectsTarget !== STDOUT) {
    if (rejectsTarget === fullPath) throw usageError('--rejects must name another file than the one imported.')
    await checkWritableFolder(path.dirname(rejectsTarget))
  }
  const client = await ctx.client()
  let sent = 0
  const body = await client.json({
    method: 'POST',
    path: '/api/profiles/import',
    timeoutMs: IMPORT_TIMEOUT_MS,
    // A factory: after a token refresh the upload restarts from the first byte of the file.
    body: () => {
      sent = 0
      return multipartFileBody(fullPath, size, (bytes) => {
        sent += bytes
        ctx.out.progress(`Uploading ${path.basename(fullPath)}… ${formatBytes(sent)} of ${formatBytes(size)}`)
        if (sent === size) ctx.out.progress(`Uploaded ${formatBytes(size)}; the API is importing the rows…`)
      })
    },
  })
  const rejectsPath = isRecord(body.links) && typeof body.links.rejects === 'string' ? body.links.rejects : null
  if (options.json) printJson(ctx, body)
  else {
    // with the CSV on stdout, the report goes to stderr
    const say = rejectsTarget === STDOUT ? (text: string) => ctx.out.message(text) : (text: string) => ctx.out.print(text)
    printReport(say, path.basename(fullPath), body, rejectsTarget === undefined)
  }
  if (rejectsTarget !== undefined) await saveRejects(ctx, client, rejectsPath, rejectsTarget)
}

function printReport(say: (text: string) => void, name: string, body: Record<string, unknown>, hintRejects: boolean): void {
  const counts = (key: string) => (typeof body[key] === 'number' ? body[key] : '-')
  say(`Imported ${name}: ${counts('total_rows')} rows, ${counts('inserted')} inserted, ${counts('skipped')} skipped.`)
  const reasons = isRecord(body.reasons) ? Object.entries(body.reasons).filter(([, n]) => typeof n === 'number' && n > 0) : []
  if (reasons.length > 0) say(keyValues(reasons.map(([reason, n]) => [`  ${reason}`, typeof n === 'number' ? n : null])))
  const rejected = Array.isArray(body.rejected) ? body.rejected.filter(isRejectedRow) : []
  if (rejected.length === 0) return
  say('Skipped rows:')
  for (const row of rejected.slice(0, REJECTS_SHOWN)) say(`  line ${row.line}  ${row.reason}  ${oneLine(row.raw)}`)
  const skipped = typeof body.skipped === 'number' ? body.skipped : rejected.length
  const more = skipped - Math.min(rejected.length, REJECTS_SHOWN)
  if (more > 0) say(`  … and ${more} more${hintRejects ? ': add --rejects FILE to save them all as CSV' : ''}.`)
}

function isRejectedRow(value: unknown): value is { line: number; reason: string; raw: string } {
  return isRecord(value) && typeof value.line === 'number' && typeof value.reason === 'string' && typeof value.raw === 'string'
}

/** A raw row on one terminal line: line breaks and other control characters shown escaped, cut at 120. */
function oneLine(raw: string): string {
  // eslint-disable-next-line no-control-regex -- control characters are what it replaces
  const flat = raw.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => JSON.stringify(c).slice(1, -1))
  return flat.length > 120 ? `${flat.slice(0, 119)}…` : flat
}

const STDOUT = '-'
const REJECTS_HEADER = 'line,reason,raw\r\n'

/**
 * Every skipped row, from the report's links.rejects, with formula cells neutralised by the API;
 * a file with the header alone when nothing was skipped, so the file always describes this import.
 */
async function saveRejects(ctx: CliContext, client: ApiClient, rejectsPath: string | null, target: string): Promise<void> {
  let body: Readable
  if (rejectsPath === null) {
    body = Readable.from([REJECTS_HEADER])
  } else {
    const url = new URL(rejectsPath, 'http://api.invalid')
    const response = await client.request({ method: 'GET', path: url.pathname, query: { safe: 'true' }, headers: { accept: 'text/csv' } })
    if (!/^text\/csv\b/i.test(response.headers.get('content-type') ?? '') || response.body === null) {
      await response.body?.cancel()
      throw unexpectedResponse(client.apiUrl, response.status)
    }
    body = Readable.fromWeb(response.body as NodeReadableStream<Uint8Array>)
  }
  const counter = new CsvCounter(() => {})
  if (target === STDOUT) await streamToStdout(client.apiUrl, body, [counter], 'download of the skipped rows')
  else await writeFileAtomically(client.apiUrl, body, [counter], target, 'download of the skipped rows')
  ctx.out.message(`Saved ${Math.max(0, counter.rows)} skipped rows to ${target === STDOUT ? 'stdout' : target}`)
}

async function fileSize(given: string, fullPath: string): Promise<number> {
  try {
    const info = await stat(fullPath)
    if (!info.isFile()) throw usageError(`${given} is not a file.`)
    return info.size
  } catch (error) {
    if (isErrno(error, 'ENOENT')) throw usageError(`${given} does not exist.`)
    if (isErrno(error, 'EACCES')) throw usageError(`${given} cannot be read (permission denied).`)
    throw error
  }
}

/**
 * multipart/form-data with one `file` field, produced on demand: the file is read in 64 KB chunks
 * only as fast as the socket takes them, so memory stays flat for any file size. The length is
 * known up front (file size plus the fixed framing), which lets the API refuse an oversized upload
 * before it is sent.
 */
export function multipartFileBody(fullPath: string, size: number, onBytes: (bytes: number) => void): StreamedBody {
  const boundary = `----insighta${randomBytes(12).toString('hex')}`
  // The file name goes into a header: keep it to characters that need no quoting or escaping.
  const filename = path.basename(fullPath).replace(/[^A-Za-z0-9._-]/g, '_')
  const head = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${filename}"\r\nContent-Type: text/csv\r\n\r\n`,
  )
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`)
  let chunks: AsyncIterator<Buffer> | undefined
  let phase: 'head' | 'file' | 'tail' | 'done' = 'head'
  const stream = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        if (phase === 'head') {
          phase = 'file'
          chunks = createReadStream(fullPath, { highWaterMark: CHUNK_SIZE })[Symbol.asyncIterator]()
          controller.enqueue(head)
          return
        }
        if (phase === 'file' && chunks !== undefined) {
          const next = await chunks.next()
          if (!next.done) {
            onBytes(next.value.length)
            controller.enqueue(next.value)
            return
          }
          phase = 'tail'
        }
        if (phase === 'tail') {
          phase = 'done'
          controller.enqueue(tail)
          controller.close()
        }
      },
      async cancel() {
        await chunks?.return?.()
      },
    },
    { highWaterMark: 1 },
  )
  return { stream, contentType: `multipart/form-data; boundary=${boundary}`, length: head.length + size + tail.length }
}
