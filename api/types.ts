import type { Db } from '../db/index.ts'
import type { EnrichmentClient } from './services/enrichment.ts'
import type { QueryCache } from './services/query-cache.ts'

export type Role = 'admin' | 'analyst'

declare module 'fastify' {
  interface FastifyInstance {
    db: Db
    queryCache: QueryCache
    enrichment: EnrichmentClient
  }
  interface FastifyContextConfig {
    /**
     * Who may call the route. `public` routes need no token; otherwise a valid access token whose
     * role is listed. Every route under /api/ must declare this (a test enforces it).
     */
    access?: 'public' | readonly Role[]
  }
}
