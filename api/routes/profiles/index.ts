import { Readable } from 'node:stream'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type, type Static } from '@sinclair/typebox'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { v7 as uuidv7 } from 'uuid'
import {
  countProfiles,
  deleteProfile,
  findProfileById,
  findProfileByName,
  insertProfile,
  listProfiles,
  profileStats,
  streamProfiles,
} from '../../../db/repositories/profiles.ts'
import { ApiError, invalidQuery, missingQuery, profileNotFound } from '../../errors.ts'
import { countryNameOf } from '../../services/countries.ts'
import { csvLine } from '../../services/csv.ts'
import { parseProfileQuery } from '../../services/nl-parser.ts'
import { AGE_GROUP_BOUNDS, AGE_GROUPS, canonicalFilterKey, type ProfileFilter } from '../../services/profile-filter.ts'
import {
  FilterQuerySchema,
  filterOf,
  formatTimestamp,
  ListEnvelopeSchema,
  ListQuerySchema,
  normaliseQuery,
  pageLinks,
  pagingOf,
  ProfileSchema,
  SearchQuerySchema,
  toProfileJson,
  whereOf,
  type Paging,
  type ProfileJson,
} from '../../services/profile-query.ts'
import { rejectStaticPathOnParametricRoute } from '../../plugins/errors.ts'
import { ErrorSchema } from '../schemas.ts'
import importRoutes from './import.ts'

const READERS = ['admin', 'analyst'] as const
const ADMINS = ['admin'] as const
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
const MAX_NAME_LENGTH = 200

const CSV_COLUMNS = [
  'id',
  'name',
  'gender',
  'gender_probability',
  'age',
  'age_group',
  'country_id',
  'country_name',
  'country_probability',
  'created_at',
] as const

async function normaliseQueryHook(request: FastifyRequest) {
  const check = normaliseQuery(request.query as Record<string, unknown>)
  if (!check.ok) throw check.status === 400 ? missingQuery() : invalidQuery()
}

interface PageResult {
  total: number
  data: ProfileJson[]
}

/** One page and the exact total for a filter, through the write-invalidated query cache. */
async function findPage(app: FastifyInstance, filter: ProfileFilter, paging: Paging): Promise<PageResult> {
  const { page, limit, sort } = paging
  const key = `page:${canonicalFilterKey(filter)}:${sort.column}:${sort.direction}:${page}:${limit}`
  const cached = await app.queryCache.get<PageResult>(key)
  if (cached) return cached
  const where = whereOf(filter)
  const offset = (page - 1) * limit
  const db = app.db.db
  let total: number
  let rows: Awaited<ReturnType<typeof listProfiles>>
  if (offset === 0) {
    ;[total, rows] = await Promise.all([countProfiles(db, where), listProfiles(db, where, sort, limit, 0)])
  } else {
    // Past the first page, count first: a page beyond the end costs nothing instead of a long scan.
    total = await countProfiles(db, where)
    rows = offset < total ? await listProfiles(db, where, sort, limit, offset) : []
  }
  const result = { total, data: rows.map(toProfileJson) }
  await app.queryCache.set(key, result)
  return result
}

function listEnvelope(path: string, params: Record<string, string | number | undefined>, paging: Paging, result: PageResult) {
  const totalPages = Math.ceil(result.total / paging.limit)
  return {
    status: 'success' as const,
    page: paging.page,
    limit: paging.limit,
    total: result.total,
    total_pages: totalPages,
    links: pageLinks(path, { ...params, ...paging.sortParams }, paging.page, paging.limit, totalPages),
    data: result.data,
  }
}

const StatsSchema = Type.Object({
  status: Type.Literal('success'),
  data: Type.Object({
    total: Type.Integer(),
    by_gender: Type.Object({ male: Type.Integer(), female: Type.Integer() }),
    by_age_group: Type.Object({
      child: Type.Integer(),
      teenager: Type.Integer(),
      adult: Type.Integer(),
      senior: Type.Integer(),
    }),
    by_country: Type.Array(Type.Object({ country_id: Type.String(), country_name: Type.String(), count: Type.Integer() })),
    age_histogram: Type.Array(
      Type.Object({ from: Type.Integer(), to: Type.Integer(), count: Type.Integer() }, { description: 'inclusive 10-year bands' }),
    ),
  }),
})

type StatsBody = Static<typeof StatsSchema>

const profiles: FastifyPluginAsyncTypebox = async (app) => {
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
    async (request) => {
      const filter = filterOf(request.query)
      const paging = pagingOf(request.query)
      const result = await findPage(app, filter, paging)
      const params: Record<string, string | number | undefined> = {}
      for (const key of Object.keys(FilterQuerySchema.properties) as (keyof ProfileFilter)[]) params[key] = filter[key]
      return listEnvelope('/api/profiles', params, paging, result)
    },
  )

  app.get(
    '/search',
    {
      config: { access: READERS },
      preValidation: async (request) => {
        const query = request.query as Record<string, unknown>
        if (query.q === undefined) throw missingQuery()
        await normaliseQueryHook(request)
      },
      schema: {
        summary: 'Natural-language search ("young males from nigeria")',
        description: 'Rule-based parser; see the README for its rules and limits.',
        tags: ['profiles'],
        querystring: SearchQuerySchema,
        response: { 200: ListEnvelopeSchema, 400: ErrorSchema, 422: ErrorSchema },
      },
    },
    async (request) => {
      const filter = parseProfileQuery(request.query.q)
      if (!filter) throw new ApiError(400, 'Unable to interpret query')
      const paging = pagingOf(request.query)
      const result = await findPage(app, filter, paging)
      return listEnvelope('/api/profiles/search', { q: request.query.q }, paging, result)
    },
  )

  app.get(
    '/export',
    {
      config: { access: READERS },
      preValidation: async (request) => {
        const query = request.query as Record<string, unknown>
        if (query.format === undefined) throw missingQuery()
        await normaliseQueryHook(request)
      },
      schema: {
        summary: 'Export every profile matching the filters as CSV (streamed)',
        tags: ['profiles'],
        querystring: Type.Object(
          { ...ListQuerySchema.properties, format: Type.Literal('csv') },
          { additionalProperties: true },
        ),
        produces: ['text/csv'],
        response: {
          200: Type.String({ description: 'text/csv; charset=utf-8, RFC 4180, header row first' }),
          400: ErrorSchema,
          422: ErrorSchema,
        },
      },
    },
    async (request, reply: FastifyReply) => {
      const where = whereOf(filterOf(request.query))
      const { sort } = pagingOf(request.query)
      const stamp = formatTimestamp(new Date()).replace(/[-:]/g, '')
      async function* lines() {
        yield csvLine(CSV_COLUMNS)
        for await (const batch of streamProfiles(app.db.pool, app.db.db, where, sort)) {
          let chunk = ''
          for (const row of batch) {
            const p = toProfileJson(row)
            chunk += csvLine(CSV_COLUMNS.map((c) => p[c]))
          }
          yield chunk
        }
      }
      reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="profiles_${stamp}.csv"`)
        .header('cache-control', 'no-store')
      return reply.send(Readable.from(lines(), { objectMode: false }))
    },
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
    async (request) => {
      const filter = filterOf(request.query)
      const key = `stats:${canonicalFilterKey(filter)}`
      const cached = await app.queryCache.get<StatsBody>(key)
      if (cached) return cached
      const stats = await profileStats(app.db.db, whereOf(filter))
      const byGender = { male: 0, female: 0 }
      for (const g of stats.by_gender) if (g.gender === 'male' || g.gender === 'female') byGender[g.gender] = g.count
      const byAgeGroup = { child: 0, teenager: 0, adult: 0, senior: 0 }
      const histogram = new Map<number, number>()
      for (const { age, count } of stats.by_age) {
        const group = AGE_GROUPS.find((g) => age >= AGE_GROUP_BOUNDS[g].min && age <= (AGE_GROUP_BOUNDS[g].max ?? Infinity))
        if (group) byAgeGroup[group] += count
        const band = Math.floor(age / 10) * 10
        histogram.set(band, (histogram.get(band) ?? 0) + count)
      }
      const body: StatsBody = {
        status: 'success',
        data: {
          total: stats.total,
          by_gender: byGender,
          by_age_group: byAgeGroup,
          by_country: stats.by_country.map((c) => ({
            country_id: c.country_id.trim(),
            country_name: countryNameOf(c.country_id.trim()) ?? c.country_id.trim(),
            count: c.count,
          })),
          age_histogram: [...histogram]
            .sort((a, b) => a[0] - b[0])
            .map(([from, count]) => ({ from, to: from + 9, count })),
        },
      }
      await app.queryCache.set(key, body)
      return body
    },
  )

  app.get(
    '/:id',
    {
      config: { access: READERS },
      onRequest: rejectStaticPathOnParametricRoute,
      schema: {
        summary: 'One profile',
        tags: ['profiles'],
        params: Type.Object({ id: Type.String() }),
        response: { 200: Type.Object({ status: Type.Literal('success'), data: ProfileSchema }), 404: ErrorSchema },
      },
    },
    async (request) => {
      const { id } = request.params
      if (!UUID.test(id)) throw profileNotFound()
      const row = await findProfileById(app.db.db, id.toLowerCase())
      if (!row) throw profileNotFound()
      return { status: 'success' as const, data: toProfileJson(row) }
    },
  )

  app.post(
    '/',
    {
      config: { access: ADMINS },
      schema: {
        summary: 'Create a profile by name, enriched through Genderize, Agify and Nationalize',
        tags: ['profiles'],
        body: Type.Object({ name: Type.String({ description: `1–${MAX_NAME_LENGTH} characters after trimming` }) }),
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
      const existing = await findProfileByName(app.db.db, name)
      if (existing) return reply.code(200).send({ status: 'success', message: 'Profile already exists', data: toProfileJson(existing) })
      const enriched = await app.enrichment.enrich(name)
      const inserted = await insertProfile(app.db.db, { id: uuidv7(), name, ...enriched })
      if (!inserted) {
        // Created by a concurrent request between our look-up and our insert.
        const winner = await findProfileByName(app.db.db, name)
        if (winner) return reply.code(200).send({ status: 'success', message: 'Profile already exists', data: toProfileJson(winner) })
        throw new Error('profile insert conflicted but no profile has the name')
      }
      await app.queryCache.invalidate()
      return reply.code(201).send({ status: 'success', data: toProfileJson(inserted) })
    },
  )

  app.delete(
    '/:id',
    {
      config: { access: ADMINS },
      onRequest: rejectStaticPathOnParametricRoute,
      schema: {
        summary: 'Delete a profile',
        tags: ['profiles'],
        params: Type.Object({ id: Type.String() }),
        response: { 204: Type.Null(), 404: ErrorSchema },
      },
    },
    async (request, reply) => {
      const { id } = request.params
      if (!UUID.test(id)) throw profileNotFound()
      const deleted = await deleteProfile(app.db.db, id.toLowerCase())
      if (!deleted) throw profileNotFound()
      await app.queryCache.invalidate()
      return reply.code(204).send(null)
    },
  )
}

export default profiles
