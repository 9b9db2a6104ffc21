import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { SEARCH_EXAMPLES } from '../../contract/nl-parser.ts'
import type { ProfileFilter } from '../../contract/profile-filter.ts'
import { MAX_QUERY_LENGTH } from '../../contract/profile-query.ts'
import { ApiResponseError } from '../api-client.ts'
import { facetPanel, ownFieldCounts, PORTAL_FACETS, withOwnFieldCounts } from '../facets.ts'
import { queryToSave } from '../saved.ts'
import { filterChips, filterParams, PAGE_SIZES, pageParams, parsedQuery, profileQueryHook, SearchPageQuerySchema, sortParams, takeCursorError, withoutField } from '../filters.ts'
import { href, sentence } from '../format.ts'
import { cursorProblemModel, tableModel } from '../table.ts'

const searchRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/search', { preValidation: profileQueryHook, attachValidation: true, schema: { querystring: SearchPageQuerySchema } }, async (request, reply) => {
    const parsed = parsedQuery(request)
    const badCursor = takeCursorError(parsed)
    const q = (parsed.values.q ?? '').trim()
    const title = q ? `“${q.slice(0, 60)}” — Search — Insighta Labs+` : 'Search — Insighta Labs+'
    const common = { title, q, examples: SEARCH_EXAMPLES, pageSizes: PAGE_SIZES, maxLength: MAX_QUERY_LENGTH }
    if (parsed.errors.q) return reply.renderPage('search', { ...common, state: 'invalid', problem: parsed.errors.q }, 422)
    if (q === '') return reply.renderPage('search', { ...common, state: 'empty' })
    const pagingErrors = ['sort_by', 'order', 'page', 'limit'].filter((k) => parsed.errors[k] !== undefined)
    if (pagingErrors.length > 0) {
      return reply.renderPage('search', { ...common, state: 'invalid', problem: pagingErrors.map((k) => parsed.errors[k]).join(' ') }, 422)
    }
    // A Next link whose cursor the portal or the API refuses: say so, and offer that page by number.
    const cursorProblem = (message: string) =>
      reply.renderPage('search', { ...common, state: 'cursor', cursorProblem: cursorProblemModel('/search', { q }, parsed.paging, message) }, 422)
    if (badCursor !== undefined) return cursorProblem(badCursor)
    // How the query was read comes from the API (`interpreted`): the portal does no parsing of its own.
    let envelope
    try {
      envelope = await request.callApi((api, ctx) =>
        api.searchExplained({ q, ...sortParams(parsed.paging), ...pageParams(parsed.paging), facets: PORTAL_FACETS }, ctx),
      )
    } catch (error) {
      if (parsed.paging.cursor !== undefined && error instanceof ApiResponseError && error.status === 422) return cursorProblem(sentence(error.message))
      if (error instanceof ApiResponseError && error.status === 400) {
        const examples = error.examples && error.examples.length > 0 ? error.examples : SEARCH_EXAMPLES
        return reply.renderPage('search', { ...common, examples, state: 'uninterpretable' })
      }
      throw error
    }
    const understood: ProfileFilter = envelope.interpreted.filter
    const ownCounts = await ownFieldCounts(request, understood)
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
      facetGroups: facetPanel('/profiles', understood, parsed.paging, withOwnFieldCounts(understood, envelope.facets, ownCounts)),
      saveQuery: queryToSave({ q, ...sortParams(parsed.paging) }),
      saveBack: request.url,
    })
  })
}

export default searchRoutes
