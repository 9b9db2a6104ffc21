import cookie from '@fastify/cookie'
import formbody from '@fastify/formbody'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { findUserById, type UserRow } from '../../../db/repositories/users.ts'
import { ApiError } from '../../errors.ts'
import { signedIn } from '../../plugins/auth.ts'
import { presentedBearer } from '../../plugins/bearer.ts'
import { PORTAL_SECRET_HEADER, requestContext } from '../../plugins/client-ip.ts'
import { unauthorized } from '../../services/auth-errors.ts'
import type { ClientCredentials, TokenRequest } from '../../services/logins.ts'
import type { TokenPair } from '../../services/sessions.ts'
import { toUserJson } from '../../services/user-admin.ts'
import { ErrorSchema } from '../../../contract/envelope.ts'
import { MeSchema } from '../../../contract/user.ts'
import {
  AuthorizeQuerySchema,
  CallbackBodySchema,
  CallbackQuerySchema,
  LogoutAllBodySchema,
  LogoutAllResponseSchema,
  MessageSchema,
  RefreshBodySchema,
  TokenBodySchema,
  TokenErrorSchema,
  TokenResponseSchema,
} from './schemas.ts'
import device, { redeemDeviceCode } from './device.ts'
import { DEVICE_CODE_GRANT_TYPE } from '../../../contract/device.ts'
import { isPersonalAccessToken } from '../../../contract/tokens.ts'

/** A personal access token is not a refresh token: say so rather than "invalid". */
function refusePersonalAccessToken(token: string) {
  if (isPersonalAccessToken(token)) throw unauthorized('A personal access token is not a refresh token', true)
}

const READERS = ['admin', 'analyst'] as const
const PUBLIC = { access: 'public' as const }

/** Body-less POSTs (cookie refresh, logout with only a Bearer token) validate as an empty object. */
async function absentBodyIsEmpty(request: FastifyRequest) {
  if (request.body === undefined || request.body === null) request.body = {}
}
/** The body-less refresh form for browser clients on the API's own origin (e.g. /docs). */
export const REFRESH_COOKIE = 'refresh_token'

function tokenBody(pair: TokenPair, user?: UserRow) {
  return {
    status: 'success' as const,
    access_token: pair.accessToken,
    refresh_token: pair.refreshToken,
    token_type: 'Bearer' as const,
    expires_in: pair.expiresIn,
    refresh_expires_in: pair.refreshExpiresIn,
    ...(user ? { user: { id: user.id, github_id: user.github_id, username: user.username, email: user.email, role: user.role } } : {}),
  }
}

function basicCredentials(request: FastifyRequest): ClientCredentials['basic'] {
  const value = request.headers.authorization
  const match = value ? /^Basic +([A-Za-z0-9+/]+=*) *$/i.exec(value) : null
  if (!match) return undefined
  const decoded = Buffer.from(match[1], 'base64').toString('utf8')
  const colon = decoded.indexOf(':')
  if (colon < 0) return undefined
  // RFC 6749 §2.3.1: both parts are form-urlencoded before base64.
  try {
    return { clientId: decodeURIComponent(decoded.slice(0, colon)), secret: decodeURIComponent(decoded.slice(colon + 1)) }
  } catch {
    return undefined
  }
}

const auth: FastifyPluginAsyncTypebox = async (app) => {
  const { identity } = app
  const secureCookie = identity.config.publicUrl.startsWith('https://')

  await app.register(formbody)
  await app.register(cookie)

  // Token-bearing answers must never be cached by a browser or a proxy.
  app.addHook('onSend', async (_request, reply) => {
    reply.header('cache-control', 'no-store')
    reply.header('pragma', 'no-cache')
  })
  await app.register(device, { prefix: '/device' })

  function setRefreshCookie(reply: FastifyReply, pair: TokenPair) {
    reply.setCookie(REFRESH_COOKIE, pair.refreshToken, {
      path: '/auth',
      httpOnly: true,
      sameSite: 'strict',
      secure: secureCookie,
      maxAge: pair.refreshExpiresIn,
    })
  }

  app.get(
    '/github',
    {
      config: PUBLIC,
      schema: {
        summary: 'Start a GitHub login (302 to GitHub with the API’s own state and S256 PKCE)',
        description:
          'Without parameters: a plain login whose callback answers JSON tokens. With client_id, redirect_uri, state, ' +
          'code_challenge and code_challenge_method=S256: a login on behalf of the portal or the CLI, whose callback ' +
          'redirects to redirect_uri with a one-time code and the client’s state. Every problem is a 400 before any redirect.',
        tags: ['auth'],
        querystring: AuthorizeQuerySchema,
        response: { 302: Type.Null({ description: 'Location: GitHub’s authorize URL' }), 400: ErrorSchema, 503: ErrorSchema },
      },
    },
    async (request, reply) => {
      const location = await identity.logins.start(request.query, requestContext(request))
      return reply.redirect(location, 302)
    },
  )

  async function callback(request: FastifyRequest, reply: FastifyReply, params: { code?: string; state?: string; error?: string }) {
    const outcome = await identity.logins.callback(params, requestContext(request))
    if (outcome.kind === 'redirect') return reply.redirect(outcome.location, 302)
    setRefreshCookie(reply, outcome.pair)
    return reply.code(200).send(tokenBody(outcome.pair, outcome.user))
  }

  const callbackResponses = {
    200: TokenResponseSchema,
    302: Type.Null({ description: "Location: the client's redirect_uri with code and state (or error and state)" }),
    400: ErrorSchema,
    401: ErrorSchema,
    403: ErrorSchema,
    502: ErrorSchema,
  }

  app.get(
    '/github/callback',
    {
      config: PUBLIC,
      schema: {
        summary: 'GitHub returns here; redirects to the client with a one-time code, or answers JSON tokens',
        description: 'When AUTH_TEST_CODE_ENABLED=true, code=test_code (admin) or code=analyst_test_code answers tokens at once.',
        tags: ['auth'],
        querystring: CallbackQuerySchema,
        response: callbackResponses,
      },
    },
    async (request, reply) => callback(request, reply, request.query),
  )

  app.post(
    '/github/callback',
    {
      config: PUBLIC,
      preValidation: absentBodyIsEmpty,
      schema: {
        summary: 'The callback as a POST (JSON or form): {"code","state"}, or {"code":"test_code"} when enabled',
        tags: ['auth'],
        body: CallbackBodySchema,
        response: callbackResponses,
      },
    },
    async (request, reply) => callback(request, reply, request.body ?? {}),
  )

  app.post(
    '/token',
    {
      config: PUBLIC,
      preValidation: absentBodyIsEmpty,
      schema: {
        summary: 'Redeem a one-time code (code, code_verifier, redirect_uri, client_id [, client_secret]) for tokens',
        description:
          'JSON or application/x-www-form-urlencoded. insighta-portal authenticates with client_secret, HTTP Basic or ' +
          'X-Portal-Client-Secret. grant_type=refresh_token with refresh_token behaves as POST /auth/refresh.',
        tags: ['auth'],
        body: TokenBodySchema,
        response: { 200: TokenResponseSchema, 400: TokenErrorSchema, 401: ErrorSchema, 403: ErrorSchema },
      },
    },
    async (request, reply) => {
      const body = request.body
      const context = requestContext(request)
      if (body.grant_type === DEVICE_CODE_GRANT_TYPE) {
        const redeemed = await redeemDeviceCode(request, reply, body)
        return redeemed ? tokenBody(redeemed.pair, redeemed.user) : reply
      }
      if (body.grant_type === 'refresh_token') {
        const token = body.refresh_token ?? body.refreshToken
        if (!token) throw new ApiError(400, 'Missing or empty refresh_token')
        refusePersonalAccessToken(token)
        return tokenBody(await identity.sessions.refresh(token, context))
      }
      const header = request.headers[PORTAL_SECRET_HEADER]
      const credentials: ClientCredentials = {
        basic: basicCredentials(request),
        portalSecretHeader: typeof header === 'string' ? header : undefined,
      }
      const { pair, user } = await identity.logins.redeem(body as TokenRequest, credentials, context)
      return tokenBody(pair, user)
    },
  )

  app.post(
    '/refresh',
    {
      config: PUBLIC,
      preValidation: absentBodyIsEmpty,
      schema: {
        summary: 'Rotate a refresh token: {"refresh_token"} or {"refreshToken"} (or the refresh_token cookie) → a new pair',
        description:
          'Single use. An exact retry by the same client within REFRESH_RETRY_WINDOW_SECONDS returns the same new refresh ' +
          'token (with a fresh access token); any other reuse revokes the whole session. Reuse, expired or revoked → 401.',
        tags: ['auth'],
        body: Type.Optional(RefreshBodySchema),
        response: { 200: TokenResponseSchema, 400: ErrorSchema, 401: ErrorSchema, 403: ErrorSchema },
      },
    },
    async (request, reply) => {
      const body = request.body ?? {}
      const fromBody = body.refresh_token ?? body.refreshToken
      const token = fromBody || request.cookies[REFRESH_COOKIE]
      if (!token) throw new ApiError(400, 'Missing or empty refresh_token')
      refusePersonalAccessToken(token)
      const pair = await identity.sessions.refresh(token, requestContext(request))
      if (!fromBody) setRefreshCookie(reply, pair)
      return tokenBody(pair)
    },
  )

  app.post(
    '/logout',
    {
      config: PUBLIC,
      preValidation: absentBodyIsEmpty,
      schema: {
        summary: 'End the session of the presented access token and/or refresh token (body, or the cookie)',
        description: 'An expired access token or an already-rotated refresh token still identifies its session.',
        tags: ['auth'],
        body: Type.Optional(RefreshBodySchema),
        response: { 200: MessageSchema, 401: ErrorSchema },
      },
    },
    async (request, reply) => {
      const body = request.body ?? {}
      const refreshToken = body.refresh_token || body.refreshToken || request.cookies[REFRESH_COOKIE] || undefined
      const bearer = presentedBearer(request)
      const access = bearer.token ? identity.tokens.verify(bearer.token) : undefined
      const ended = await identity.sessions.logout({ access, refreshToken }, requestContext(request))
      if (!ended) throw unauthorized('No valid access or refresh token identifies a session', bearer.sent || refreshToken !== undefined)
      reply.clearCookie(REFRESH_COOKIE, { path: '/auth' })
      return { status: 'success' as const, message: 'Logged out' }
    },
  )

  app.post(
    '/logout-all',
    {
      config: { access: READERS, personalAccessTokens: false },
      preValidation: absentBodyIsEmpty,
      schema: {
        summary: 'End every session of the signed-in user (all devices, including this one); {"revoke_tokens":true} also revokes their personal access tokens',
        description: 'Personal access tokens are not sessions: without revoke_tokens they stay valid, and tokens_remaining says how many.',
        tags: ['auth'],
        body: Type.Optional(LogoutAllBodySchema),
        response: { 200: LogoutAllResponseSchema, 422: ErrorSchema },
      },
    },
    async (request, reply) => {
      const user = signedIn(request)
      const context = requestContext(request)
      const revoked = await identity.sessions.logoutAll(user, context)
      const tokens = await app.personalAccessTokens.afterSignOutEverywhere(user, request.body?.revoke_tokens === true, context)
      reply.clearCookie(REFRESH_COOKIE, { path: '/auth' })
      let message = 'Logged out of all sessions'
      if (tokens.revoked > 0) message += `; ${tokens.revoked} personal access token(s) revoked`
      if (tokens.remaining > 0) message += `; ${tokens.remaining} personal access token(s) still valid (send {"revoke_tokens":true} to revoke them)`
      return { status: 'success' as const, message, revoked, tokens_revoked: tokens.revoked, tokens_remaining: tokens.remaining }
    },
  )

  app.get(
    '/me',
    {
      config: { access: READERS },
      schema: { summary: 'The signed-in user', tags: ['auth'], response: { 200: MeSchema } },
    },
    async (request) => {
      const user = await findUserById(app.db.db, signedIn(request).id)
      if (!user) throw unauthorized('Session not found; log in again', true)
      const json = toUserJson(user)
      return { status: 'success' as const, data: json, user: json }
    },
  )
}

export default auth
