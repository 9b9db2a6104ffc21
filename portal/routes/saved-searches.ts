/**
 * Saved searches (issue 15): save the current filter or query with a name, list them, run one (its
 * portal URL, which is also the one to share) and delete one. The API validates the query and holds
 * the limits; its messages are shown as they are.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { UUID_PATTERN } from '../../contract/ids.ts'
import { MAX_SAVED_SEARCH_NAME, MAX_SAVED_SEARCH_QUERY } from '../../contract/saved-search.ts'
import { ApiResponseError } from '../api-client.ts'
import { notFound } from '../errors.ts'
import { CsrfField, failedIn, REQUIRED_TEXT_PATTERN, schemaProblems, TEXT_PATTERN } from '../forms.ts'
import { safeBack, savedSearchView } from '../saved.ts'

const SaveBodySchema = Type.Object({
  name: Type.String({ minLength: 1, maxLength: MAX_SAVED_SEARCH_NAME, pattern: REQUIRED_TEXT_PATTERN }),
  query: Type.String({ maxLength: MAX_SAVED_SEARCH_QUERY, pattern: TEXT_PATTERN }),
  back: Type.Optional(Type.String({ maxLength: 2000 })),
  ...CsrfField,
})
const DeleteParamsSchema = Type.Object({ id: Type.String({ pattern: UUID_PATTERN }) })
const DeleteBodySchema = Type.Object({ back: Type.Optional(Type.String({ maxLength: 2000 })), ...CsrfField })

const savedSearchRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { config } = app.portal

  app.get('/saved-searches', async (request, reply) => {
    const saved = await request.callApi((api, ctx) => api.listSavedSearches(ctx))
    return reply.renderPage('saved-searches', { title: 'Saved searches — Insighta Labs+', saved: saved.map((s) => savedSearchView(s, config.publicUrl)) })
  })

  app.post('/saved-searches', { attachValidation: true, schema: { body: SaveBodySchema } }, async (request, reply) => {
    const body = (request.body ?? {}) as Record<string, unknown>
    const back = safeBack(body.back, '/saved-searches')
    if (request.validationError) {
      const nameBad = schemaProblems(request).some((p) => p.field === 'name')
      reply.flash('error', nameBad ? `Give the search a name (up to ${MAX_SAVED_SEARCH_NAME} characters, no control characters).` : 'That search cannot be saved: its query is too long or holds control characters.')
      return reply.redirect(back, 303)
    }
    const input = { name: request.body.name.trim(), query: request.body.query }
    let saved
    try {
      saved = await request.callApi((api, ctx) => api.createSavedSearch(input, ctx), { retry: false })
    } catch (error) {
      if (error instanceof ApiResponseError && [400, 403, 409, 422].includes(error.status)) {
        reply.flash('error', `The search was not saved: ${error.message}.`)
        return reply.redirect(back, 303)
      }
      throw error
    }
    reply.flash('success', `Saved “${saved.name}”. Find it under Saved searches and on the dashboard.`)
    return reply.redirect(back, 303)
  })

  app.post('/saved-searches/:id/delete', { attachValidation: true, schema: { params: DeleteParamsSchema, body: DeleteBodySchema } }, async (request, reply) => {
    if (failedIn(request, 'params')) throw notFound('saved search')
    const back = safeBack(request.validationError ? undefined : request.body.back, '/saved-searches')
    const id = request.params.id
    const gone = await request
      .callApi((api, ctx) => api.deleteSavedSearch(id, ctx))
      .then(() => false)
      .catch((error: unknown) => {
        if (error instanceof ApiResponseError && error.status === 404) return true
        throw error
      })
    reply.flash(gone ? 'info' : 'success', gone ? 'That saved search had already been deleted.' : 'Saved search deleted.')
    return reply.redirect(back, 303)
  })
}

export default savedSearchRoutes
