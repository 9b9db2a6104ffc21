/** Access-token verification: the pinned algorithm, the claims, the key rotation, the 401 challenge. */
import { SignJWT, UnsecuredJWT } from 'jose'
import t from 'tap'
import { buildTestApi, TEST_JWT_SECRET } from '../helpers/api.ts'
import { bearer } from '../helpers/auth.ts'

let offset = 0
const clock = () => Date.now() + offset
const api = await buildTestApi(t, { clock })
const analyst = await api.user('analyst')
const key = new TextEncoder().encode(TEST_JWT_SECRET)

interface Forge {
  alg?: string
  typ?: string | undefined
  iss?: string
  aud?: string
  iat?: number
  nbf?: number
  exp?: number
  secret?: Uint8Array
  claims?: Record<string, unknown>
}

async function forge(options: Forge = {}): Promise<string> {
  const now = Math.floor(clock() / 1000)
  const header: { alg: string; typ?: string } = { alg: options.alg ?? 'HS256' }
  if (!('typ' in options)) header.typ = 'at+jwt'
  else if (options.typ !== undefined) header.typ = options.typ
  const jwt = new SignJWT({ role: 'analyst', sid: analyst.sessionId, ...options.claims })
    .setProtectedHeader(header)
    .setIssuer(options.iss ?? 'insighta-api')
    .setAudience(options.aud ?? 'insighta')
    .setSubject(analyst.row.id)
    .setJti('forged-jti')
    .setIssuedAt(options.iat ?? now)
    .setExpirationTime(options.exp ?? now + 60)
  if (options.nbf !== undefined) jwt.setNotBefore(options.nbf)
  return jwt.sign(options.secret ?? key)
}

async function me(token: string) {
  return api.app.inject({ method: 'GET', url: '/auth/me', headers: bearer(token) })
}

t.test('a correctly forged token passes (the fixture is right), then each defect fails', async (t) => {
  t.equal((await me(await forge())).statusCode, 200)
  const now = Math.floor(clock() / 1000)
  const unsecured = new UnsecuredJWT({ role: 'admin', sid: analyst.sessionId })
    .setIssuer('insighta-api')
    .setAudience('insighta')
    .setSubject(analyst.row.id)
    .setIssuedAt(now)
    .setExpirationTime(now + 60)
    .encode()
  const cases: [string, string][] = [
    ['alg none', unsecured],
    ['HS256 with a wrong secret', await forge({ secret: new TextEncoder().encode('x'.repeat(48)) })],
    ['expired', await forge({ iat: now - 600, exp: now - 300 })],
    ['not yet valid (nbf)', await forge({ nbf: now + 600, exp: now + 900 })],
    ['issued in the future', await forge({ iat: now + 600, exp: now + 700 })],
    ['older than the access-token lifetime', await forge({ iat: now - 3600, exp: now + 60 })],
    ['wrong audience', await forge({ aud: 'someone-else' })],
    ['wrong issuer', await forge({ iss: 'https://evil.example' })],
    ['wrong typ', await forge({ typ: 'JWT' })],
    ['no typ', await forge({ typ: undefined })],
    ['unknown role', await forge({ claims: { role: 'root' } })],
    ['session of someone else', await forge({ claims: { sid: '01900000-0000-7000-8000-000000000000' } })],
    ['garbage', 'not.a.jwt'],
    ['HS512', await forge({ alg: 'HS512' })],
  ]
  for (const [name, token] of cases) {
    const res = await me(token)
    t.equal(res.statusCode, 401, name)
    t.equal(res.headers['www-authenticate'], 'Bearer realm="insighta", error="invalid_token"', name)
    t.equal(res.json().status, 'error', name)
  }
})

t.test('401 challenges: no token, malformed header, other scheme', async (t) => {
  const none = await api.app.inject({ method: 'GET', url: '/auth/me' })
  t.equal(none.statusCode, 401)
  t.equal(none.headers['www-authenticate'], 'Bearer realm="insighta"', 'no error attribute when no token was sent')
  const basic = await api.app.inject({ method: 'GET', url: '/auth/me', headers: { authorization: 'Basic YTpi' } })
  t.equal(basic.statusCode, 401)
  t.equal(basic.headers['www-authenticate'], 'Bearer realm="insighta", error="invalid_token"')
  const empty = await api.app.inject({ method: 'GET', url: '/auth/me', headers: { authorization: 'Bearer ' } })
  t.equal(empty.statusCode, 401)
})

t.test('the token expires after its lifetime (injectable clock)', async (t) => {
  const token = await analyst.accessToken()
  t.equal((await me(token)).statusCode, 200)
  offset += 179 * 1000
  t.equal((await me(token)).statusCode, 200, 'still valid just before 3 minutes')
  offset += 10 * 1000
  const res = await me(token)
  offset = 0
  t.equal(res.statusCode, 401)
  t.equal(res.json().message, 'Access token expired')
})

t.test('secret rotation: tokens signed with JWT_PREVIOUS_SECRET still verify, new ones use the new secret', async (t) => {
  const rotated = await buildTestApi(t, {
    db: api.db,
    env: { JWT_SECRET: 'the-new-secret-0123456789abcdefghijklmnopqrstuv', JWT_PREVIOUS_SECRET: TEST_JWT_SECRET },
  })
  const oldToken = await analyst.accessToken()
  t.equal((await rotated.app.inject({ method: 'GET', url: '/auth/me', headers: bearer(oldToken) })).statusCode, 200)
  const newToken = await rotated.app.identity.tokens.sign({ userId: analyst.row.id, role: 'analyst', sessionId: analyst.sessionId })
  t.equal((await me(newToken)).statusCode, 401, 'the old deployment does not know the new secret')
  const unrelated = await buildTestApi(t, { db: api.db, env: { JWT_SECRET: 'yet-another-secret-0123456789abcdefghijklmnop' } })
  t.equal((await unrelated.app.inject({ method: 'GET', url: '/auth/me', headers: bearer(oldToken) })).statusCode, 401)
})

t.test('the role used is the CURRENT role, not the claim', async (t) => {
  const admin = await api.headers('admin')
  const token = await forge({ claims: { role: 'admin' } })
  const asClaimedAdmin = await api.app.inject({ method: 'GET', url: '/api/users', headers: bearer(token) })
  t.equal(asClaimedAdmin.statusCode, 403, 'an analyst with an admin claim is still an analyst')
  const promoted = await api.app.inject({ method: 'PATCH', url: `/api/users/${analyst.row.id}`, headers: admin, payload: { role: 'admin' } })
  t.equal(promoted.statusCode, 200)
  const analystToken = await analyst.accessToken()
  t.equal((await api.app.inject({ method: 'GET', url: '/api/users', headers: bearer(analystToken) })).statusCode, 200, 'promotion bites at once')
  await api.app.inject({ method: 'PATCH', url: `/api/users/${analyst.row.id}`, headers: admin, payload: { role: 'analyst' } })
  t.equal((await api.app.inject({ method: 'GET', url: '/api/users', headers: bearer(analystToken) })).statusCode, 403, 'demotion too')
})
