/** The grader shortcut (contract §5) and the identity configuration's production guards. */
import { readFileSync } from 'node:fs'
import t from 'tap'
import { buildApiApp } from '../../api/app.ts'
import { ApiEnvSchema, loadApiConfig } from '../../api/config.ts'
import { buildTestApi } from '../helpers/api.ts'
import { bearer } from '../helpers/auth.ts'
import { createTestDatabase } from '../helpers/database.ts'

const db = await createTestDatabase(t)
const enabled = await buildTestApi(t, { db, env: { AUTH_TEST_CODE_ENABLED: 'true' } })

function payloadOf(jwt: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString()) as Record<string, unknown>
}

t.test('off by default: test_code is just an unknown code without state', async (t) => {
  const off = await buildTestApi(t, { db })
  t.equal(off.config.auth.testCodeEnabled, false)
  const res = await off.app.inject({ method: 'GET', url: '/auth/github/callback?code=test_code' })
  t.equal(res.statusCode, 400)
  t.notOk(res.json().access_token)
  const post = await off.app.inject({ method: 'POST', url: '/auth/github/callback', payload: { code: 'test_code' } })
  t.equal(post.statusCode, 400)
})

t.test('GET ?code=test_code: 200 tokens for the seeded admin', async (t) => {
  const res = await enabled.app.inject({ method: 'GET', url: '/auth/github/callback?code=test_code' })
  t.equal(res.statusCode, 200)
  t.equal(res.headers['cache-control'], 'no-store')
  const body = res.json()
  t.match(body, {
    status: 'success',
    access_token: String,
    refresh_token: String,
    token_type: 'Bearer',
    expires_in: 180,
    user: { id: String, github_id: Number, username: 'test-admin', role: 'admin' },
  })
  t.equal(payloadOf(body.access_token).role, 'admin', 'the JWT payload carries the role')
  t.equal((await enabled.app.inject({ method: 'GET', url: '/api/users', headers: bearer(body.access_token) })).statusCode, 200)
  const again = await enabled.app.inject({ method: 'GET', url: '/auth/github/callback?code=test_code&state=whatever' })
  t.equal(again.json().user.id, body.user.id, 'the same seeded user each time; state is ignored')
  const refreshed = await enabled.app.inject({ method: 'POST', url: '/auth/refresh', payload: { refresh_token: body.refresh_token } })
  t.equal(refreshed.statusCode, 200, 'a real session: refresh works')
})

t.test('POST {"code":"test_code"} and analyst_test_code', async (t) => {
  const admin = await enabled.app.inject({ method: 'POST', url: '/auth/github/callback', payload: { code: 'test_code', state: 'x' } })
  t.equal(admin.statusCode, 200)
  t.equal(admin.json().user.role, 'admin')
  const analyst = await enabled.app.inject({ method: 'POST', url: '/auth/github/callback', payload: { code: 'analyst_test_code' } })
  t.equal(analyst.statusCode, 200)
  t.match(analyst.json().user, { username: 'test-analyst', role: 'analyst' })
  t.equal(payloadOf(analyst.json().access_token).role, 'analyst')
  const token = analyst.json().access_token
  t.equal((await enabled.app.inject({ method: 'GET', url: '/api/users', headers: bearer(token) })).statusCode, 403)
  t.equal((await enabled.app.inject({ method: 'GET', url: '/api/profiles', headers: { ...bearer(token), 'x-api-version': '1' } })).statusCode, 200)
  const form = await enabled.app.inject({
    method: 'POST',
    url: '/auth/github/callback',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: 'code=analyst_test_code',
  })
  t.equal(form.statusCode, 200)
})

t.test('production refuses the shortcut and weak settings at startup', async (t) => {
  const production = {
    DEPLOYMENT_ENV: 'production',
    JWT_SECRET: 'p'.repeat(40),
    API_PUBLIC_URL: 'https://api.example.com',
  }
  t.doesNotThrow(() => loadApiConfig(production))
  t.throws(() => loadApiConfig({ ...production, AUTH_TEST_CODE_ENABLED: 'true' }), /AUTH_TEST_CODE_ENABLED/)
  t.throws(() => loadApiConfig({ ...production, JWT_SECRET: undefined }), /JWT_SECRET/)
  t.throws(() => loadApiConfig({ ...production, JWT_SECRET: 'short' }), /JWT_SECRET/)
  t.throws(() => loadApiConfig({ ...production, GITHUB_OAUTH_URL: 'http://127.0.0.1:4001' }), /GITHUB_OAUTH_URL/)
  t.throws(() => loadApiConfig({ ...production, API_PUBLIC_URL: undefined }), /API_PUBLIC_URL/)
  for (const deployment of ['development', 'test', undefined]) {
    t.throws(
      () => loadApiConfig({ DEPLOYMENT_ENV: deployment, NODE_ENV: 'production', AUTH_TEST_CODE_ENABLED: 'true' }),
      /AUTH_TEST_CODE_ENABLED: refused when NODE_ENV=production/,
      `NODE_ENV=production refuses the shortcut with DEPLOYMENT_ENV=${deployment}`,
    )
    t.doesNotThrow(() => loadApiConfig({ DEPLOYMENT_ENV: deployment, NODE_ENV: 'production' }), 'NODE_ENV=production alone is fine')
  }
  t.equal(loadApiConfig({ NODE_ENV: 'development', AUTH_TEST_CODE_ENABLED: 'true' }).auth.testCodeEnabled, true, 'other NODE_ENV values leave it to the setting')
  const handmade = loadApiConfig(production)
  handmade.auth.testCodeEnabled = true
  await t.rejects(buildApiApp({ config: handmade, db, logger: false }), /refused in production/)

  const dev = loadApiConfig({ DEPLOYMENT_ENV: 'development' })
  t.equal(dev.auth.jwtSecretGenerated, true, 'development without JWT_SECRET gets a random one (with a warning)')
  t.ok(dev.auth.jwtSecret.length >= 43)
  t.not(loadApiConfig({}).auth.jwtSecret, dev.auth.jwtSecret)
  t.match(dev.auth, {
    accessTokenTtlSeconds: 180,
    refreshTokenIdleSeconds: 300,
    sessionAbsoluteSeconds: 604800,
    refreshRetryWindowSeconds: 0,
    testCodeEnabled: false,
    github: { oauthUrl: 'https://github.com', apiUrl: 'https://api.github.com' },
    rateLimit: { authPerWindow: 10, apiPerWindow: 60, windowMs: 60000 },
  })
  t.throws(() => loadApiConfig({ AUTH_CACHE_TTL_MS: '6000' }), /AUTH_CACHE_TTL_MS/, 'the cache never exceeds 5 s')
  const admins = loadApiConfig({ ADMIN_GITHUB_LOGINS: 'Alice, bob', ADMIN_GITHUB_IDS: '1, 22' })
  t.same(admins.auth.adminLogins, ['alice', 'bob'])
  t.same(admins.auth.adminGithubIds, [1, 22])
})

t.test('.env.example lists every variable of the configuration, test shortcut off', async (t) => {
  const text = readFileSync(new URL('../../.env.example', import.meta.url), 'utf8')
  const listed = new Set([...text.matchAll(/^#?\s*([A-Z][A-Z0-9_]+)=/gm)].map((m) => m[1]))
  for (const name of Object.keys(ApiEnvSchema.properties)) t.ok(listed.has(name), name)
  t.match(text, /^AUTH_TEST_CODE_ENABLED=false$/m)
})
