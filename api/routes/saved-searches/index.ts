import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { ErrorSchema } from '../../../contract/envelope.ts'
import { isUuid } from '../../../contract/ids.ts'
import { NewSavedSearchSchema, SavedSearchSchema } from '../../../contract/saved-search.ts'
import { SafeText } from '../../../contract/text.ts'
import { ApiError } from '../../errors.ts'
import { signedIn } from '../../plugins/auth.ts'
import { requestContext } from '../../plugins/client-ip.ts'

const READERS = ['admin', 'analyst'] as const
const notFound = () => new ApiError(404, 'Saved search not found')

/** /api/saved-searches — each user's own named filters and queries (contract §6). */
const savedSearches: FastifyPluginAsyncTypebox = async (app) => {
  const service = app.savedSearches

  app.get(
    '/',
    {
      config: { access: READERS },
      schema: {
        summary: 'My saved searches, newest first',
        tags: ['saved searches'],
        response: { 200: Type.Object({ status: Type.Literal('success'), data: Type.Array(SavedSearchSchema) }) },
      },
    },
    async (request) => ({ status: 'success' as const, data: await service.list(signedIn(request).id) }),
  )

  app.post(
    '/',
    {
      config: { access: READERS },
      schema: {
        summary: 'Save a list filter or a natural-language query under a name',
        tags: ['saved searches'],
        body: NewSavedSearchSchema,
        response: {
          201: Type.Object({ status: Type.Literal('success'), data: SavedSearchSchema }),
          400: ErrorSchema,
          409: ErrorSchema,
          422: ErrorSchema,
        },
      },
    },
    async (request, reply) => {
      const saved = await service.create(signedIn(request).id, request.body.name, request.body.query, requestContext(request))
      return reply.code(201).send({ status: 'success', data: saved })
    },
  )

  app.delete(
    '/:id',
    {
      config: { access: READERS, notFound: 'Saved search not found' },
      schema: {
        summary: 'Delete one of my saved searches',
        tags: ['saved searches'],
        params: Type.Object({ id: SafeText() }),
        response: { 204: Type.Null(), 404: ErrorSchema },
      },
    },
    async (request, reply) => {
      const { id } = request.params
      if (!isUuid(id) || !(await service.delete(signedIn(request).id, id, requestContext(request)))) throw notFound()
      return reply.code(204).send(null)
    },
  )
}

export default savedSearches
