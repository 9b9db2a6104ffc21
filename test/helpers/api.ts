import type { FastifyInstance } from 'fastify'
import { buildApiApp } from '../../api/app.ts'
import { loadApiConfig, type ApiConfig } from '../../api/config.ts'
import type { Clock, RandomBytes } from '../../api/services/clock.ts'
import { createTestDatabase, type Teardown, type TestDatabase } from './database.ts'
import { createTestUser, type TestUser } from './auth.ts'

export type TestRole = 'admin' | 'analyst'

/**
 * Configuration every test API shares unless a test overrides it: one fixed signing secret (so
 * several app instances over one database accept each other's tokens, as production instances do)
 * and rate limits high enough never to get in the way of tests that are not about them.
 */
export const TEST_JWT_SECRET = 'test-only-jwt-secret-0123456789abcdef0123456789'
export const TEST_ENV: Readonly<Record<string, string>> = Object.freeze({
  DEPLOYMENT_ENV: 'test',
  LOG_LEVEL: 'silent',
  JWT_SECRET: TEST_JWT_SECRET,
  RATE_LIMIT_AUTH_PER_MINUTE: '1000000',
  RATE_LIMIT_API_PER_MINUTE: '1000000',
})

export interface TestApi {
  app: FastifyInstance
  db: TestDatabase
  config: ApiConfig
  /**
   * Headers for a request by a user of this role: `X-API-Version: 1` and `Authorization: Bearer …`.
   * The user and a live session are created once per role (directly, no GitHub dance); every call
   * signs a fresh access token for them.
   */
  headers(role: TestRole): Promise<Record<string, string>>
  /** the user (and session) behind headers(role) */
  user(role: TestRole): Promise<TestUser>
}

/**
 * The API on a fresh test database, silent. `env` overrides configuration variables exactly as the
 * environment would (e.g. { GENDERIZE_URL: stubs.urls.genderize }); `clock` and `random` replace
 * time and randomness (token expiry, codes, rate-limit windows).
 */
export async function buildTestApi(
  t: Teardown,
  options: { seed?: boolean; env?: Record<string, string>; db?: TestDatabase; clock?: Clock; random?: RandomBytes } = {},
): Promise<TestApi> {
  const db = options.db ?? (await createTestDatabase(t, { seed: options.seed }))
  const config = loadApiConfig({ ...TEST_ENV, ...options.env })
  const app = await buildApiApp({ config, db, logger: false, clock: options.clock, random: options.random })
  t.teardown(() => app.close())
  const users = new Map<TestRole, Promise<TestUser>>()
  const user = (role: TestRole) => {
    let made = users.get(role)
    if (!made) {
      made = createTestUser(app, role)
      users.set(role, made)
    }
    return made
  }
  return {
    app,
    db,
    config,
    user,
    async headers(role: TestRole) {
      const u = await user(role)
      return { ...V1, authorization: `Bearer ${await u.accessToken()}` }
    },
  }
}

/**
 * Headers for an app built without buildTestApi (its own loadApiConfig/buildApiApp): the user and
 * session are created in THAT app's database, and the app must be configured with TEST_ENV's
 * JWT_SECRET (or any fixed secret) for tokens to survive across apps.
 */
export async function authHeaders(app: FastifyInstance, role: TestRole): Promise<Record<string, string>> {
  const u = await createTestUser(app, role)
  return { ...V1, authorization: `Bearer ${await u.accessToken()}` }
}

export const V1 = { 'x-api-version': '1' } as const
