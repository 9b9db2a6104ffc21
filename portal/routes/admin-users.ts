import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyRequest } from 'fastify'
import { Type } from 'typebox'
import { UUID_PATTERN } from '../../contract/ids.ts'
import { ApiResponseError } from '../api-client.ts'
import { notFound, PageError } from '../errors.ts'
import { href } from '../format.ts'
import { pageWindow } from '../filters.ts'
import { CsrfField, failedIn, schemaProblems, TEXT_PATTERN } from '../forms.ts'
import { snapshotOf } from '../user-snapshot.ts'

const USERS_PER_PAGE = 20
const MAX_SEARCH = 100
const MAX_USER_PAGE = 9_999_999

/** An API refusal (last admin, own account…) shown to the admin as a flash message. */
class FlashOnly extends Error {}

const UsersQuerySchema = Type.Object(
  {
    search: Type.Optional(Type.String({ maxLength: MAX_SEARCH, pattern: TEXT_PATTERN })),
    page: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_USER_PAGE })),
  },
  { additionalProperties: true },
)

const UserParamsSchema = Type.Object({ id: Type.String({ pattern: UUID_PATTERN }) })

/** Where the admin was: the list's search and page, carried through each change form. */
const ListStateFields = {
  username: Type.Optional(Type.String({ maxLength: 100, pattern: TEXT_PATTERN })),
  search: Type.Optional(Type.String({ maxLength: MAX_SEARCH, pattern: TEXT_PATTERN })),
  page: Type.Optional(Type.String({ pattern: '^[1-9][0-9]{0,6}$' })),
  ...CsrfField,
}

const RoleBodySchema = Type.Object({ role: Type.Union([Type.Literal('admin'), Type.Literal('analyst')]), ...ListStateFields })
const StatusBodySchema = Type.Object({ is_active: Type.Union([Type.Literal('true'), Type.Literal('false')]), ...ListStateFields })

interface ListState {
  username?: string
  search?: string
  page?: string
}

/** The list state of a change form, without any field that failed validation. */
function listState(request: FastifyRequest): ListState {
  const bad = new Set(schemaProblems(request).map((p) => p.field))
  const body = (request.body ?? {}) as ListState
  const pick = (key: keyof ListState) => (bad.has(key) || typeof body[key] !== 'string' ? undefined : body[key].trim())
  return { username: pick('username'), search: pick('search'), page: pick('page') }
}

/** Where to go back to after a change: the list as it was (search and page). */
function listHref(state: ListState): string {
  return href('/admin/users', { search: state.search || undefined, page: state.page && state.page !== '1' ? state.page : undefined })
}

const adminUserRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { sessions } = app.portal

  app.get('/admin/users', { config: { portalAccess: 'admin' }, attachValidation: true, schema: { querystring: UsersQuerySchema } }, async (request, reply) => {
    const problems = schemaProblems(request)
    if (problems.some((p) => p.field === 'search')) throw new PageError(422, `A search can be at most ${MAX_SEARCH} characters of text.`)
    if (problems.some((p) => p.field === 'page')) throw new PageError(422, 'Pages are numbered from 1.')
    const search = (request.query.search ?? '').trim()
    const page = request.query.page ?? 1
    const envelope = await request.callApi((api, ctx) => api.listUsers({ search: search || undefined, page, limit: USERS_PER_PAGE }, ctx))
    const totalPages = envelope.total_pages
    const pageHref = (p: number) => href('/admin/users', { search: search || undefined, page: p > 1 ? p : undefined })
    return reply.renderPage('admin-users', {
      title: 'Users — Insighta Labs+',
      search,
      page,
      users: envelope.data,
      total: envelope.total,
      pages: pageWindow(page, totalPages).map((n) => (n === null ? null : { number: n, href: pageHref(n), current: n === page })),
      prevHref: page > 1 ? pageHref(page - 1) : null,
      nextHref: page < totalPages ? pageHref(page + 1) : null,
      selfId: request.portalSession?.userId,
    })
  })

  async function update(
    request: FastifyRequest,
    id: string,
    patch: { role: 'admin' | 'analyst' } | { is_active: boolean },
    done: string,
  ): Promise<string> {
    try {
      const user = await request.callApi((api, ctx) => api.updateUser(id, patch, ctx))
      // Changing one's own role shows at once in the navigation, not at the next token refresh.
      if (request.portalSession && id === request.portalSession.userId) {
        const me = user ?? (await request.callApi((api, ctx) => api.me(ctx)))
        await sessions.updateSnapshot(request.portalSession, snapshotOf(me))
      }
      return done
    } catch (error) {
      if (error instanceof ApiResponseError && error.status >= 400 && error.status < 500 && error.status !== 401 && error.status !== 429) {
        throw new FlashOnly(error.message)
      }
      throw error
    }
  }

  app.post(
    '/admin/users/:id/role',
    { config: { portalAccess: 'admin' }, attachValidation: true, schema: { params: UserParamsSchema, body: RoleBodySchema } },
    async (request, reply) => {
      if (failedIn(request, 'params')) throw notFound('user')
      const id = request.params.id.toLowerCase()
      const state = listState(request)
      const back = listHref(state)
      if (schemaProblems(request).some((p) => p.field === 'role')) {
        reply.flash('error', 'Choose the role admin or analyst.')
        return reply.redirect(back, 303)
      }
      const role = request.body.role
      const username = state.username || 'the user'
      try {
        reply.flash('success', await update(request, id, { role }, `${username} is now ${role === 'admin' ? 'an admin' : 'an analyst'}.`))
      } catch (error) {
        if (!(error instanceof FlashOnly)) throw error
        reply.flash('error', `Could not change the role: ${error.message}`)
      }
      return reply.redirect(back, 303)
    },
  )

  app.post(
    '/admin/users/:id/status',
    { config: { portalAccess: 'admin' }, attachValidation: true, schema: { params: UserParamsSchema, body: StatusBodySchema } },
    async (request, reply) => {
      if (failedIn(request, 'params')) throw notFound('user')
      const id = request.params.id.toLowerCase()
      const state = listState(request)
      const back = listHref(state)
      if (schemaProblems(request).some((p) => p.field === 'is_active')) {
        reply.flash('error', 'Choose whether the account is active.')
        return reply.redirect(back, 303)
      }
      const username = state.username || 'The user'
      try {
        const isActive = request.body.is_active === 'true'
        reply.flash('success', await update(request, id, { is_active: isActive }, isActive ? `${username} can sign in again.` : `${username} is suspended and signed out everywhere.`))
      } catch (error) {
        if (!(error instanceof FlashOnly)) throw error
        reply.flash('error', `Could not change the account: ${error.message}`)
      }
      return reply.redirect(back, 303)
    },
  )
}

export default adminUserRoutes
