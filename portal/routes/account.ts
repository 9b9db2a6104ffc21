import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { ApiResponseError, type ApiSession } from '../api-client.ts'
import { cookieOptions } from '../cookies.ts'
import { notFound } from '../errors.ts'
import { deviceLabel } from '../format.ts'
import { CsrfField, failedIn } from '../forms.ts'
import { unverifiedClaims } from '../jwt.ts'

const RevokeParamsSchema = Type.Object({ id: Type.String({ pattern: '^[A-Za-z0-9_-]{1,100}$' }) })
/** `current` marks this browser's own row (the API's `current` flag). */
const RevokeBodySchema = Type.Object({ current: Type.Optional(Type.Literal('1')), ...CsrfField })
/** The "also revoke my personal access tokens" box. */
const SignOutEverywhereBodySchema = Type.Object({ revoke_tokens: Type.Optional(Type.Literal('1')), ...CsrfField })

/** "Portal", "CLI" or the client id, for the sessions table. */
function clientLabel(session: ApiSession, portalClientId: string): string {
  const client = session.client_id ?? session.client ?? ''
  if (client === portalClientId || client === 'portal') return 'Portal'
  if (client === 'insighta-cli' || client === 'cli') return 'CLI'
  return client || 'Unknown'
}

const accountRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { config, sessions, cookieNames } = app.portal

  app.get('/account', async (request, reply) => {
    const { me, list, currentSid } = await request.callApi(async (api, ctx) => {
      const sid = unverifiedClaims(ctx.token ?? '').sid
      const [me, list] = await Promise.all([
        api.me(ctx),
        api.listSessions(ctx).catch((error: unknown) => {
          if (error instanceof ApiResponseError && (error.status === 404 || error.status === 405)) return null
          throw error
        }),
      ])
      return { me, list, currentSid: typeof sid === 'string' ? sid : undefined }
    })
    const rows = (list ?? []).map((s) => ({
      id: s.id,
      client: clientLabel(s, config.clientId),
      device: deviceLabel(s.device ?? s.user_agent),
      userAgent: s.user_agent ?? s.device ?? '',
      ip: s.ip ?? null,
      createdAt: s.created_at ?? null,
      lastUsedAt: s.last_used_at ?? s.last_seen_at ?? null,
      current: s.current === true || (currentSid !== undefined && s.id === currentSid),
    }))
    return reply.renderPage('account', { title: 'Your account — Insighta Labs+', me, sessions: rows, sessionsAvailable: list !== null })
  })

  app.post('/account/sessions/:id/revoke', { attachValidation: true, schema: { params: RevokeParamsSchema, body: RevokeBodySchema } }, async (request, reply) => {
    if (failedIn(request, 'params')) throw notFound('session')
    const id = request.params.id
    // The page marks this browser's row; the token's sid says the same (a bad mark is ignored).
    const markedCurrent = !request.validationError && request.body.current === '1'
    const isCurrent = await request.callApi(async (api, ctx) => {
      await api.revokeSession(id, ctx)
      return markedCurrent || unverifiedClaims(ctx.token ?? '').sid === id
    }).catch((error: unknown) => {
      if (error instanceof ApiResponseError && error.status === 404) return null
      throw error
    })
    if (isCurrent === null) {
      reply.flash('info', 'That session had already ended.')
      return reply.redirect('/account', 303)
    }
    if (isCurrent && request.portalSession) {
      await sessions.destroy(request.portalSession, { endUserIp: request.ip, requestId: request.id })
      reply.clearCookie(cookieNames.session, cookieOptions(config.secure))
      reply.flash('info', 'You revoked the session of this browser, so you have been signed out.')
      return reply.redirect('/login', 303)
    }
    reply.flash('success', 'Session revoked. That device will have to sign in again.')
    return reply.redirect('/account', 303)
  })

  app.post('/account/sign-out-everywhere', { attachValidation: true, schema: { body: SignOutEverywhereBodySchema } }, async (request, reply) => {
    const session = request.portalSession
    // Personal access tokens are not sessions: they are revoked too only when the box is ticked.
    const revokeTokens = !request.validationError && request.body.revoke_tokens === '1'
    let tokensLeft = 0
    if (session) {
      const answer = await request.callApi((api, ctx) => api.logoutEverywhere(revokeTokens, ctx)).catch((error: unknown) => {
        // Already signed out on the API side: the local clean-up below is all that is left.
        if (!(error instanceof ApiResponseError && error.status === 401)) throw error
        return undefined
      })
      tokensLeft = answer?.tokens_remaining ?? 0
      await sessions.destroyAllOfUser(session.userId)
    }
    reply.clearCookie(cookieNames.session, cookieOptions(config.secure))
    reply.header('clear-site-data', '"cookies"')
    const outcome = revokeTokens ? 'with-tokens' : tokensLeft > 0 ? 'tokens-kept' : 'everywhere'
    return reply.redirect(`/login?signed_out=${outcome}`, 303)
  })
}

export default accountRoutes
