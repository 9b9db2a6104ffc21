import type { FastifyInstance } from 'fastify'
import { dashboardCharts } from '../charts.ts'
import { filterChips, filterParams, hasFilters, parseListQuery } from '../filters.ts'
import { href } from '../format.ts'
import { filterFormModel } from './profiles.ts'

export default async function dashboardRoutes(app: FastifyInstance) {
  app.get('/', async (request, reply) => {
    const parsed = parseListQuery(request.query, { paging: false })
    const form = filterFormModel(parsed)
    const title = 'Dashboard — Insighta Labs+'
    if (Object.keys(parsed.errors).length > 0) return reply.renderPage('dashboard', { title, form, stats: null, charts: null, chips: [] }, 422)
    const params = filterParams(parsed.filter)
    const stats = await request.callApi((api, ctx) => api.profileStats(params, ctx))
    return reply.renderPage('dashboard', {
      title,
      form,
      stats,
      charts: dashboardCharts(stats),
      chips: filterChips(parsed.filter),
      filtered: hasFilters(parsed.filter),
      profilesHref: href('/profiles', params),
    })
  })
}
