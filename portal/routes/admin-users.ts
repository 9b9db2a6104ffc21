import type { FastifyInstance, FastifyRequest } from 'fastify'
import { ApiResponseError } from '../api-client.ts'
import { notFound, PageError } from '../errors.ts'
import { href } from '../format.ts'
import { pageWindow } from '../filters.ts'
import { snapshotOf } from '../sessions.ts'

const USER_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
const USERS_PER_PAGE = 20
const MAX_SEARCH = 100

/** An API refusal (last admin, own account…) shown to the admin as a flash message. */
class FlashOnly extends Error {}

function field(body: unknown, key: string): string {
  const value = typeof body === 'object' && body !== null ? (body as Record<string, unknown>)[key] : undefined
  return typeof value === 'string' ? value.trim() : ''
}

/** Where to go back to after a change: the list as it was (search and page), validated. */
function listHref(body: unknown): string {
  const search = field(body, 'search').slice(0, MAX_SEARCH)
  const page = field(body, 'page')
  return href('/admin/users', { search: search || undefined, page: /^[1-9]\d{0,6}$/.test(page) && page !== '1' ? page : undefined })
}

function userId(params: unknown): string {
  const id = (params as { id?: unknown }).id
  if (typeof id !== 'string' || !USER_ID.test(id)) throw notFound('user')
  return id.toLowerCase()
}

export default async function adminUserRoutes(app: FastifyInstance) {
  const { sessions } = app.portal

  app.get('/admin/users', { config: { portalAccess: 'admin' } }, async (request, reply) => {
    const query = request.query as Record<string, unknown>
    const search = typeof query.search === 'string' ? query.search.trim() : ''
    const pageRaw = typeof query.page === 'string' && query.page !== '' ? query.page : '1'
    if (search.length > MAX_SEARCH) throw new PageError(422, `A search can be at most ${MAX_SEARCH} characters.`)
    if (!/^[1-9]\d{0,6}$/.test(pageRaw)) throw new PageError(422, 'Pages are numbered from 1.')
    const page = Number(pageRaw)
    const envelope = await request.callApi((api, ctx) => api.listUsers({ search: search || undefined, page, limit: USERS_PER_PAGE }, ctx))
    const totalPages = envelope.total_pages ?? Math.ceil((envelope.total ?? 0) / USERS_PER_PAGE)
    const pageHref = (p: number) => href('/admin/users', { search: search || undefined, page: p > 1 ? p : undefined })
    return reply.renderPage('admin-users', {
      title: 'Users — Insighta Labs+',
      search,
      page,
      users: envelope.data ?? [],
      total: envelope.total ?? (envelope.data ?? []).length,
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

  app.post('/admin/users/:id/role', { config: { portalAccess: 'admin' } }, async (request, reply) => {
    const id = userId(request.params)
    const role = field(request.body, 'role')
    const back = listHref(request.body)
    if (role !== 'admin' && role !== 'analyst') {
      reply.flash('error', 'Choose the role admin or analyst.')
      return reply.redirect(back, 303)
    }
    const username = field(request.body, 'username').slice(0, 100) || 'the user'
    try {
      reply.flash('success', await update(request, id, { role }, `${username} is now ${role === 'admin' ? 'an admin' : 'an analyst'}.`))
    } catch (error) {
      if (!(error instanceof FlashOnly)) throw error
      reply.flash('error', `Could not change the role: ${error.message}`)
    }
    return reply.redirect(back, 303)
  })

  app.post('/admin/users/:id/status', { config: { portalAccess: 'admin' } }, async (request, reply) => {
    const id = userId(request.params)
    const active = field(request.body, 'is_active')
    const back = listHref(request.body)
    if (active !== 'true' && active !== 'false') {
      reply.flash('error', 'Choose whether the account is active.')
      return reply.redirect(back, 303)
    }
    const username = field(request.body, 'username').slice(0, 100) || 'The user'
    try {
      const isActive = active === 'true'
      reply.flash('success', await update(request, id, { is_active: isActive }, isActive ? `${username} can sign in again.` : `${username} is suspended and signed out everywhere.`))
    } catch (error) {
      if (!(error instanceof FlashOnly)) throw error
      reply.flash('error', `Could not change the account: ${error.message}`)
    }
    return reply.redirect(back, 303)
  })
}
