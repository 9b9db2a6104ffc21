/**
 * Personal access tokens in the portal (issue 14): Account → Tokens (list, create with the secret
 * shown once, revoke) and, for admins, a user's tokens on the Users page. The API decides what is
 * allowed (expiry maximum, admin scope for admins only); its messages are shown as they are.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { Type } from 'typebox'
import { MAX_TOKEN_NAME_LENGTH, PAT_PREFIX, type TokenJson } from '../../contract/tokens.ts'
import { UUID_PATTERN } from '../../contract/ids.ts'
import { ApiResponseError } from '../api-client.ts'
import { notFound } from '../errors.ts'
import { deviceLabel } from '../format.ts'
import { CsrfField, failedIn, formErrors, REQUIRED_TEXT_PATTERN } from '../forms.ts'

const DEFAULT_EXPIRY_DAYS = 30

const CreateTokenFormSchema = Type.Object({
  name: Type.String({ minLength: 1, maxLength: MAX_TOKEN_NAME_LENGTH, pattern: REQUIRED_TEXT_PATTERN }),
  expires_in_days: Type.String({ pattern: '^[0-9]{1,4}$' }),
  scope: Type.Union([Type.Literal('read'), Type.Literal('admin')]),
  ...CsrfField,
})
const FORM_MESSAGES = {
  name: `Give the token a name (up to ${MAX_TOKEN_NAME_LENGTH} characters, no control characters), e.g. “CI on main”.`,
  expires_in_days: 'Expiry is a whole number of days, e.g. 30.',
  scope: 'Choose the scope: read or admin.',
}
const TokenParamsSchema = Type.Object({ id: Type.String({ pattern: UUID_PATTERN }) })
const UserTokenParamsSchema = Type.Object({ id: Type.String({ pattern: UUID_PATTERN }), tokenId: Type.String({ pattern: UUID_PATTERN }) })
const UserParamsSchema = Type.Object({ id: Type.String({ pattern: UUID_PATTERN }) })
const RevokeBodySchema = Type.Object({ ...CsrfField })

/** A token as the tables show it. */
function tokenRow(token: TokenJson) {
  return {
    id: token.id,
    name: token.name,
    scopes: token.scopes,
    createdAt: token.created_at,
    expiresAt: token.expires_at,
    expired: token.expired,
    lastUsedAt: token.last_used_at,
    lastUsedIp: token.last_used_ip,
    lastUsedDevice: token.last_used_user_agent ? deviceLabel(token.last_used_user_agent) : null,
    lastUsedAgent: token.last_used_user_agent ?? '',
  }
}

interface CreatedFlash {
  secret: string
  name: string
}

function createdOf(data: Record<string, unknown> | undefined): CreatedFlash | undefined {
  const secret = data?.secret
  const name = data?.name
  return typeof secret === 'string' && secret.startsWith(PAT_PREFIX) && typeof name === 'string' ? { secret, name } : undefined
}

const tokenRoutes: FastifyPluginAsyncTypebox = async (app) => {
  async function revokeOrExplain(request: FastifyRequest, reply: FastifyReply, back: string, tokenId: string, userId?: string) {
    try {
      await request.callApi((api, ctx) => api.revokeToken(tokenId, ctx, userId))
    } catch (error) {
      if (error instanceof ApiResponseError && error.status === 404) {
        reply.flash('info', 'That token had already been revoked.')
        return reply.redirect(back, 303)
      }
      throw error
    }
    reply.flash('success', 'Token revoked. Anything using it is refused from now on.')
    return reply.redirect(back, 303)
  }

  app.get('/account/tokens', async (request, reply) => {
    const tokens = await request.callApi((api, ctx) => api.listTokens(ctx))
    // The flash is read here, once: the secret of a token just created is on this page view only.
    return reply.renderPage('account-tokens', {
      title: 'Your tokens — Insighta Labs+',
      tokens: tokens.map(tokenRow),
      defaultExpiryDays: DEFAULT_EXPIRY_DAYS,
      maxNameLength: MAX_TOKEN_NAME_LENGTH,
      createdFrom: createdOf,
    })
  })

  app.post('/account/tokens', { attachValidation: true, schema: { body: CreateTokenFormSchema } }, async (request, reply) => {
    const body = (request.body ?? {}) as Record<string, unknown>
    const values = { name: typeof body.name === 'string' ? body.name.slice(0, 200) : '', expires_in_days: typeof body.expires_in_days === 'string' ? body.expires_in_days.slice(0, 10) : '', scope: body.scope === 'admin' ? 'admin' : 'read' }
    if (request.validationError) {
      const errors = formErrors(request, FORM_MESSAGES)
      reply.flash('error', Object.values(errors).join(' '), { form: values })
      return reply.redirect('/account/tokens', 303)
    }
    const input = { name: request.body.name.trim(), expires_in_days: Number(request.body.expires_in_days), scopes: [request.body.scope] }
    let created
    try {
      created = await request.callApi((api, ctx) => api.createToken(input, ctx), { retry: false })
    } catch (error) {
      if (error instanceof ApiResponseError && [400, 403, 409, 422].includes(error.status)) {
        reply.flash('error', `The token was not created: ${error.message}.`, { form: values })
        return reply.redirect('/account/tokens', 303)
      }
      throw error
    }
    reply.flash('success', `Created the token “${created.data.name}”.`, { secret: created.token, name: created.data.name })
    return reply.redirect('/account/tokens', 303)
  })

  app.post('/account/tokens/:id/revoke', { attachValidation: true, schema: { params: TokenParamsSchema, body: RevokeBodySchema } }, async (request, reply) => {
    if (failedIn(request, 'params')) throw notFound('token')
    return revokeOrExplain(request, reply, '/account/tokens', request.params.id)
  })

  app.get('/admin/users/:id/tokens', { config: { portalAccess: 'admin' }, attachValidation: true, schema: { params: UserParamsSchema } }, async (request, reply) => {
    if (request.validationError) throw notFound('user')
    const id = request.params.id
    const found = await request
      .callApi(async (api, ctx) => Promise.all([api.getUser(id, ctx), api.listTokens(ctx, id)]))
      .catch((error: unknown) => {
        if (error instanceof ApiResponseError && error.status === 404) return null
        throw error
      })
    if (!found) throw notFound('user')
    const [owner, tokens] = found
    return reply.renderPage('admin-user-tokens', { title: `Tokens of ${owner.username} — Insighta Labs+`, owner, tokens: tokens.map(tokenRow) })
  })

  app.post(
    '/admin/users/:id/tokens/:tokenId/revoke',
    { config: { portalAccess: 'admin' }, attachValidation: true, schema: { params: UserTokenParamsSchema, body: RevokeBodySchema } },
    async (request, reply) => {
      if (failedIn(request, 'params')) throw notFound('token')
      const { id, tokenId } = request.params
      return revokeOrExplain(request, reply, `/admin/users/${encodeURIComponent(id)}/tokens`, tokenId, id)
    },
  )
}

export default tokenRoutes
