import type { FastifyInstance } from 'fastify'
import { buildApiApp } from '../../api/app.ts'
import { loadApiConfig, type ApiConfig } from '../../api/config.ts'
import { createTestDatabase, type Teardown, type TestDatabase } from './database.ts'

export type TestRole = 'admin' | 'analyst'

export interface TestApi {
  app: FastifyInstance
  db: TestDatabase
  config: ApiConfig
  /** headers for a /api/profiles* request by a user of this role: version header and credentials */
  headers(role: TestRole): Promise<Record<string, string>>
}

/**
 * The API on a fresh test database, silent. `env` overrides configuration variables exactly as the
 * environment would (e.g. { GENDERIZE_URL: stubs.urls.genderize }).
 */
export async function buildTestApi(
  t: Teardown,
  options: { seed?: boolean; env?: Record<string, string>; db?: TestDatabase } = {},
): Promise<TestApi> {
  const db = options.db ?? (await createTestDatabase(t, { seed: options.seed }))
  const config = loadApiConfig({ DEPLOYMENT_ENV: 'test', LOG_LEVEL: 'silent', ...options.env })
  const app = await buildApiApp({ config, db, logger: false })
  t.teardown(() => app.close())
  return {
    app,
    db,
    config,
    async headers(_role: TestRole) {
      return { ...V1 }
    },
  }
}

export const V1 = { 'x-api-version': '1' } as const
