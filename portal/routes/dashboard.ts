import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { dashboardCharts } from '../charts.ts'
import { DashboardQuerySchema, filterChips, filterParams, hasErrors, hasFilters, invertedAgeRange, parsedQuery, profileQueryHook, withoutField } from '../filters.ts'
import { href } from '../format.ts'
import { filterFormModel } from './profiles.ts'
import { ApiResponseError, type ApiClient, type CallContext } from '../api-client.ts'
import { savedSearchView } from '../saved.ts'

/** The user's saved searches for the dashboard's list; an API without them gives an empty list. */
function savedSearchesFor(api: ApiClient, ctx: CallContext) {
  return api.listSavedSearches(ctx).catch((error: unknown) => {
    if (error instanceof ApiResponseError && (error.status === 404 || error.status === 405)) return []
    throw error
  })
}

const dashboardRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/', { preValidation: profileQueryHook, attachValidation: true, schema: { querystring: DashboardQuerySchema } }, async (request, reply) => {
    const parsed = parsedQuery(request)
    const form = filterFormModel(parsed)
    const title = 'Dashboard — Insighta Labs+'
    if (hasErrors(parsed)) return reply.renderPage('dashboard', { title, form, stats: null, charts: null, chips: [] }, 422)
    const params = filterParams(parsed.filter)
    const [stats, saved] = await request.callApi((api, ctx) => Promise.all([api.profileStats(params, ctx), savedSearchesFor(api, ctx)]))
    return reply.renderPage('dashboard', {
      title,
      form,
      stats,
      charts: dashboardCharts(stats),
      chips: filterChips(parsed.filter).map((chip) => ({ ...chip, removeHref: href('/', filterParams(withoutField(parsed.filter, chip.field))) })),
      filtered: hasFilters(parsed.filter),
      inverted: invertedAgeRange(parsed.filter),
      swapHref: invertedAgeRange(parsed.filter)
        ? href('/', { ...filterParams({ ...parsed.filter, min_age: parsed.filter.max_age, max_age: parsed.filter.min_age }) })
        : undefined,
      profilesHref: href('/profiles', params),
      savedSearches: saved.map((s) => savedSearchView(s, app.portal.config.publicUrl)),
    })
  })
}

export default dashboardRoutes
