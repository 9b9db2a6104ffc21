/** Access-token verification: the pinned algorithm, the claims, the key rotation, the 401 challenge. */
import { createHmac } from 'node:crypto'
import { jwtVerify, SignJWT, UnsecuredJWT } from 'jose'
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

/** A compact JWS built by hand, so every byte of header, payload and signature is under the test's control. */
function b64(value: unknown): string {
  return Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url')
}
function hmac(signed: string, secret = TEST_JWT_SECRET): string {
  return createHmac('sha256', secret).update(signed).digest('base64url')
}
function handmade(header: unknown, claims: Record<string, unknown> = {}, secret = TEST_JWT_SECRET): string {
  const now = Math.floor(clock() / 1000)
  const payload = {
    sub: analyst.row.id, role: 'analyst', sid: analyst.sessionId, jti: 'hand-jti', iss: 'insighta-api', aud: 'insighta',
    iat: now, exp: now + 60, ...claims,
  }
  const signed = `${typeof header === 'string' ? header : b64(header)}.${b64(payload)}`
  return `${signed}.${hmac(signed, secret)}`
}
const HS256 = { alg: 'HS256', typ: 'at+jwt' }

t.test('hand-built tokens: the fixture passes, every tampering fails with a 401 in the envelope', async (t) => {
  t.equal((await me(handmade(HS256))).statusCode, 200, 'a correct hand-built token passes')
  t.equal((await me(handmade(HS256, { aud: ['other', 'insighta'] }))).statusCode, 200, 'an audience array containing ours passes')
  const good = handmade(HS256)
  const [h, p, s] = good.split('.')
  const adminPayload = b64({ ...JSON.parse(Buffer.from(p, 'base64url').toString()), role: 'admin' })
  const now = Math.floor(clock() / 1000)
  // A signature whose last character differs only in bits base64url decoding throws away.
  const lastIndex = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'.indexOf(s.at(-1)!)
  const sameBytes = s.slice(0, -1) + 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'[lastIndex ^ 1]
  const cases: [string, string][] = [
    ['tampered header (typ changed, old signature)', `${b64({ alg: 'HS256', typ: 'JWT' })}.${p}.${s}`],
    ['tampered header (extra field, old signature)', `${b64({ ...HS256, kid: 'x' })}.${p}.${s}`],
    ['tampered payload (role admin, old signature)', `${h}.${adminPayload}.${s}`],
    ['alg none, empty signature', `${b64({ alg: 'none', typ: 'at+jwt' })}.${p}.`],
    ['alg none, HMAC signature', handmade({ alg: 'none', typ: 'at+jwt' })],
    ['alg RS256 with an HMAC signature (key confusion)', handmade({ alg: 'RS256', typ: 'at+jwt' })],
    ['alg hs256 (case)', handmade({ alg: 'hs256', typ: 'at+jwt' })],
    ['crit header', handmade({ ...HS256, crit: ['exp'] })],
    ['b64 false header', handmade({ ...HS256, b64: false })],
    ['header is an array', handmade(['HS256'])],
    ['header is not JSON', handmade(b64('{"alg":"HS256"'))],
    ['expired', handmade(HS256, { iat: now - 100, exp: now - 30 })],
    ['exp not a number', handmade(HS256, { exp: String(now + 60) })],
    ['nbf not a number', handmade(HS256, { nbf: 'soon' })],
    ['wrong audience', handmade(HS256, { aud: 'other' })],
    ['audience array without ours', handmade(HS256, { aud: ['other'] })],
    ['wrong issuer', handmade(HS256, { iss: 'insighta-api-evil' })],
    ['no issuer', handmade(HS256, { iss: undefined })],
    ['wrong typ', handmade({ alg: 'HS256', typ: 'JWT' })],
    ['missing jti', handmade(HS256, { jti: undefined })],
    ['sub not a string', handmade(HS256, { sub: 42 })],
    ['wrong secret', handmade(HS256, {}, 'x'.repeat(48))],
    ['bad base64 in the payload', `${h}.${p.slice(0, 5)}*${p.slice(6)}.${s}`],
    ['standard base64 characters', `${h}.${p}.${s.replace(/[-_]/g, '+')}${/[-_]/.test(s) ? '' : '+'}`],
    ['padding', `${good}=`],
    ['signature with stray trailing bits', `${h}.${p}.${sameBytes}`],
    ['four segments', `${good}.${s}`],
    ['two segments', `${h}.${p}`],
    ['empty segments', '..'],
    ['oversized but correctly signed', handmade(HS256, { pad: 'x'.repeat(5000) })],
    ['NUL in the payload', `${h}.${b64('{"sub":"\u0000"}')}.${s}`],
  ]
  for (const [name, token] of cases) {
    const res = await me(token)
    t.equal(res.statusCode, 401, name)
    t.equal(res.headers['www-authenticate'], 'Bearer realm="insighta", error="invalid_token"', name)
    t.same(Object.keys(res.json()).sort(), ['message', 'status'], `${name}: the error envelope only`)
  }
  const huge = await api.app.inject({ method: 'GET', url: '/auth/me', headers: bearer('a'.repeat(20_000)) })
  t.equal(huge.statusCode, 401, 'a 20 kB bearer is refused')
})

t.test('verify(): reasons, expiredClaims only for an authentic token, and the previous secret', async (t) => {
  const tokens = api.app.identity.tokens
  const now = Math.floor(clock() / 1000)
  const ok = tokens.verify(handmade(HS256))
  t.ok(ok.ok)
  if (ok.ok) t.same(ok.claims, { sub: analyst.row.id, role: 'analyst', sid: analyst.sessionId, jti: 'hand-jti', iat: now, exp: now + 60 })
  const expired = tokens.verify(handmade(HS256, { iat: now - 100, exp: now - 30 }))
  t.equal(expired.ok, false)
  t.equal(!expired.ok && expired.reason, 'expired')
  t.equal(!expired.ok && expired.expiredClaims?.sid, analyst.sessionId, 'an authentic expired token still names its session (logout)')
  const forgedExpired = tokens.verify(handmade(HS256, { iat: now - 100, exp: now - 30 }, 'y'.repeat(48)))
  t.same(forgedExpired, { ok: false, reason: 'bad signature' }, 'a forged expired token names nothing')
  const expiredWrongAud = tokens.verify(handmade(HS256, { iat: now - 100, exp: now - 30, aud: 'other' }))
  t.same(expiredWrongAud, { ok: false, reason: 'wrong audience' })
  t.same(tokens.verify(handmade({ alg: 'none', typ: 'at+jwt' })), { ok: false, reason: 'algorithm not allowed' })
  t.same(tokens.verify('x'.repeat(5000)), { ok: false, reason: 'token too long' })
  t.same(tokens.verify('a.b.c.d'), { ok: false, reason: 'not a compact JWS' })

  const rotated = await buildTestApi(t, {
    db: api.db,
    env: { JWT_SECRET: 'the-new-secret-0123456789abcdefghijklmnopqrstuv', JWT_PREVIOUS_SECRET: TEST_JWT_SECRET },
  })
  t.ok(rotated.app.identity.tokens.verify(handmade(HS256)).ok, 'previous secret verifies')
  t.ok(rotated.app.identity.tokens.verify(handmade(HS256, {}, 'the-new-secret-0123456789abcdefghijklmnopqrstuv')).ok, 'current secret verifies')
  t.same(rotated.app.identity.tokens.verify(handmade(HS256, {}, 'z'.repeat(48))), { ok: false, reason: 'bad signature' })
  // Interop: what jose signs, the fast path verifies, and what the API signs, jose verifies.
  t.ok(tokens.verify(await forge()).ok, 'a jose-signed token verifies')
  const signed = await tokens.sign({ userId: analyst.row.id, role: 'analyst', sessionId: analyst.sessionId })
  const { payload } = await jwtVerify(signed, key, { algorithms: ['HS256'], issuer: 'insighta-api', audience: 'insighta', typ: 'at+jwt' })
  t.equal(payload.sid, analyst.sessionId)
})

t.test('verify() remembers authentic tokens, never their time checks, and nothing that failed', async (t) => {
  const tokens = api.app.identity.tokens
  const now = Math.floor(clock() / 1000)
  const token = handmade(HS256, { iat: now, exp: now + 60, nbf: now + 30 })
  t.same(tokens.verify(token), { ok: false, reason: 'not yet valid' }, 'first sight: authentic but not yet valid')
  offset += 40 * 1000
  t.ok(tokens.verify(token).ok, 'the same token, remembered, becomes valid with the clock')
  t.ok(tokens.verify(token).ok, 'and again')
  offset += 60 * 1000
  const later = tokens.verify(token)
  offset = 0
  t.equal(!later.ok && later.reason, 'expired', 'a remembered token still expires')
  t.equal(!later.ok && later.expiredClaims?.sid, analyst.sessionId)
  const [head, body] = token.split('.')
  const tampered = `${head}.${body}.${'A'.repeat(43)}`
  t.same(tokens.verify(tampered), { ok: false, reason: 'bad signature' })
  t.same(tokens.verify(tampered), { ok: false, reason: 'bad signature' }, 'a failed token is not remembered')
  const forgedTwin = handmade(HS256, { iat: now, exp: now + 60, nbf: now + 30 }, 'q'.repeat(48))
  t.same(tokens.verify(forgedTwin), { ok: false, reason: 'bad signature' }, 'the same claims under another key fail')
})
