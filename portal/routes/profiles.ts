import type { FastifyInstance, FastifyReply } from 'fastify'
import { AGE_GROUPS } from '../../contract/profile-filter.ts'
import { ApiResponseError } from '../api-client.ts'
import { notFound, PageError } from '../errors.ts'
import { COUNTRY_OPTIONS, filterParams, hasFilters, PAGE_SIZES, parseListQuery, sortParams, type ParsedQuery } from '../filters.ts'
import { href } from '../format.ts'
import { tableModel } from '../table.ts'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
const MAX_NAME_LENGTH = 200

/** What every filter form needs to render. */
export function filterFormModel(parsed: ParsedQuery) {
  return { values: parsed.values, errors: parsed.errors, countries: COUNTRY_OPTIONS, ageGroups: AGE_GROUPS, pageSizes: PAGE_SIZES }
}

function profileId(params: unknown): string {
  const id = (params as { id?: unknown }).id
  if (typeof id !== 'string' || !UUID.test(id)) throw notFound('profile')
  return id.toLowerCase()
}

function formField(body: unknown, key: string): string {
  const value = typeof body === 'object' && body !== null ? (body as Record<string, unknown>)[key] : undefined
  return typeof value === 'string' ? value : ''
}

export default async function profileRoutes(app: FastifyInstance) {
  app.get('/profiles', async (request, reply) => {
    const parsed = parseListQuery(request.query)
    const form = filterFormModel(parsed)
    const title = 'Profiles — Insighta Labs+'
    if (Object.keys(parsed.errors).length > 0) return reply.renderPage('profiles', { title, form, table: null, exportHref: null, filtered: true }, 422)
    const envelope = await request.callApi((api, ctx) =>
      api.listProfiles({ ...filterParams(parsed.filter), ...sortParams(parsed.paging), page: parsed.paging.page, limit: parsed.paging.limit }, ctx),
    )
    const base = filterParams(parsed.filter)
    return reply.renderPage('profiles', {
      title,
      form,
      table: tableModel('/profiles', base, parsed.paging, envelope),
      exportHref: href('/profiles/export', { ...base, ...sortParams(parsed.paging) }),
      dashboardHref: href('/', base),
      filtered: hasFilters(parsed.filter),
    })
  })

  // The CSV streams from the API through the portal to the browser, chunk by chunk: never buffered.
  app.get('/profiles/export', async (request, reply: FastifyReply) => {
    const parsed = parseListQuery(request.query)
    if (Object.keys(parsed.errors).length > 0) throw new PageError(422, 'The export filters are not valid. Go back to the profiles page and check them.')
    const answer = await request.callApi((api, ctx) => api.exportProfiles({ ...filterParams(parsed.filter), ...sortParams(parsed.paging) }, ctx))
    const stream = answer.body
    stream.once('close', answer.done)
    reply
      .type(answer.header('content-type') ?? 'text/csv; charset=utf-8')
      .header('content-disposition', answer.header('content-disposition') ?? 'attachment; filename="profiles.csv"')
      .header('cache-control', 'no-store')
    return reply.send(stream)
  })

  app.get('/profiles/new', { config: { portalAccess: 'admin' } }, async (_request, reply) => {
    return reply.renderPage('profile-new', { title: 'New profile — Insighta Labs+', maxNameLength: MAX_NAME_LENGTH })
  })

  app.post('/profiles', { config: { portalAccess: 'admin' } }, async (request, reply) => {
    const name = formField(request.body, 'name').trim()
    const retry = (text: string) => {
      reply.flash('error', text, { name: name.slice(0, MAX_NAME_LENGTH + 50) })
      return reply.redirect('/profiles/new', 303)
    }
    if (name === '') return retry('Enter a name to create a profile.')
    if (name.length > MAX_NAME_LENGTH) return retry(`A name can be at most ${MAX_NAME_LENGTH} characters.`)
    try {
      const { created, profile } = await request.callApi((api, ctx) => api.createProfile(name, ctx))
      if (created) reply.flash('success', `Created the profile “${profile.name}”.`)
      else reply.flash('info', `A profile named “${profile.name}” already exists; here it is.`)
      return reply.redirect(`/profiles/${profile.id}`, 303)
    } catch (error) {
      if (error instanceof ApiResponseError && error.status === 502) {
        return retry(`Could not create “${name}”: ${error.message}. Nothing was saved; you can try again later.`)
      }
      if (error instanceof ApiResponseError && (error.status === 400 || error.status === 422)) return retry(`Could not create “${name}”: ${error.message}.`)
      throw error
    }
  })

  app.get('/profiles/:id', async (request, reply) => {
    const id = profileId(request.params)
    const profile = await request.callApi((api, ctx) => api.getProfile(id, ctx)).catch((error: unknown) => {
      if (error instanceof ApiResponseError && error.status === 404) throw notFound('profile')
      throw error
    })
    return reply.renderPage('profile', { title: `${profile.name} — Insighta Labs+`, profile })
  })

  app.get('/profiles/:id/delete', { config: { portalAccess: 'admin' } }, async (request, reply) => {
    const id = profileId(request.params)
    const profile = await request.callApi((api, ctx) => api.getProfile(id, ctx)).catch((error: unknown) => {
      if (error instanceof ApiResponseError && error.status === 404) throw notFound('profile')
      throw error
    })
    return reply.renderPage('profile-delete', { title: `Delete ${profile.name}? — Insighta Labs+`, profile })
  })

  app.post('/profiles/:id/delete', { config: { portalAccess: 'admin' } }, async (request, reply) => {
    const id = profileId(request.params)
    const name = formField(request.body, 'name').slice(0, MAX_NAME_LENGTH)
    try {
      await request.callApi((api, ctx) => api.deleteProfile(id, ctx))
    } catch (error) {
      if (error instanceof ApiResponseError && error.status === 404) {
        reply.flash('info', 'That profile had already been deleted.')
        return reply.redirect('/profiles', 303)
      }
      throw error
    }
    reply.flash('success', name ? `Deleted the profile “${name}”.` : 'Deleted the profile.')
    return reply.redirect('/profiles', 303)
  })
}
