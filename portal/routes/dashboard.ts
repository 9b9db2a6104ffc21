import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { dashboardCharts } from '../charts.ts'
import { DashboardQuerySchema, filterChips, filterParams, hasErrors, hasFilters, invertedAgeRange, parsedQuery, profileQueryHook, withoutField } from '../filters.ts'
import { href } from '../format.ts'
import { filterFormModel } from './profiles.ts'

const dashboardRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/', { preValidation: profileQueryHook, attachValidation: true, schema: { querystring: DashboardQuerySchema } }, async (request, reply) => {
    const parsed = parsedQuery(request)
    const form = filterFormModel(parsed)
    const title = 'Dashboard — Insighta Labs+'
    if (hasErrors(parsed)) return reply.renderPage('dashboard', { title, form, stats: null, charts: null, chips: [] }, 422)
    const params = filterParams(parsed.filter)
    const stats = await request.callApi((api, ctx) => api.profileStats(params, ctx))
    return reply.renderPage('dashboard', {
      title,
      form,
      stats,
      charts: dashboardCharts(stats),
      chips: filterChips(parsed.filter).map((chip) => ({ ...chip, removeHref: href('/', filterParams(withoutField(parsed.filter, chip.field))) })),
      filtered: hasFilters(parsed.filter),
      inverted: invertedAgeRange(parsed.filter),
      profilesHref: href('/profiles', params),
    })
  })
}

export default dashboardRoutes
