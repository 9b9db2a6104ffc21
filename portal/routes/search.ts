import type { FastifyInstance } from 'fastify'
import { parseProfileQuery } from '../../contract/nl-parser.ts'
import { ApiResponseError } from '../api-client.ts'
import { filterChips, filterParams, PAGE_SIZES, parseListQuery, sortParams, withoutField } from '../filters.ts'
import { href } from '../format.ts'
import { tableModel } from '../table.ts'

const MAX_QUERY_LENGTH = 500

export const SEARCH_EXAMPLES = [
  'young males from nigeria',
  'females above 30',
  'adult males from kenya',
  'teenagers in ghana',
  'women aged 20–45 living in nigeria',
  'seniors from angola',
] as const

export default async function searchRoutes(app: FastifyInstance) {
  app.get('/search', async (request, reply) => {
    const query = request.query as Record<string, unknown>
    const raw = typeof query.q === 'string' ? query.q : ''
    const q = raw.trim()
    const parsed = parseListQuery(query)
    const title = q ? `“${q.slice(0, 60)}” — Search — Insighta Labs+` : 'Search — Insighta Labs+'
    const common = { title, q, examples: SEARCH_EXAMPLES, pageSizes: PAGE_SIZES, maxLength: MAX_QUERY_LENGTH }
    if (q === '') return reply.renderPage('search', { ...common, state: 'empty' })
    if (q.length > MAX_QUERY_LENGTH || Array.isArray(query.q)) {
      return reply.renderPage('search', { ...common, q: q.slice(0, MAX_QUERY_LENGTH), state: 'invalid', problem: `A search can be at most ${MAX_QUERY_LENGTH} characters.` }, 422)
    }
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
