import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { parseProfileQuery } from '../../contract/nl-parser.ts'
import { MAX_QUERY_LENGTH } from '../../contract/profile-query.ts'
import { ApiResponseError } from '../api-client.ts'
import { filterChips, filterParams, PAGE_SIZES, parsedQuery, profileQueryHook, SearchPageQuerySchema, sortParams, withoutField } from '../filters.ts'
import { href } from '../format.ts'
import { tableModel } from '../table.ts'

export const SEARCH_EXAMPLES = [
  'young males from nigeria',
  'females above 30',
  'adult males from kenya',
  'teenagers in ghana',
  'women aged 20–45 living in nigeria',
  'seniors from angola',
] as const

const searchRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/search', { preValidation: profileQueryHook, attachValidation: true, schema: { querystring: SearchPageQuerySchema } }, async (request, reply) => {
    const parsed = parsedQuery(request)
    const q = (parsed.values.q ?? '').trim()
    const title = q ? `“${q.slice(0, 60)}” — Search — Insighta Labs+` : 'Search — Insighta Labs+'
    const common = { title, q, examples: SEARCH_EXAMPLES, pageSizes: PAGE_SIZES, maxLength: MAX_QUERY_LENGTH }
    if (parsed.errors.q) return reply.renderPage('search', { ...common, state: 'invalid', problem: parsed.errors.q }, 422)
    if (q === '') return reply.renderPage('search', { ...common, state: 'empty' })
    const pagingErrors = ['sort_by', 'order', 'page', 'limit'].filter((k) => parsed.errors[k] !== undefined)
    if (pagingErrors.length > 0) {
      return reply.renderPage('search', { ...common, state: 'invalid', problem: pagingErrors.map((k) => parsed.errors[k]).join(' ') }, 422)
    }
    // The parser is pure and shared with the API, so the chips show exactly what the API will apply.
    const understood = parseProfileQuery(q)
    if (!understood) return reply.renderPage('search', { ...common, state: 'uninterpretable' })
    let envelope
    try {
      envelope = await request.callApi((api, ctx) =>
        api.searchProfiles({ q, ...sortParams(parsed.paging), page: parsed.paging.page, limit: parsed.paging.limit }, ctx),
      )
    } catch (error) {
      if (error instanceof ApiResponseError && error.status === 400) return reply.renderPage('search', { ...common, state: 'uninterpretable' })
      throw error
    }
    const chips = filterChips(understood).map((chip) => ({ ...chip, removeHref: href('/profiles', filterParams(withoutField(understood, chip.field))) }))
    return reply.renderPage('search', {
      ...common,
      state: 'results',
      chips,
      profilesHref: href('/profiles', filterParams(understood)),
      dashboardHref: href('/', filterParams(understood)),
      exportHref: href('/profiles/export', { ...filterParams(understood), ...sortParams(parsed.paging) }),
      table: tableModel('/search', { q }, parsed.paging, envelope),
    })
  })
}

export default searchRoutes
