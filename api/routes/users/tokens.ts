import { SafeText } from '../../../contract/text.ts'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { ErrorSchema } from '../../../contract/envelope.ts'
import { isUuid } from '../../../contract/ids.ts'
import { CreateTokenBodySchema, CreatedTokenSchema, OneTokenSchema, TokenListSchema } from '../../../contract/tokens.ts'
import { findUserById } from '../../../db/repositories/users.ts'
import { ApiError } from '../../errors.ts'
import { signedIn } from '../../plugins/auth.ts'
import { requestContext } from '../../plugins/client-ip.ts'
import { toTokenJson } from '../../services/personal-access-tokens.ts'

const READERS = ['admin', 'analyst'] as const
const ADMINS = ['admin'] as const

const tokenNotFound = () => new ApiError(404, 'Token not found')
const userNotFound = () => new ApiError(404, 'User not found')

/**
 * Personal access tokens, under /api/users: one's own (`/me/tokens`) and, for admins, anyone's
 * (`/:id/tokens`). Like /api/users/me they work with or without X-API-Version.
 */
const tokens: FastifyPluginAsyncTypebox = async (app) => {
  const service = app.personalAccessTokens
  const now = () => app.identity.clock()

  app.get(
    '/me/tokens',
    {
      config: { access: READERS },
      schema: {
        summary: 'My personal access tokens (not revoked; expired ones flagged): name, scopes, created, expires, last use',
        tags: ['tokens'],
        response: { 200: TokenListSchema },
      },
    },
    async (request) => {
      const rows = await service.list(signedIn(request).id)
      return { status: 'success' as const, data: rows.map((r) => toTokenJson(r, now())) }
    },
  )

  app.get(
    '/me/tokens/current',
    {
      config: { access: READERS },
      schema: {
        summary: 'The personal access token making this request (for `insighta auth status`): its scopes, expiry, last use',
        description: '404 when the request was made with a session access token instead.',
        tags: ['tokens'],
        response: { 200: OneTokenSchema, 404: ErrorSchema },
      },
    },
    async (request) => {
      const user = signedIn(request)
      const row = user.personalAccessTokenId ? await service.find(user.id, user.personalAccessTokenId) : undefined
      if (!row) throw new ApiError(404, 'This request was not made with a personal access token')
      return { status: 'success' as const, data: toTokenJson(row, now()) }
    },
  )

  app.post(
    '/me/tokens',
    {
      // A token never mints tokens: creating one needs a signed-in person.
      config: { access: READERS, personalAccessTokens: false },
      schema: {
        summary: 'Create a personal access token: {"name","expires_in_days","scopes"} → 201 with the secret, shown once',
        description:
          'expires_in_days defaults to PAT_DEFAULT_EXPIRY_DAYS (30) and may not exceed PAT_MAX_EXPIRY_DAYS (90); scopes ' +
          'default to ["read"]; "admin" only for admins. Send it as Authorization: Bearer insighta_pat_…',
        tags: ['tokens'],
        body: CreateTokenBodySchema,
        response: { 201: CreatedTokenSchema, 400: ErrorSchema, 409: ErrorSchema, 422: ErrorSchema },
      },
    },
    async (request, reply) => {
      const user = signedIn(request)
      const { token, row } = await service.create(user, request.body, requestContext(request))
      return reply.code(201).send({ status: 'success' as const, token, data: toTokenJson(row, now()) })
    },
  )

  app.delete(
    '/me/tokens/:id',
    {
      config: { access: READERS, notFound: 'Token not found' },
      schema: {
        summary: 'Revoke one of my personal access tokens',
        tags: ['tokens'],
        params: Type.Object({ id: SafeText() }),
        response: { 204: Type.Null(), 404: ErrorSchema },
      },
    },
    async (request, reply) => {
      if (!isUuid(request.params.id)) throw tokenNotFound()
      const user = signedIn(request)
      await service.revoke(user, user.id, request.params.id.toLowerCase(), requestContext(request))
      return reply.code(204).send(null)
    },
  )

  app.get(
    '/:id/tokens',
    {
      config: { access: ADMINS, notFound: 'User not found' },
      schema: {
        summary: 'A user’s personal access tokens (admin)',
        tags: ['tokens'],
        params: Type.Object({ id: SafeText() }),
        response: { 200: TokenListSchema, 404: ErrorSchema },
      },
    },
    async (request) => {
      if (!isUuid(request.params.id)) throw userNotFound()
      const user = await findUserById(app.db.db, request.params.id.toLowerCase())
      if (!user) throw userNotFound()
      const rows = await service.list(user.id)
      return { status: 'success' as const, data: rows.map((r) => toTokenJson(r, now())) }
    },
  )

  app.delete(
    '/:id/tokens/:tokenId',
    {
      config: { access: ADMINS, notFound: 'Token not found' },
      schema: {
        summary: 'Revoke a user’s personal access token (admin)',
        tags: ['tokens'],
        params: Type.Object({ id: SafeText(), tokenId: SafeText() }),
        response: { 204: Type.Null(), 404: ErrorSchema },
      },
    },
    async (request, reply) => {
      if (!isUuid(request.params.id)) throw userNotFound()
      if (!isUuid(request.params.tokenId)) throw tokenNotFound()
      const owner = await findUserById(app.db.db, request.params.id.toLowerCase())
      if (!owner) throw userNotFound()
      await service.revoke(signedIn(request), owner.id, request.params.tokenId.toLowerCase(), requestContext(request))
      return reply.code(204).send(null)
    },
  )
}

export default tokens
