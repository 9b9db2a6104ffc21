import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { countUsers, findUserById, listUsers } from '../../../db/repositories/users.ts'
import { ApiError } from '../../errors.ts'
import { signedIn } from '../../plugins/auth.ts'
import { requestContext } from '../../plugins/client-ip.ts'
import { unauthorized } from '../../services/auth-errors.ts'
import { changeUser, toUserJson } from '../../services/user-admin.ts'
import { ErrorSchema } from '../../../contract/envelope.ts'
import { MeSchema, UserSchema } from '../../../contract/user.ts'
import tokens from './tokens.ts'
import { SafeText } from '../../../contract/text.ts'

const READERS = ['admin', 'analyst'] as const
const ADMINS = ['admin'] as const
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
const MAX_LIMIT = 50

const userNotFound = () => new ApiError(404, 'User not found')

const ListQuerySchema = Type.Object(
  {
    page: Type.Optional(Type.Integer({ minimum: 1, default: 1 })),
    limit: Type.Optional(Type.Integer({ minimum: 1, default: 10, description: `clamped to ${MAX_LIMIT}` })),
    q: Type.Optional(SafeText({ maxLength: 200, description: 'case-insensitive substring of username or email' })),
    role: Type.Optional(Type.Union([Type.Literal('admin'), Type.Literal('analyst')])),
    is_active: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: true },
)

const ListSchema = Type.Object({
  status: Type.Literal('success'),
  page: Type.Integer(),
  limit: Type.Integer(),
  total: Type.Integer(),
  total_pages: Type.Integer(),
  data: Type.Array(UserSchema),
})

const OneSchema = Type.Object({ status: Type.Literal('success'), data: UserSchema })
const IdParams = Type.Object({ id: SafeText() })

const users: FastifyPluginAsyncTypebox = async (app) => {
  await app.register(tokens)

  app.get(
    '/me',
    {
      config: { access: READERS },
      schema: { summary: 'The signed-in user (same answer as GET /auth/me)', tags: ['users'], response: { 200: MeSchema } },
    },
    async (request) => {
      const user = await findUserById(app.db.db, signedIn(request).id)
      if (!user) throw unauthorized('Session not found; log in again', true)
      const json = toUserJson(user)
      return { status: 'success' as const, data: json, user: json }
    },
  )

  app.get(
    '/',
    {
      config: { access: ADMINS },
      schema: {
        summary: 'List users (admin): paging, search by username or email, filter by role and status',
        tags: ['users'],
        querystring: ListQuerySchema,
        response: { 200: ListSchema, 422: ErrorSchema },
      },
    },
    async (request) => {
      const page = request.query.page ?? 1
      const limit = Math.min(request.query.limit ?? 10, MAX_LIMIT)
      const filter = { q: request.query.q?.trim(), role: request.query.role, isActive: request.query.is_active }
      const [total, rows] = await Promise.all([
        countUsers(app.db.db, filter),
        listUsers(app.db.db, filter, limit, (page - 1) * limit),
      ])
      return {
        status: 'success' as const,
        page,
        limit,
        total,
        total_pages: Math.ceil(total / limit),
        data: rows.map(toUserJson),
      }
    },
  )

  app.get(
    '/:id',
    {
      config: { access: ADMINS, notFound: 'User not found' },
      schema: { summary: 'One user (admin)', tags: ['users'], params: IdParams, response: { 200: OneSchema, 404: ErrorSchema } },
    },
    async (request) => {
      if (!UUID.test(request.params.id)) throw userNotFound()
      const user = await findUserById(app.db.db, request.params.id.toLowerCase())
      if (!user) throw userNotFound()
      return { status: 'success' as const, data: toUserJson(user) }
    },
  )

  app.patch(
    '/:id',
    {
      config: { access: ADMINS, notFound: 'User not found' },
      schema: {
        summary: 'Change a user’s role and/or status (admin)',
        description:
          'Body {"role":"admin"|"analyst"} and/or {"is_active":false|true}. Suspending ends every session of the user at ' +
          'once and survives their next login; activating lifts it. 409 when the change would leave no active admin.',
        tags: ['users'],
        params: IdParams,
        body: Type.Object(
          {
            role: Type.Optional(Type.Union([Type.Literal('admin'), Type.Literal('analyst')])),
            is_active: Type.Optional(Type.Boolean()),
          },
          { additionalProperties: false },
        ),
        response: { 200: OneSchema, 400: ErrorSchema, 404: ErrorSchema, 409: ErrorSchema, 422: ErrorSchema },
      },
    },
    async (request) => {
      if (!UUID.test(request.params.id)) throw userNotFound()
      const { role, is_active } = request.body
      if (role === undefined && is_active === undefined) throw new ApiError(400, 'Missing or empty role or is_active')
      const identity = app.identity
      const updated = await changeUser(
        { db: app.db, clock: identity.clock, cache: identity.cache, audit: identity.audit },
        { id: signedIn(request).id },
        request.params.id.toLowerCase(),
        { role, is_active },
        requestContext(request),
      )
      return { status: 'success' as const, data: toUserJson(updated) }
    },
  )
}

export default users
