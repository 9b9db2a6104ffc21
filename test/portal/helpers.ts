/**
 * The portal in route tests: a real API (the test helper's, on a loopback port, over a fresh
 * database) and the portal app built on the same database, driven with `inject`.
 */
import { randomBytes } from 'node:crypto'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { newId } from '../../contract/ids.ts'
import { buildPortalApp } from '../../portal/app.ts'
import { DEV_PORTAL_CLIENT_SECRET, loadPortalConfig, type PortalConfig } from '../../portal/config.ts'
import type { UserJson } from '../../portal/api-client.ts'
import type { PortalSession } from '../../portal/session-store.ts'
import { buildTestApi, type TestApi, type TestRole } from '../helpers/api.ts'
import { createTestDatabase, type Teardown, type TestDatabase } from '../helpers/database.ts'
import { startFakeApi, type FakeApi } from './fake-api.ts'

export const PORTAL_ORIGIN = 'http://localhost:3001'

export interface SignedIn {
  /** the Cookie header value */
  cookie: string
  csrf: string
  session: PortalSession
  user: UserJson
}

export interface TestPortal {
  app: FastifyInstance
  api: TestApi
  apiUrl: string
  config: PortalConfig
  /** a portal session for a user of this role, inserted directly with a token from the API helper */
  signIn(role: TestRole, overrides?: Partial<UserJson>): Promise<SignedIn>
  get(url: string, who?: SignedIn, headers?: Record<string, string>): Promise<LightMyRequestResponse>
  /** a same-origin form POST (Origin header set) with the session's CSRF token unless `csrf` overrides it */
  post(url: string, form: Record<string, string>, who?: SignedIn, options?: { csrf?: string | null; headers?: Record<string, string> }): Promise<LightMyRequestResponse>
}

export async function buildTestPortal(
  t: Teardown,
  options: { seed?: boolean; env?: Record<string, string>; apiEnv?: Record<string, string>; api?: TestApi; clock?: { now: Date } } = {},
): Promise<TestPortal> {
  const api =
    options.api ??
    (await buildTestApi(t, {
      seed: options.seed ?? true,
      env: {
        AUTH_TEST_CODE_ENABLED: 'true',
        PORTAL_CLIENT_SECRET: DEV_PORTAL_CLIENT_SECRET,
        PORTAL_REDIRECT_URI: `${PORTAL_ORIGIN}/auth/callback`,
        RATE_LIMIT_API_PER_MINUTE: '100000',
        RATE_LIMIT_AUTH_PER_MINUTE: '100000',
        ...options.apiEnv,
      },
    }))
  const apiUrl = await api.app.listen({ host: '127.0.0.1', port: 0 })
  const config = loadPortalConfig({
    DEPLOYMENT_ENV: 'test',
    LOG_LEVEL: 'silent',
    API_URL: apiUrl,
    PORTAL_PUBLIC_URL: PORTAL_ORIGIN,
    PORTAL_SESSION_KEY: randomBytes(32).toString('hex'),
    ...options.env,
  })
  const clock = options.clock
  const app = await buildPortalApp({ config, db: api.db, logger: false, now: clock ? () => clock.now : undefined })
  t.teardown(() => app.close())

  const cookieName = app.portal.cookieNames.session
  return {
    app,
    api,
    apiUrl,
    config,
    async signIn(role, overrides = {}) {
      // With the identity layer: real tokens from the grader shortcut (a seeded admin or analyst).
      if (api.app.hasRoute({ method: 'POST', url: '/auth/github/callback' })) {
        const login = await api.app.inject({
          method: 'POST',
          url: '/auth/github/callback',
          payload: { code: role === 'admin' ? 'test_code' : 'analyst_test_code' },
        })
        if (login.statusCode !== 200) throw new Error(`test-code login failed: ${login.statusCode} ${login.body}`)
        const tokens = login.json() as { access_token: string; refresh_token: string; token_type: string; expires_in: number }
        const me = await api.app.inject({ method: 'GET', url: '/auth/me', headers: { authorization: `Bearer ${tokens.access_token}` } })
        const user = { ...(me.json() as { data: UserJson }).data, ...overrides }
        const { cookieValue, session } = await app.portal.sessions.create(tokens, user, 'tap')
        return { cookie: `${cookieName}=${cookieValue}`, csrf: session.csrfToken, session, user }
      }
      const headers = await api.headers(role)
      const bearer = headers.authorization?.replace(/^Bearer /, '') ?? `test-access-token-${role}`
      const user: UserJson = {
        id: newId(),
        github_id: role === 'admin' ? 1001 : 1002,
        username: role === 'admin' ? 'octo-admin' : 'octo-analyst',
        email: `${role}@example.com`,
        avatar_url: null,
        role,
        is_active: true,
        last_login_at: new Date().toISOString(),
        created_at: new Date().toISOString(),
        ...overrides,
      }
      const { cookieValue, session } = await app.portal.sessions.create(
        { access_token: bearer, refresh_token: `test-refresh-${randomBytes(8).toString('hex')}`, token_type: 'Bearer', expires_in: 3600 },
        user,
        'tap',
      )
      return { cookie: `${cookieName}=${cookieValue}`, csrf: session.csrfToken, session, user }
    },
    ...injector(app),
  }
}

/** The sign-in start answers an interstitial page; this is where it sends the browser. */
export function continueTarget(response: LightMyRequestResponse): string {
  const href = /<a class="button button--primary button--large" href="([^"]+)">Continue<\/a>/.exec(response.body)?.[1]
  if (!href) throw new Error(`no continue link (status ${response.statusCode})`)
  return href.replace(/&amp;/g, '&').replace(/&#34;/g, '"').replace(/&#39;/g, "'")
}

/** The Set-Cookie headers of a response as a list. */
export function setCookies(response: LightMyRequestResponse): string[] {
  const value = response.headers['set-cookie']
  if (value === undefined) return []
  return Array.isArray(value) ? value : [String(value)]
}

/** The value of the flash cookie a redirect set, for following it. */
export function cookieHeaderFrom(response: LightMyRequestResponse, who?: { cookie: string }): string {
  const jar = new Map<string, string>()
  if (who) for (const part of who.cookie.split('; ')) jar.set(part.split('=')[0], part.slice(part.indexOf('=') + 1))
  for (const line of setCookies(response)) {
    const [pair] = line.split(';')
    const name = pair.slice(0, pair.indexOf('='))
    const value = pair.slice(pair.indexOf('=') + 1)
    if (value === '' || /max-age=0|expires=thu, 01 jan 1970/i.test(line)) jar.delete(name)
    else jar.set(name, value)
  }
  return [...jar].map(([k, v]) => `${k}=${v}`).join('; ')
}

export interface FakePortal {
  app: FastifyInstance
  fake: FakeApi
  db: TestDatabase
  config: PortalConfig
  clock: { now: Date }
  /** a portal session as a login through the fake API would leave it */
  signIn(username?: string): Promise<SignedIn & { sessionId: string }>
  get: TestPortal['get']
  post: TestPortal['post']
}

/**
 * The portal against the scriptable fake API (test/portal/fake-api.ts), with a clock the test can
 * move. `db` may be shared to run two portal "processes" on one database.
 */
export async function buildFakePortal(
  t: Teardown,
  options: { db?: TestDatabase; fake?: FakeApi; env?: Record<string, string>; sessionKey?: string; clock?: { now: Date } } = {},
): Promise<FakePortal> {
  const db = options.db ?? (await createTestDatabase(t))
  const fake = options.fake ?? (await startFakeApi())
  if (!options.fake) t.teardown(() => fake.close())
  const clock = options.clock ?? { now: new Date() }
  const config = loadPortalConfig({
    DEPLOYMENT_ENV: 'test',
    LOG_LEVEL: 'silent',
    API_URL: fake.url,
    PORTAL_PUBLIC_URL: PORTAL_ORIGIN,
    PORTAL_SESSION_KEY: options.sessionKey ?? randomBytes(32).toString('hex'),
    ...options.env,
  })
  const app = await buildPortalApp({ config, db, logger: false, now: () => clock.now })
  t.teardown(() => app.close())
  const cookieName = app.portal.cookieNames.session
  const { get, post } = injector(app)
  return {
    app,
    fake,
    db,
    config,
    clock,
    async signIn(username = 'octo-admin') {
      const user = fake.users.find((u) => u.username === username)
      if (!user) throw new Error(`no fake user ${username}`)
      const pair = fake.issue(user.id)
      const { cookieValue, session } = await app.portal.sessions.create(
        { ...pair, token_type: 'Bearer', expires_in: fake.options.expiresIn },
        user,
        'tap',
      )
      return { cookie: `${cookieName}=${cookieValue}`, csrf: session.csrfToken, session, user, sessionId: pair.sessionId }
    },
    get,
    post,
  }
}

function injector(app: FastifyInstance): Pick<TestPortal, 'get' | 'post'> {
  return {
    get(url, who, headers = {}) {
      return app.inject({ method: 'GET', url, headers: { ...(who ? { cookie: who.cookie } : {}), ...headers } })
    },
    post(url, form, who, opts = {}) {
      const body = new URLSearchParams(form)
      const token = opts.csrf === undefined ? who?.csrf : opts.csrf
      if (token !== null && token !== undefined) body.set('_csrf', token)
      return app.inject({
        method: 'POST',
        url,
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          origin: PORTAL_ORIGIN,
          ...(who ? { cookie: who.cookie } : {}),
          ...opts.headers,
        },
        payload: body.toString(),
      })
    },
  }
}
