import type { IncomingMessage } from 'node:http'
import { Readable } from 'node:stream'
import { finished } from 'node:stream/promises'
import multipart from '@fastify/multipart'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { ImportReportSchema } from '../../../contract/import-report.ts'
import { ApiError } from '../../errors.ts'
import { ErrorSchema } from '../../../contract/envelope.ts'
import { isUuid } from '../../../contract/ids.ts'
import { MAX_REJECTS_LISTED, RejectedRowSchema, REJECTS_RETENTION_HOURS } from '../../../contract/import-report.ts'
import { SafeText } from '../../../contract/text.ts'
import { CsvImportError, ProfileCsvImport } from '../../services/csv-import/import.ts'
import { firstImportRejects, importRejectsCsv, ownsLiveImport } from '../../services/csv-import/rejects.ts'

export interface CsvImportLimits {
  /** the largest upload accepted, in bytes of the multipart body (IMPORT_MAX_BYTES) */
  maxBytes: number
  /** the most data rows per file (IMPORT_MAX_ROWS) */
  maxRows: number
  /** batches written at once, each on its own pooled connection (IMPORT_WRITERS) */
  writers: number
  /** an upload that sends nothing for this long (while the importer waits for it) is aborted: 408 */
  idleTimeoutMs: number
}

declare module 'fastify' {
  interface FastifyInstance {
    /** limits of POST /api/profiles/import, from the configuration */
    csvImport: CsvImportLimits
  }
}

const ADMINS = ['admin'] as const
const FILE_FIELD = 'file'


const ImportErrorSchema = Type.Object({
  status: Type.Literal('error'),
  message: Type.String(),
  /** what was committed before the import stopped (limits reached midway) */
  report: Type.Optional(ImportReportSchema),
})

const missingFile = () => new ApiError(400, `Missing file: send the CSV as the multipart/form-data field "${FILE_FIELD}"`)
const tooLarge = (maxBytes: number) => `File too large: uploads are limited to ${maxBytes} bytes`

/**
 * POST /api/profiles/import — a CSV of profiles, streamed from the multipart body into the database
 * (api/services/csv-import/). Multipart parsing is registered here only, so no other route accepts
 * multipart bodies.
 */
const importRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const limits = app.csvImport
  await app.register(multipart, {
    limits: { files: 1, fileSize: limits.maxBytes, fields: 5, fieldSize: 1024, parts: 10, headerPairs: 20 },
  })

  /** Before any byte is read: a non-multipart body is a 400, a declared length over the limit a 413. */
  async function checkUpload(request: FastifyRequest) {
    if (!/^multipart\/form-data\b/i.test(request.headers['content-type'] ?? '')) throw missingFile()
    const length = Number(request.headers['content-length'])
    // Nothing is written: the size is known before the first row. Closing the connection spares
    // reading the rest of a body we refuse.
    if (length > limits.maxBytes) throw new ApiError(413, tooLarge(limits.maxBytes), { connection: 'close' })
  }

  app.post(
    '/import',
    {
      config: { access: ADMINS },
      onRequest: checkUpload,
      schema: {
        summary: 'Import profiles from a CSV file (multipart/form-data, field "file")',
        description:
          'Header row with name, gender, age, country_id, gender_probability, country_probability in any order ' +
          '(country_name optional and ignored, other columns ignored). Bad rows are skipped and counted by reason; ' +
          'rows are written in batches that stay committed if the upload stops midway. See docs/import.md.',
        tags: ['profiles'],
        consumes: ['multipart/form-data'],
        response: {
          200: Type.Object({ status: Type.Literal('success'), ...ImportReportSchema.properties }),
          400: ImportErrorSchema,
          408: ImportErrorSchema,
          413: ImportErrorSchema,
        },
      },
    },
    async (request, reply: FastifyReply) => {
      const file = await uploadedFile(request)
      const job = new ProfileCsvImport(app.db.db, { userId: request.user!.id, maxRows: limits.maxRows, concurrency: limits.writers })
      // Only a body without Content-Length gets here over the limit: the rows before it stay written.
      // The parser may have hit the limit before this handler saw the file: check both ways.
      const overLimit = () => job.abort(new CsvImportError(413, tooLarge(limits.maxBytes)))
      file.once('limit', overLimit)
      if (file.truncated) overLimit()
      const stopWatching = watchStalledUpload(request.raw, limits.idleTimeoutMs, () => {
        request.log.warn({ idleMs: limits.idleTimeoutMs }, 'CSV import aborted: the upload stalled')
        // The importer waits on the next chunk, which will not come: end its input with the error.
        file.destroy(new CsvImportError(408, `Upload stalled: no data received for ${Math.round(limits.idleTimeoutMs / 1000)} s`))
      })
      try {
        const report = await job.run(file)
        return { status: 'success' as const, ...report }
      } catch (error) {
        if (error instanceof CsvImportError) {
          const body = { status: 'error' as const, message: error.message }
          // A stalled client will not send the rest of its body: answer, then close the connection.
          if (error.statusCode === 408) reply.header('connection', 'close')
          return reply.code(error.statusCode as 400 | 408 | 413).send(error.report ? { ...body, report: error.report } : body)
        }
        if (request.raw.destroyed) request.log.warn({ report: job.report }, 'CSV import cut short by the client')
        throw error
      } finally {
        stopWatching()
        // Once per import, after the last batch — also when it stopped midway with rows written.
        if (job.report.inserted > 0) await app.queryCache.invalidate()
      }
    },
  )

  app.get(
    '/imports/:id/rejects',
    {
      config: { access: ADMINS },
      schema: {
        summary: "Every row an import skipped, as CSV (line,reason,raw): the import report's links.rejects",
        description:
          `Kept for ${REJECTS_RETENTION_HOURS} hours, for the admin who imported (404 for anyone else or after that). ` +
          "`safe=true` prefixes a raw value a spreadsheet would run as a formula with a `'`, as export does. See docs/import.md.",
        tags: ['profiles'],
        params: Type.Object({ id: SafeText() }),
        querystring: Type.Object(
          {
            safe: Type.Optional(Type.Boolean()),
            format: Type.Optional(
              Type.Union([Type.Literal('csv'), Type.Literal('json')], {
                description: `csv (default): every row; json: the first ${MAX_REJECTS_LISTED} and the total`,
              }),
            ),
          },
          { additionalProperties: true },
        ),
        produces: ['text/csv', 'application/json'],
        response: {
          200: Type.Union([
            Type.Unsafe<Readable>({ type: 'string', description: 'text/csv; charset=utf-8, RFC 4180, header row first' }),
            Type.Object({ status: Type.Literal('success'), data: Type.Array(RejectedRowSchema), total: Type.Integer() }),
          ]),
          404: ErrorSchema,
        },
      },
    },
    async (request, reply) => {
      const id = request.params.id
      const owned = isUuid(id) && (await ownsLiveImport(app.db.db, id, request.user!.id))
      if (owned && request.query.format === 'json') {
        return { status: 'success' as const, ...(await firstImportRejects(app.db.db, id)) }
      }
      const rows = owned ? importRejectsCsv(app.db.db, id, { neutraliseFormulas: request.query.safe === true }) : undefined
      if (!rows) throw new ApiError(404, `Import not found: its rejected rows are kept for ${REJECTS_RETENTION_HOURS} hours, for the admin who imported`)
      reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="import_${id}_rejects.csv"`)
        .header('cache-control', 'no-store')
      return reply.send(Readable.from(rows))
    },
  )
}

/**
 * Calls `onStall` once when the request body has sent nothing for `idleMs` while we were ready to
 * read it. Time the body spends paused by backpressure (the importer is writing) does not count:
 * that wait is ours, not the client's. Returns the function that stops watching.
 */
function watchStalledUpload(raw: IncomingMessage, idleMs: number, onStall: () => void): () => void {
  let last = performance.now()
  const onData = () => {
    last = performance.now()
  }
  raw.on('data', onData)
  const timer = setInterval(() => {
    if (raw.readableEnded || raw.destroyed) return stop()
    if (raw.isPaused()) last = performance.now()
    else if (performance.now() - last >= idleMs) {
      stop()
      onStall()
    }
  }, Math.max(25, Math.min(1000, Math.floor(idleMs / 4))))
  timer.unref()
  function stop() {
    clearInterval(timer)
    raw.off('data', onData)
  }
  return stop
}

/** The uploaded file's stream; 400 when the form has no file part named "file". */
async function uploadedFile(request: FastifyRequest) {
  let part
  try {
    part = await request.file()
  } catch (error) {
    if (request.raw.destroyed) throw error
    const status = (error as { statusCode?: unknown }).statusCode
    if (status === 413) throw new ApiError(413, `Too many form fields or files: send one CSV file as the field "${FILE_FIELD}"`)
    throw new ApiError(400, 'Malformed multipart/form-data body')
  }
  if (!part) throw missingFile()
  if (part.fieldname !== FILE_FIELD) {
    part.file.resume()
    await finished(part.file).catch(() => {})
    throw missingFile()
  }
  return part.file
}

export default importRoutes
