import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { SEARCH_EXAMPLES } from '../../contract/nl-parser.ts'
import type { ProfileFilter } from '../../contract/profile-filter.ts'
import { MAX_QUERY_LENGTH } from '../../contract/profile-query.ts'
import { ApiResponseError } from '../api-client.ts'
import { facetPanel, PORTAL_FACETS } from '../facets.ts'
import { queryToSave } from '../saved.ts'
import { filterChips, filterParams, PAGE_SIZES, parsedQuery, profileQueryHook, SearchPageQuerySchema, sortParams, withoutField } from '../filters.ts'
import { href } from '../format.ts'
import { tableModel } from '../table.ts'

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
    // How the query was read comes from the API (`interpreted`): the portal does no parsing of its own.
    let envelope
    try {
      envelope = await request.callApi((api, ctx) =>
        api.searchExplained({ q, ...sortParams(parsed.paging), page: parsed.paging.page, limit: parsed.paging.limit, facets: PORTAL_FACETS }, ctx),
      )
    } catch (error) {
      if (error instanceof ApiResponseError && error.status === 400) {
        const examples = error.examples && error.examples.length > 0 ? error.examples : SEARCH_EXAMPLES
        return reply.renderPage('search', { ...common, examples, state: 'uninterpretable' })
      }
      throw error
    }
    const understood: ProfileFilter = envelope.interpreted.filter
    const chips = filterChips(understood).map((chip) => ({ ...chip, removeHref: href('/profiles', filterParams(withoutField(understood, chip.field))) }))
    return reply.renderPage('search', {
      ...common,
      state: 'results',
      chips,
      ignoredWords: envelope.interpreted.ignored_words,
      profilesHref: href('/profiles', filterParams(understood)),
      dashboardHref: href('/', filterParams(understood)),
      exportHref: href('/profiles/export', { ...filterParams(understood), ...sortParams(parsed.paging) }),
      table: tableModel('/search', { q }, parsed.paging, envelope),
      // a search's facets refine what it understood, on the Profiles page (filters live in that URL)
      facetGroups: facetPanel('/profiles', understood, parsed.paging, envelope.facets),
      saveQuery: queryToSave({ q, ...sortParams(parsed.paging) }),
      saveBack: request.url,
    })
  })
}

export default searchRoutes
