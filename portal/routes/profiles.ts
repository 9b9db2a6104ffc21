import { pipeline } from 'node:stream'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { Type } from 'typebox'
import { UUID_PATTERN } from '../../contract/ids.ts'
import { AGE_GROUPS } from '../../contract/profile-filter.ts'
import { MAX_NAME_LENGTH } from '../../contract/profile.ts'
import { ApiResponseError } from '../api-client.ts'
import { CsvFormulaNeutraliser } from '../csv-neutralise.ts'
import { notFound, PageError } from '../errors.ts'
import {
  COUNTRY_OPTIONS,
  eitherOrOptions,
  filterParams,
  hasErrors,
  hasFilters,
  invertedAgeRange,
  PAGE_SIZES,
  pageParams,
  parsedQuery,
  profileQueryHook,
  ProfilesQuerySchema,
  sortParams,
  takeCursorError,
  type ParsedQuery,
} from '../filters.ts'
import { CsrfField, failedIn, formErrors, REQUIRED_TEXT_PATTERN } from '../forms.ts'
import { href, sentence } from '../format.ts'
import { facetPanel, ownFieldCounts, PORTAL_FACETS, withOwnFieldCounts } from '../facets.ts'
import { queryToSave } from '../saved.ts'
import { cursorProblemModel, tableModel } from '../table.ts'

/** What every filter form needs to render. */
export function filterFormModel(parsed: ParsedQuery) {
  return { values: parsed.values, errors: parsed.errors, countries: COUNTRY_OPTIONS, ageGroups: AGE_GROUPS, pageSizes: PAGE_SIZES, lists: eitherOrOptions(parsed.filter) }
}

const ProfileParamsSchema = Type.Object({ id: Type.String({ pattern: UUID_PATTERN }) })

const CreateBodySchema = Type.Object({
  // not trimmed yet: a little room for the spaces a trim removes; the API has the final word
  name: Type.String({ maxLength: MAX_NAME_LENGTH + 20, pattern: REQUIRED_TEXT_PATTERN }),
  ...CsrfField,
})

const DeleteBodySchema = Type.Object({
  name: Type.Optional(Type.String({ maxLength: MAX_NAME_LENGTH + 20 })),
  ...CsrfField,
})

const NAME_MESSAGES = {
  name: (keyword: string) =>
    keyword === 'maxLength' ? `A name can be at most ${MAX_NAME_LENGTH} characters.`
    : keyword === 'pattern' ? 'Enter a name to create a profile (letters, not control characters).'
    : 'Enter a name to create a profile.',
}

const profileRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const listRoute = { preValidation: profileQueryHook, attachValidation: true, schema: { querystring: ProfilesQuerySchema } }

  app.get('/profiles', listRoute, async (request, reply) => {
    const parsed = parsedQuery(request)
    const badCursor = takeCursorError(parsed)
    const form = filterFormModel(parsed)
    const title = 'Profiles — Insighta Labs+'
    const base = filterParams(parsed.filter)
    if (hasErrors(parsed)) return reply.renderPage('profiles', { title, form, table: null, exportHref: null, filtered: true }, 422)
    // A Next link whose cursor the portal or the API refuses: say so, and offer that page by number.
    const cursorProblem = (message: string) =>
      reply.renderPage('profiles', { title, form, table: null, exportHref: null, filtered: true, cursorProblem: cursorProblemModel('/profiles', base, parsed.paging, message) }, 422)
    if (badCursor !== undefined) return cursorProblem(badCursor)
    let envelope, ownCounts
    try {
      ;[envelope, ownCounts] = await Promise.all([
        request.callApi((api, ctx) => api.listProfiles({ ...base, ...sortParams(parsed.paging), ...pageParams(parsed.paging), facets: PORTAL_FACETS }, ctx)),
        ownFieldCounts(request, parsed.filter),
      ])
    } catch (error) {
      if (parsed.paging.cursor !== undefined && error instanceof ApiResponseError && error.status === 422) return cursorProblem(sentence(error.message))
      throw error
    }
    return reply.renderPage('profiles', {
      title,
      form,
      table: tableModel('/profiles', base, parsed.paging, envelope),
      exportHref: href('/profiles/export', { ...base, ...sortParams(parsed.paging) }),
      dashboardHref: href('/', base),
      filtered: hasFilters(parsed.filter),
      inverted: invertedAgeRange(parsed.filter),
      swapHref: invertedAgeRange(parsed.filter)
        ? href('/profiles', { ...filterParams({ ...parsed.filter, min_age: parsed.filter.max_age, max_age: parsed.filter.min_age }) })
        : undefined,
      facetGroups: facetPanel('/profiles', parsed.filter, parsed.paging, withOwnFieldCounts(parsed.filter, envelope.facets, ownCounts)),
      saveQuery: hasFilters(parsed.filter) ? queryToSave({ ...base, ...sortParams(parsed.paging) }) : undefined,
      saveBack: request.url,
    })
  })

  // The CSV streams from the API through the portal to the browser, chunk by chunk: never buffered.
  app.get('/profiles/export', listRoute, async (request, reply: FastifyReply) => {
    const parsed = parsedQuery(request)
    if (hasErrors(parsed)) throw new PageError(422, 'The export filters are not valid. Go back to the profiles page and check them.')
    const answer = await request.callApi((api, ctx) => api.exportProfiles({ ...filterParams(parsed.filter), ...sortParams(parsed.paging) }, ctx))
    const source = answer.body
    source.once('close', answer.done)
    // spreadsheet formula cells are neutralised on the way through (still streamed)
    const stream = pipeline(source, new CsvFormulaNeutraliser(), () => {})
    reply
      .type(answer.header('content-type') ?? 'text/csv; charset=utf-8')
      .header('content-disposition', answer.header('content-disposition') ?? 'attachment; filename="profiles.csv"')
      .header('cache-control', 'no-store')
    return reply.send(stream)
  })

  const newProfilePage = (reply: FastifyReply, extra: { name?: string; errors?: Record<string, string> } = {}, status = 200) =>
    reply.renderPage('profile-new', { title: 'New profile — Insighta Labs+', maxNameLength: MAX_NAME_LENGTH, name: extra.name, errors: extra.errors ?? {} }, status)

  app.get('/profiles/new', { config: { portalAccess: 'admin' } }, async (_request, reply) => newProfilePage(reply))

  app.post('/profiles', { config: { portalAccess: 'admin' }, attachValidation: true, schema: { body: CreateBodySchema } }, async (request, reply) => {
    const given = typeof request.body?.name === 'string' ? request.body.name : ''
    if (request.validationError) {
      return newProfilePage(reply, { name: given.slice(0, MAX_NAME_LENGTH + 20), errors: formErrors(request, NAME_MESSAGES) }, 422)
    }
    const name = request.body.name.trim()
    if (name.length > MAX_NAME_LENGTH) return newProfilePage(reply, { name, errors: { name: NAME_MESSAGES.name('maxLength') } }, 422)
    const retry = (text: string) => {
      reply.flash('error', text, { name })
      return reply.redirect('/profiles/new', 303)
    }
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

  const withProfile = { attachValidation: true, schema: { params: ProfileParamsSchema } }

  async function findProfile(id: string, request: FastifyRequest) {
    return request.callApi((api, ctx) => api.getProfile(id, ctx)).catch((error: unknown) => {
      if (error instanceof ApiResponseError && error.status === 404) throw notFound('profile')
      throw error
    })
  }

  app.get('/profiles/:id', withProfile, async (request, reply) => {
    if (failedIn(request, 'params')) throw notFound('profile')
    const profile = await findProfile(request.params.id.toLowerCase(), request)
    return reply.renderPage('profile', { title: `${profile.name} — Insighta Labs+`, profile })
  })

  app.get('/profiles/:id/delete', { ...withProfile, config: { portalAccess: 'admin' } }, async (request, reply) => {
    if (failedIn(request, 'params')) throw notFound('profile')
    const profile = await findProfile(request.params.id.toLowerCase(), request)
    return reply.renderPage('profile-delete', { title: `Delete ${profile.name}? — Insighta Labs+`, profile })
  })

  app.post(
    '/profiles/:id/delete',
    { config: { portalAccess: 'admin' }, attachValidation: true, schema: { params: ProfileParamsSchema, body: DeleteBodySchema } },
    async (request, reply) => {
      if (failedIn(request, 'params')) throw notFound('profile')
      const id = request.params.id.toLowerCase()
      // the name is only for the message; a bad one is dropped, never shown
      const name = failedIn(request, 'body') ? '' : (request.body.name ?? '').trim()
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
    },
  )
}

export default profileRoutes
