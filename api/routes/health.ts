import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { sql } from 'kysely'

const Ok = Type.Object({ status: Type.Literal('ok') })
const NotReady = Type.Object({ status: Type.Literal('error'), message: Type.String() })

/** Liveness (/health for existing monitors, /healthz) and readiness (/readyz: the database answers). */
const health: FastifyPluginAsyncTypebox = async (app) => {
  const live = { config: { access: 'public' as const }, schema: { tags: ['health'], response: { 200: Ok } } }
  app.get('/health', { ...live, schema: { ...live.schema, summary: 'Liveness (kept for existing monitors)' } }, async () => ({ status: 'ok' as const }))
  app.get('/healthz', { ...live, schema: { ...live.schema, summary: 'Liveness: the process is up' } }, async () => ({ status: 'ok' as const }))
  app.get(
    '/readyz',
    {
      config: { access: 'public' },
      schema: { summary: 'Readiness: the database answers within 2 s', tags: ['health'], response: { 200: Ok, 503: NotReady } },
    },
    async (_request, reply) => {
      try {
        await Promise.race([
          sql`select 1`.execute(app.db.db),
          new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), 2000).unref()),
        ])
        return { status: 'ok' as const }
      } catch {
        return reply.code(503).send({ status: 'error', message: 'Database unavailable' })
      }
    },
  )
}

export default health
