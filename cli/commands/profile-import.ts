import { randomBytes } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import path from 'node:path'
import { Command } from 'commander'
import type { CliContext } from '../context.ts'
import { isErrno, isRecord } from '../credentials.ts'
import { usageError } from '../errors.ts'
import type { StreamedBody } from '../http.ts'
import { formatBytes } from '../output.ts'
import { keyValues } from '../views.ts'
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
  return withExamples(command, ['insighta profiles import people.csv', 'insighta profiles import people.csv --json']).action(
    async (file: string, options: { json?: boolean }) => importProfiles(ctx, file, options.json === true),
  )
}

async function importProfiles(ctx: CliContext, file: string, json: boolean): Promise<void> {
  const fullPath = path.resolve(file)
  const size = await fileSize(file, fullPath)
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
  if (json) return printJson(ctx, body)
  const counts = (key: string) => (typeof body[key] === 'number' ? body[key] : '-')
  ctx.out.print(`Imported ${path.basename(fullPath)}: ${counts('total_rows')} rows, ${counts('inserted')} inserted, ${counts('skipped')} skipped.`)
  const reasons = isRecord(body.reasons) ? Object.entries(body.reasons).filter(([, n]) => typeof n === 'number' && n > 0) : []
  if (reasons.length > 0) ctx.out.print(keyValues(reasons.map(([reason, n]) => [`  ${reason}`, typeof n === 'number' ? n : null])))
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
