import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { Type } from 'typebox'
import { UUID_PATTERN, isUuid } from '../../contract/ids.ts'
import { MAX_REJECTS_LISTED, REJECTS_RETENTION_HOURS, type ReasonKey, type RejectedRow } from '../../contract/import-report.ts'
import { ApiResponseError, ApiUnavailableError, type ImportReport } from '../api-client.ts'
import { csrfRejected, PageError } from '../errors.ts'
import { CSRF_FIELD, CSRF_HEADER, csrfTokenMatches } from '../plugins/csrf.ts'
import { wantsJson } from '../plugins/errors.ts'
import { formatBytes } from '../format.ts'
import { randomToken } from '../../platform/crypto.ts'

export const REASON_LABELS: Record<ReasonKey, string> = {
  duplicate_name: 'Name already exists',
  invalid_age: 'Invalid age',
  invalid_gender: 'Invalid gender',
  invalid_country: 'Invalid country',
  invalid_probability: 'Invalid probability',
  missing_fields: 'Missing fields',
  malformed_row: 'Malformed row',
}

interface FilePart {
  filename: string
  mimetype: string
  file: NodeJS.ReadableStream & { truncated?: boolean }
}

/** A header value safe to put between quotes in a multipart header. */
function headerSafe(value: string, fallback: string): string {
  const cleaned = value.replace(/[^\x20-\x7e]/g, '_').replace(/["\\]/g, '_').slice(0, 200)
  return cleaned === '' ? fallback : cleaned
}

/**
 * A new multipart/form-data body with one `file` field, produced as the upload arrives: the
 * browser's bytes go to the API as they are read, never gathered in memory.
 */
function multipartBody(part: FilePart, boundary: string): AsyncIterable<Uint8Array> {
  const head =
    `--${boundary}\r\n` +
    `Content-Disposition: form-data; name="file"; filename="${headerSafe(part.filename, 'upload.csv')}"\r\n` +
    `Content-Type: ${/^[\w.+-]+\/[\w.+-]+$/.test(part.mimetype) ? part.mimetype : 'text/csv'}\r\n\r\n`
  return (async function* () {
    yield Buffer.from(head)
    for await (const chunk of part.file) yield typeof chunk === 'string' ? Buffer.from(chunk) : chunk
    if (part.file.truncated) throw new PageError(413, 'too large')
    yield Buffer.from(`\r\n--${boundary}--\r\n`)
  })()
}

/** A template to start from: the header and three rows, one of each age group's kind. */
export const TEMPLATE_CSV =
  'name,gender,age,country_id,gender_probability,country_probability\r\n' +
  'Amara Okafor,female,29,NG,0.97,0.81\r\n' +
  '"Okonkwo, Chidi",male,35,NG,0.98,0.66\r\n' +
  'Wanjiru Kamau,female,8,KE,0.93,0.71\r\n'

const REJECTS_LINK = /^\/api\/profiles\/imports\/([0-9a-f-]{36})\/rejects$/

/** What the flash cookie carries (a few hundred bytes): the counts, and the import's id when rows were skipped. */
function flashReport(report: ImportReport) {
  const { rejected: _rejected, links, ...counts } = report
  const importId = links.rejects ? REJECTS_LINK.exec(links.rejects)?.[1] : undefined
  return importId ? { report: counts, importId } : { report: counts }
}

function reportSummary(report: ImportReport): string {
  return `Imported ${report.inserted.toLocaleString('en-GB')} of ${report.total_rows.toLocaleString('en-GB')} rows; ${report.skipped.toLocaleString('en-GB')} skipped.`
}

export default async function importRoutes(app: FastifyInstance) {
  const { config } = app.portal

  app.get('/import', { config: { portalAccess: 'admin' } }, async (request, reply) => {
    const importId = reply.takeFlash()?.data?.importId
    let rejects: { rows: RejectedRow[]; total: number; href: string } | { error: string } | undefined
    if (typeof importId === 'string' && isUuid(importId)) {
      try {
        const { data, total } = await request.callApi((api, ctx) => api.importRejects(importId, ctx))
        rejects = { rows: data, total, href: `/import/${importId}/rejects.csv` }
      } catch (error) {
        if (!(error instanceof ApiResponseError || error instanceof ApiUnavailableError)) throw error
        rejects = { error: 'The list of skipped rows could not be loaded; the counts above are complete.' }
      }
    }
    return reply.renderPage('import', {
      title: 'Import profiles — Insighta Labs+',
      reasonLabels: REASON_LABELS,
      maxSize: formatBytes(config.uploadLimitBytes),
      rejects,
      maxListed: MAX_REJECTS_LISTED,
      retentionHours: REJECTS_RETENTION_HOURS,
    })
  })

  app.get('/import/template.csv', { config: { portalAccess: 'admin' } }, async (_request, reply) => {
    return reply
      .type('text/csv; charset=utf-8')
      .header('content-disposition', 'attachment; filename="insighta-import-template.csv"')
      .send(TEMPLATE_CSV)
  })

  /** Every skipped row of one of this admin's imports, streamed from the API (formula cells neutralised). */
  app.get<{ Params: { id: string } }>(
    '/import/:id/rejects.csv',
    { config: { portalAccess: 'admin' }, schema: { params: Type.Object({ id: Type.String({ pattern: UUID_PATTERN }) }) }, attachValidation: true },
    async (request, reply) => {
      if (request.validationError) throw new PageError(404, 'There is no such import.')
      const id = request.params.id
      let answer
      try {
        answer = await request.callApi((api, ctx) => api.importRejectsCsv(id, ctx))
      } catch (error) {
        if (error instanceof ApiResponseError && error.status === 404) {
          throw new PageError(404, `These skipped rows are no longer available: they are kept for ${REJECTS_RETENTION_HOURS} hours, for the admin who imported.`)
        }
        throw error
      }
      const source = answer.body
      source.once('close', answer.done)
      return reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', answer.header('content-disposition') ?? `attachment; filename="import_${id}_rejects.csv"`)
        .header('cache-control', 'no-store')
        .send(source)
    },
  )

  /** Ends an upload: JSON for the script's XHR, otherwise a flash and a redirect (POST → redirect → GET). */
  function finish(request: FastifyRequest, reply: FastifyReply, kind: 'success' | 'error', text: string, report?: ImportReport) {
    reply.flash(kind, text, report ? flashReport(report) : undefined)
    if (wantsJson(request)) return reply.code(kind === 'success' ? 200 : 400).send({ status: kind === 'success' ? 'success' : 'error', message: text, redirect: '/import' })
    return reply.redirect('/import', 303)
  }

  app.post('/import', { config: { portalAccess: 'admin', portalCsrf: 'in-handler' } }, async (request, reply) => {
    if (!request.isMultipart()) throw new PageError(415, 'Choose a CSV file with the form on the import page.')
    let csrfOk = request.headers[CSRF_HEADER] !== undefined && csrfTokenMatches(request, request.headers[CSRF_HEADER])
    let filePart: FilePart | undefined
    const parts = request.parts({ limits: { fileSize: config.uploadLimitBytes, files: 1, fields: 4, fieldSize: 200 } })
    for await (const part of parts) {
      if (part.type === 'field') {
        // The token comes before the file in the form, so it is checked before a byte is forwarded.
        if (part.fieldname === CSRF_FIELD) csrfOk = csrfOk || csrfTokenMatches(request, part.value)
        continue
      }
      if (!csrfOk) throw csrfRejected()
      if (part.fieldname !== 'file') {
        part.file.resume()
        continue
      }
      filePart = part
      break
    }
    if (!csrfOk) throw csrfRejected()
    if (!filePart || filePart.filename === '') return finish(request, reply, 'error', 'Choose a CSV file to import.')

    const boundary = `insighta-${randomToken(18)}`
    const body = multipartBody(filePart, boundary)
    try {
      const report = await request.callApi((api, ctx) => api.importProfiles(body, `multipart/form-data; boundary=${boundary}`, ctx), { retry: false })
      return finish(request, reply, 'success', reportSummary(report), report)
    } catch (error) {
      filePart.file.resume()
      if (filePart.file.truncated || (error instanceof Error && (error as { code?: string }).code === 'FST_REQ_FILE_TOO_LARGE')) {
        return finish(request, reply, 'error', `That file is larger than the ${formatBytes(config.uploadLimitBytes)} the portal accepts.`)
      }
      if (error instanceof ApiResponseError) {
        if (error.status === 404 || error.status === 405) return finish(request, reply, 'error', 'Importing is not available on this server yet.')
        if (error.status === 401) return finish(request, reply, 'error', 'Your session was renewed during the upload; please choose the file and upload again.')
        if (error.status < 500) return finish(request, reply, 'error', `The import was refused: ${error.message}`)
      }
      if (error instanceof ApiUnavailableError) {
        return finish(request, reply, 'error', 'The upload did not reach the data service. Nothing may have been imported; check the profiles before trying again.')
      }
      throw error
    }
  })
}
