import type { FastifyInstance, FastifyRequest, RouteOptions } from 'fastify'
import fp from 'fastify-plugin'
import { ApiError } from '../errors.ts'
import { rejectStaticPathOnParametricRoute } from './errors.ts'
import { ErrorSchema } from '../../contract/envelope.ts'
import { forbidden, unauthorized } from '../services/auth-errors.ts'
import type { Identity } from '../services/identity.ts'
import type { AuthenticatedUser } from '../services/sessions.ts'
import type { Access, RouteAccessEntry } from '../types.ts'
import { presentedBearer, verifyBearer } from './bearer.ts'
import { isPersonalAccessToken } from '../../contract/tokens.ts'
import type { PersonalAccessTokenService } from '../services/personal-access-tokens.ts'
import { resolvePersonalAccessToken } from './personal-access-token.ts'

/** Framework routes that carry no declaration of their own and are public by nature. */
function isFrameworkPublicRoute(route: RouteOptions): boolean {
  return route.url === '/docs' || route.url.startsWith('/docs/')
}

function methodsOf(route: RouteOptions): string[] {
  return Array.isArray(route.method) ? route.method : [route.method]
}

/**
 * Roles by declaration, enforced in this one place. Every route says `config: { access: 'public' }`
 * or `config: { access: ['admin', 'analyst'] }`; a route that says nothing is refused (fail closed).
 * For protected routes the hook requires a valid access token whose session is live, and checks the
 * user's CURRENT role (through the session cache) against the declaration. It runs after the
 * version-header and rate-limit hooks (registration order).
 */
export default fp(async function auth(
  app: FastifyInstance,
  opts: { identity: Identity; personalAccessTokens: PersonalAccessTokenService },
) {
  const { identity } = opts
  const table: RouteAccessEntry[] = []
  app.decorate('routeAccess', table)
  app.decorateRequest('user', null)

  app.addHook('onRoute', (route) => {
    const config = (route.config ?? {}) as { access?: Access; personalAccessTokens?: false }
    for (const method of methodsOf(route)) {
      table.push({ method, url: route.url, access: config.access, ...(config.personalAccessTokens === false ? { personalAccessTokens: false as const } : {}) })
    }
    if (config.access === undefined && isFrameworkPublicRoute(route)) {
      route.config = { ...route.config, access: 'public' }
    }
    // The OpenAPI document states who may call what, and the error answers every route can give.
    const access = (route.config as { access?: Access } | undefined)?.access
    if (route.schema && !route.schema.hide) {
      const response = { ...(route.schema.response as Record<string, unknown> | undefined) }
      if (Array.isArray(access)) {
        route.schema = { ...route.schema, security: [{ bearer: [] }] }
        response[401] ??= ErrorSchema
        response[403] ??= ErrorSchema
      }
      if (route.url.startsWith('/api/') || route.url.startsWith('/auth/')) response[429] ??= ErrorSchema
      route.schema = { ...route.schema, response }
    }
  })

  app.addHook('onRequest', async (request, reply) => {
    if (request.is404) return
    const access = request.routeOptions.config.access
    if (access === 'public') return
    // @fastify/cors answers real preflights in its own hook; its catch-all OPTIONS route is harmless.
    if (request.method === 'OPTIONS' && request.routeOptions.url === '*') return
    // A wrong method on a known static path that a parametric route happens to match (DELETE
    // /api/profiles/export) is a 405 whoever asks: answer it before authentication.
    if (/[:*]/.test(request.routeOptions.url ?? '') && (await rejectStaticPathOnParametricRoute(request, reply))) return reply
    if (!Array.isArray(access)) {
      request.log.error({ route: request.routeOptions.url }, 'route has no access declaration: refused')
      throw new ApiError(403, 'Forbidden: this route declares no access rule')
    }
    const bearer = presentedBearer(request)
    if (!bearer.sent) throw unauthorized('Authentication required: send an access token as "Authorization: Bearer <token>"', false)
    if (!bearer.token) throw unauthorized('Malformed Authorization header: expected "Bearer <token>"', true)
    let user: AuthenticatedUser
    if (isPersonalAccessToken(bearer.token)) {
      // Same checks as an access token, but against the token row and the user's current state.
      const presented = await resolvePersonalAccessToken(request, opts.personalAccessTokens, bearer.token)
      if (!presented.ok) throw presented.error
      if (request.routeOptions.config.personalAccessTokens === false)
        throw forbidden('Forbidden: a personal access token cannot be used here; sign in instead')
      user = presented.user
    } else {
      const verified = verifyBearer(request, identity.tokens, bearer.token)
      user = await identity.sessions.authenticate(verified)
    }
    request.user = user
    if (!access.includes(user.role)) throw forbidden()
  })
})

/** The signed-in user of a protected route (the auth hook guarantees one; this keeps handlers honest). */
export function signedIn(request: FastifyRequest): AuthenticatedUser {
  if (!request.user) throw unauthorized('Authentication required', false)
  return request.user
}
