import { Readable } from 'node:stream'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { isUuid } from '../../../contract/ids.ts'
import { interpretProfileQuery, SEARCH_EXAMPLES } from '../../../contract/nl-parser.ts'
import { MAX_NAME_LENGTH, ProfileSchema } from '../../../contract/profile.ts'
import {
  filterParams,
  FilterQuerySchema,
  ListEnvelopeSchema,
  ListQuerySchema,
  SearchEnvelopeSchema,
  SearchQuerySchema,
  facetsOf,
  filterOf,
  normaliseQuery,
} from '../../../contract/profile-query.ts'
import { StatsSchema } from '../../../contract/profile-stats.ts'
import { SafeText } from '../../../contract/text.ts'
import { ApiError, invalidQuery, missingQuery, profileNotFound } from '../../errors.ts'
import { rejectStaticPathOnParametricRoute } from '../../plugins/errors.ts'
import { sendExport } from './export.ts'
import { pagingOf } from '../../services/profile-paging.ts'
import { ErrorSchema } from '../../../contract/envelope.ts'
import importRoutes from './import.ts'

const READERS = ['admin', 'analyst'] as const
const ADMINS = ['admin'] as const
const IdParamsSchema = Type.Object({ id: SafeText() })
/** An uninterpretable search also lists queries that work. */
const SearchErrorSchema = Type.Object({ ...ErrorSchema.properties, examples: Type.Optional(Type.Array(Type.String())) })

async function normaliseQueryHook(request: FastifyRequest) {
  const check = normaliseQuery(request.query as Record<string, unknown>)
  if (!check.ok) throw check.status === 400 ? missingQuery() : invalidQuery()
}

/** A required parameter of a route is a 400 when absent, before the schema's 422 for a bad value. */
function requireParam(name: string) {
  return async (request: FastifyRequest) => {
    if ((request.query as Record<string, unknown>)[name] === undefined) throw missingQuery()
    await normaliseQueryHook(request)
  }
}

/**
 * A 200 body serialised once by the route's own schema serializer: the service hands back the same
 * envelope object for a page served again from the query cache, so a hit is not serialised again.
 */
const serialized = new WeakMap<object, ReturnType<FastifyReply['serialize']>>()
function sendSerialized(reply: FastifyReply, body: object): FastifyReply {
  let json = serialized.get(body)
  if (json === undefined) {
    json = reply.serialize(body)
    serialized.set(body, json)
  }
  return reply.type('application/json; charset=utf-8').send(json)
}
/** The search body of an envelope (its `interpreted` comes from `q`, which the envelope's links carry). */
const searchBodies = new WeakMap<object, object>()

const profiles: FastifyPluginAsyncTypebox = async (app) => {
  const service = app.profiles
  await app.register(importRoutes)

  app.get(
    '/',
    {
      config: { access: READERS },
      preValidation: normaliseQueryHook,
      schema: {
        summary: 'List profiles with filters, sorting and pagination',
        tags: ['profiles'],
        querystring: ListQuerySchema,
        response: { 200: ListEnvelopeSchema, 400: ErrorSchema, 422: ErrorSchema },
      },
    },
    async (request, reply) => {
      const filter = filterOf(request.query)
      return sendSerialized(reply, await service.list('/api/profiles', filterParams(filter), filter, pagingOf(request.query), facetsOf(request.query.facets)))
    },
  )

  app.get(
    '/search',
    {
      config: { access: READERS },
      preValidation: requireParam('q'),
      schema: {
        summary: 'Natural-language search ("young males from nigeria")',
        description: 'Rule-based parser; docs/search.md lists its rules and limits.',
        tags: ['profiles'],
        querystring: SearchQuerySchema,
        response: { 200: SearchEnvelopeSchema, 400: SearchErrorSchema, 422: ErrorSchema },
      },
    },
    async (request, reply) => {
      const { filter, ignored } = interpretProfileQuery(request.query.q)
      if (!filter) throw new ApiError(400, 'Unable to interpret query', {}, { examples: SEARCH_EXAMPLES })
      const paging = pagingOf(request.query)
      const envelope = await service.list('/api/profiles/search', { q: request.query.q }, filter, paging, facetsOf(request.query.facets))
      let body = searchBodies.get(envelope)
      if (!body) searchBodies.set(envelope, (body = { ...envelope, interpreted: { filter, ignored_words: ignored } }))
      return sendSerialized(reply, body)
    },
  )

  app.get(
    '/export',
    {
      config: { access: READERS },
      preValidation: requireParam('format'),
      schema: {
        summary: 'Export every profile matching the filters as CSV (streamed)',
        description:
          'Same filters and order as the list, no pagination. `safe=true` prefixes cells that a spreadsheet would ' +
          "evaluate as a formula (first character = + - @, tab or CR) with a `'`; off by default (the raw export). " +
          'Busy (429 for this user, 503 overall) when the export caps are reached.',
        tags: ['profiles'],
        querystring: Type.Object(
          {
            ...ListQuerySchema.properties,
            format: Type.Literal('csv'),
            safe: Type.Optional(Type.Boolean({ description: "neutralise formula cells with a leading '" })),
          },
          { additionalProperties: true },
        ),
        produces: ['text/csv'],
        response: {
          200: Type.Unsafe<Readable>({ type: 'string', description: 'text/csv; charset=utf-8, RFC 4180, header row first' }),
          400: ErrorSchema,
          422: ErrorSchema,
          429: ErrorSchema,
          503: ErrorSchema,
        },
      },
    },
    async (request, reply) => sendExport(request, reply, {
      filter: filterOf(request.query),
      sort: pagingOf(request.query).sort,
      neutraliseFormulas: request.query.safe === true,
    }),
  )

  app.get(
    '/stats',
    {
      config: { access: READERS },
      preValidation: normaliseQueryHook,
      schema: {
        summary: 'Counts for dashboards: by gender, age group, country and a 10-year age histogram',
        tags: ['profiles'],
        querystring: Type.Object(FilterQuerySchema.properties, { additionalProperties: true }),
        response: { 200: StatsSchema, 400: ErrorSchema, 422: ErrorSchema },
      },
    },
    async (request) => service.stats(filterOf(request.query)),
  )

  app.get(
    '/:id',
    {
      config: { access: READERS, notFound: 'Profile not found' },
      onRequest: rejectStaticPathOnParametricRoute,
      schema: {
        summary: 'One profile',
        tags: ['profiles'],
        params: IdParamsSchema,
        response: { 200: Type.Object({ status: Type.Literal('success'), data: ProfileSchema }), 404: ErrorSchema },
      },
    },
    async (request) => {
      const profile = isUuid(request.params.id) ? await service.find(request.params.id) : undefined
      if (!profile) throw profileNotFound()
      return { status: 'success' as const, data: profile }
    },
  )

  app.post(
    '/',
    {
      config: { access: ADMINS },
      schema: {
        summary: 'Create a profile by name, enriched through Genderize, Agify and Nationalize',
        tags: ['profiles'],
        body: Type.Object({ name: SafeText({ description: `1–${MAX_NAME_LENGTH} characters after trimming` }) }),
        response: {
          200: Type.Object({ status: Type.Literal('success'), message: Type.String(), data: ProfileSchema }),
          201: Type.Object({ status: Type.Literal('success'), data: ProfileSchema }),
          400: ErrorSchema,
          413: ErrorSchema,
          422: ErrorSchema,
          502: ErrorSchema,
        },
      },
    },
    async (request, reply) => {
      const name = request.body.name.trim()
      if (name === '') throw new ApiError(400, 'Missing or empty name')
      if (name.length > MAX_NAME_LENGTH) throw new ApiError(422, `Invalid name: at most ${MAX_NAME_LENGTH} characters`)
      const { created, profile } = await service.createOrFind(name)
      if (!created) return reply.code(200).send({ status: 'success', message: 'Profile already exists', data: profile })
      return reply.code(201).send({ status: 'success', data: profile })
    },
  )

  app.delete(
    '/:id',
    {
      config: { access: ADMINS, notFound: 'Profile not found' },
      onRequest: rejectStaticPathOnParametricRoute,
      schema: {
        summary: 'Delete a profile',
        tags: ['profiles'],
        params: IdParamsSchema,
        response: { 204: Type.Null(), 404: ErrorSchema },
      },
    },
    async (request, reply) => {
      if (!isUuid(request.params.id) || !(await service.delete(request.params.id))) throw profileNotFound()
      return reply.code(204).send(null)
    },
  )
}

export default profiles
