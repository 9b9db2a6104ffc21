/**
 * Personal access tokens: creation and its bad input, listing, revocation (own and by an admin),
 * use as a Bearer token with the same checks as an access token (version header, role by route
 * declaration with scope capping, rate limit per user), scopes walked over every route of the
 * OpenAPI document, demotion/suspension/revocation/expiry on the next request, sign-out-everywhere.
 */
import t from 'tap'
import { listAuditEvents } from '../../db/repositories/audit.ts'
import { buildApiApp } from '../../api/app.ts'
import { loadApiConfig } from '../../api/config.ts'
import type { RouteAccessEntry } from '../../api/types.ts'
import { buildTestApi, TEST_ENV, V1 } from '../helpers/api.ts'
import { bearer, createTestUser, PORTAL_SECRET, type TestUser } from '../helpers/auth.ts'

let now = Date.parse('2026-12-02T06:00:00Z')
const clock = () => now
const api = await buildTestApi(t, { clock, seed: true, env: { PAT_MAX_PER_USER: '4', PORTAL_CLIENT_SECRET: PORTAL_SECRET } })
const DAY = 86400_000
const SAMPLE_ID = '01900000-0000-7000-8000-000000000000'
const TOKEN_KEYS = ['created_at', 'expired', 'expires_at', 'id', 'last_used_at', 'last_used_ip', 'last_used_user_agent', 'name', 'scopes']

async function createToken(user: TestUser, body: Record<string, unknown>, extra: Record<string, string> = {}) {
  return api.app.inject({ method: 'POST', url: '/api/users/me/tokens', headers: { ...bearer(await user.accessToken()), ...extra }, payload: body })
}

async function newToken(user: TestUser, body: Record<string, unknown> = { name: 'ci' }): Promise<{ token: string; id: string }> {
  const res = await createToken(user, body)
  if (res.statusCode !== 201) throw new Error(`create token: ${res.statusCode} ${res.body}`)
  return { token: res.json().token, id: res.json().data.id }
}

function get(url: string, token: string, headers: Record<string, string> = V1) {
  return api.app.inject({ method: 'GET', url, headers: { ...headers, ...bearer(token) } })
}

t.test('create: 201 with the secret once, prefix, 256 bits, stored hashed; list shows metadata only', async (t) => {
  const alice = await createTestUser(api.app, 'analyst')
  for (const headers of [V1, {}]) {
    const res = await createToken(alice, { name: '  GitHub Actions  ' }, headers)
    t.equal(res.statusCode, 201, 'with or without X-API-Version')
    const body = res.json()
    t.same(Object.keys(body).sort(), ['data', 'status', 'token'])
    t.match(body.token, /^insighta_pat_[A-Za-z0-9_-]{43}$/)
    t.same(Object.keys(body.data).sort(), TOKEN_KEYS)
    t.match(body.data, { name: 'GitHub Actions', scopes: ['read'], expired: false, last_used_at: null, last_used_ip: null })
    t.equal(Date.parse(body.data.expires_at) - Date.parse(body.data.created_at), 30 * DAY, 'default 30 days')
    const stored = await api.db.db.selectFrom('personal_access_tokens').selectAll().where('id', '=', body.data.id).executeTakeFirstOrThrow()
    t.notOk(JSON.stringify(stored).includes(body.token.slice('insighta_pat_'.length)), 'only a hash is stored')
    t.match(stored.token_hash, /^[0-9a-f]{64}$/)
  }
  const ninety = await createToken(alice, { name: 'long', expires_in_days: 90, scopes: ['read', 'read'] })
  t.equal(ninety.statusCode, 201, 'the maximum is allowed')
  t.same(ninety.json().data.scopes, ['read'], 'scopes de-duplicated')

  const list = await api.app.inject({ method: 'GET', url: '/api/users/me/tokens', headers: bearer(await alice.accessToken()) })
  t.equal(list.statusCode, 200)
  t.equal(list.json().data.length, 3)
  t.notMatch(list.body, /insighta_pat_/, 'no secret in a listing')
  const events = await listAuditEvents(api.db.db, { subjectId: alice.row.id, event: 'pat.create' })
  t.equal(events.length, 3)
  t.notMatch(JSON.stringify(events), /insighta_pat_/)
})

t.test('create: bad input → 400 / 422 / 403 / 409 in the envelope', async (t) => {
  const bob = await createTestUser(api.app, 'analyst')
  const cases: [Record<string, unknown> | string, number, RegExp][] = [
    [{}, 400, /^Missing or empty name$/],
    [{ name: '' }, 400, /^Missing or empty name$/],
    [{ name: '   ' }, 400, /^Missing or empty name$/],
    [{ name: 123 }, 422, /Invalid type/],
    [{ name: ['a'] }, 422, /Invalid type/],
    [{ name: 'nul\u0000byte' }, 422, /control characters/],
    [{ name: 'line\nbreak' }, 422, /control characters/],
    [{ name: 'x'.repeat(101) }, 422, /at most 100/],
    [{ name: 'ok', expires_in_days: 0 }, 422, /expires_in_days/],
    [{ name: 'ok', expires_in_days: -5 }, 422, /expires_in_days/],
    [{ name: 'ok', expires_in_days: 91 }, 422, /between 1 and 90/],
    [{ name: 'ok', expires_in_days: '30' }, 422, /Invalid type/],
    [{ name: 'ok', expires_in_days: 1.5 }, 422, /Invalid type/],
    [{ name: 'ok', expires_in_days: null }, 422, /Invalid type/],
    [{ name: 'ok', scopes: [] }, 400, /Missing or empty scopes/],
    [{ name: 'ok', scopes: ['write'] }, 422, /read or admin/],
    [{ name: 'ok', scopes: ['read', "'; DROP TABLE users; --"] }, 422, /read or admin/],
    [{ name: 'ok', scopes: 'read' }, 422, /Invalid type/],
    [{ name: 'ok', scopes: ['admin'] }, 403, /only admins/],
    [{ name: 'ok', scopes: ['read', 'admin'] }, 403, /only admins/],
    ['not json', 400, /not valid JSON/],
  ]
  for (const [payload, status, message] of cases) {
    const res = await api.app.inject({
      method: 'POST',
      url: '/api/users/me/tokens',
      headers: { ...bearer(await bob.accessToken()), 'content-type': 'application/json' },
      payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
    })
    t.equal(res.statusCode, status, JSON.stringify(payload))
    t.same(Object.keys(res.json()).sort(), ['message', 'status'])
    t.match(res.json().message, message)
  }
  const big = await api.app.inject({
    method: 'POST',
    url: '/api/users/me/tokens',
    headers: { ...bearer(await bob.accessToken()), 'content-type': 'application/json' },
    payload: JSON.stringify({ name: 'x'.repeat(20000) }),
  })
  t.equal(big.statusCode, 413, 'oversized body')
  t.equal((await api.app.inject({ method: 'GET', url: '/api/users/me/tokens' })).statusCode, 401, 'anonymous')
  t.equal((await api.app.inject({ method: 'POST', url: '/api/users/me/tokens', payload: { name: 'x' } })).statusCode, 401)

  for (let i = 0; i < 4; i++) await newToken(bob, { name: `t${i}` })
  const tooMany = await createToken(bob, { name: 'one more' })
  t.equal(tooMany.statusCode, 409)
  t.match(tooMany.json().message, /Too many tokens/)
  t.equal((await listAuditEvents(api.db.db, { subjectId: bob.row.id, event: 'pat.create' })).length, 4, 'nothing refused was created')
})

t.test('using a PAT: same checks as an access token; not a refresh token; cannot mint tokens or manage sessions', async (t) => {
  const carol = await createTestUser(api.app, 'analyst')
  const { token, id } = await newToken(carol)
  t.equal((await get('/api/profiles?limit=1', token)).statusCode, 200)
  const noVersion = await get('/api/profiles', token, {})
  t.equal(noVersion.statusCode, 400)
  t.equal(noVersion.json().message, 'API version header required', 'checked before the token')
  t.equal((await get('/api/profiles', token, { 'x-api-version': '2' })).json().message, 'Unsupported API version')
  for (const url of ['/api/users/me', '/auth/me']) {
    const me = await get(url, token, {})
    t.equal(me.statusCode, 200, url)
    t.match(me.json().data, { id: carol.row.id, role: 'analyst' })
  }
  t.equal((await get('/api/users/me/tokens', token, {})).statusCode, 200, 'a token may list its owner’s tokens')
  const current = await get('/api/users/me/tokens/current', token, {})
  t.equal(current.statusCode, 200)
  t.match(current.json().data, { id, name: 'ci', scopes: ['read'], expired: false })
  const notPat = await get('/api/users/me/tokens/current', await carol.accessToken(), {})
  t.equal(notPat.statusCode, 404)
  t.match(notPat.json().message, /not made with a personal access token/)

  for (const [method, url, payload] of [
    ['POST', '/api/users/me/tokens', { name: 'child' }],
    ['POST', '/auth/logout-all', {}],
    ['GET', '/api/sessions', undefined],
    ['DELETE', `/api/sessions/${SAMPLE_ID}`, undefined],
  ] as const) {
    const res = await api.app.inject({ method, url, headers: bearer(token), payload })
    t.equal(res.statusCode, 403, `${method} ${url}`)
    t.match(res.json().message, /personal access token cannot be used here/)
  }
  for (const body of [{ refresh_token: token }, { refreshToken: token }]) {
    const res = await api.app.inject({ method: 'POST', url: '/auth/refresh', payload: body })
    t.equal(res.statusCode, 401)
    t.equal(res.json().message, 'A personal access token is not a refresh token')
  }
  const grant = await api.app.inject({ method: 'POST', url: '/auth/token', payload: { grant_type: 'refresh_token', refresh_token: token } })
  t.equal(grant.statusCode, 401)
  t.equal((await get('/auth/me', token, {})).statusCode, 200, 'refusals did not hurt the token')

  const bogus = await get('/api/users/me', `${token.slice(0, -2)}xx`, {})
  t.equal(bogus.statusCode, 401)
  t.equal(bogus.json().message, 'Invalid personal access token')
  t.match(bogus.headers['www-authenticate'], /error="invalid_token"/)
  t.equal((await get('/api/users/me', 'insighta_pat_', {})).statusCode, 401)

  const listed = (await get('/api/users/me/tokens', token, {})).json().data.find((x: { id: string }) => x.id === id)
  t.match(listed, { last_used_at: /Z$/, last_used_ip: '127.0.0.1' }, 'last used, and from where')
})

t.test('audit: the first use from each new address, once', async (t) => {
  const dave = await createTestUser(api.app, 'analyst')
  const { token, id } = await newToken(dave)
  const from = (ip: string) =>
    api.app.inject({ method: 'GET', url: '/api/users/me', headers: { ...bearer(token), 'x-portal-client-secret': PORTAL_SECRET, 'x-insighta-end-user-ip': ip } })
  for (const ip of ['203.0.113.1', '203.0.113.1', '203.0.113.2', '203.0.113.1', '203.0.113.2']) t.equal((await from(ip)).statusCode, 200)
  const events = await listAuditEvents(api.db.db, { subjectId: dave.row.id, event: 'pat.use_new_ip' })
  t.same(events.map((e) => e.ip).sort(), ['203.0.113.1', '203.0.113.2'])
  t.ok(events.every((e) => e.details.token_id === id))
  const listed = (await get('/api/users/me/tokens', await dave.accessToken(), {})).json().data[0]
  t.equal(listed.last_used_ip, '203.0.113.2')
})

/** Converts an OpenAPI path (`/api/users/{id}/tokens`) to the route pattern and to a concrete URL. */
function routeOf(path: string): string {
  return path.replace(/\{([A-Za-z_]+)\}/g, ':$1')
}

t.test('scopes on every route of the OpenAPI document: read refused on admin routes, accepted on reads; admin capped by role', async (t) => {
  const docs = await api.app.inject({ method: 'GET', url: '/docs/json' })
  t.equal(docs.statusCode, 200)
  const paths = docs.json().paths as Record<string, Record<string, { security?: unknown[] }>>
  const access = new Map<string, RouteAccessEntry>(api.app.routeAccess.map((r: RouteAccessEntry) => [`${r.method} ${r.url}`, r]))
  const owner = await createTestUser(api.app, 'admin')
  const read = await newToken(owner, { name: 'read', scopes: ['read'] })
  const admin = await newToken(owner, { name: 'admin', scopes: ['admin'] })
  const otherAdmin = await createTestUser(api.app, 'admin') // so the walk's PATCH cannot be "the last admin"
  t.ok(otherAdmin)

  let walked = 0
  let adminRoutes = 0
  for (const [path, operations] of Object.entries(paths)) {
    for (const [verb, operation] of Object.entries(operations)) {
      if (!operation.security) continue
      const method = verb.toUpperCase()
      const entry = access.get(`${method} ${routeOf(path)}`)
      t.ok(entry, `${method} ${path} is a registered route`)
      if (!entry || !Array.isArray(entry.access)) continue
      walked += 1
      const url = path.replace(/\{[A-Za-z_]+\}/g, SAMPLE_ID)
      const call = (token: string) =>
        api.app.inject({
          method: method as 'GET',
          url,
          headers: { ...V1, ...bearer(token), 'content-type': 'application/json' },
          payload: method === 'GET' || method === 'DELETE' ? undefined : '{}',
        })
      const adminOnly = !entry.access.includes('analyst')
      if (adminOnly) adminRoutes += 1
      const asRead = await call(read.token)
      const asAdmin = await call(admin.token)
      if (entry.personalAccessTokens === false) {
        t.equal(asRead.statusCode, 403, `${method} ${path}: refuses every PAT`)
        t.equal(asAdmin.statusCode, 403, `${method} ${path}: refuses every PAT (admin scope too)`)
      } else if (adminOnly) {
        t.equal(asRead.statusCode, 403, `${method} ${path}: a read token is refused`)
        t.equal(asRead.json().message, 'Forbidden: your role does not allow this')
        t.notOk([401, 403].includes(asAdmin.statusCode), `${method} ${path}: an admin token of an admin passes (${asAdmin.statusCode})`)
      } else {
        t.notOk([401, 403].includes(asRead.statusCode), `${method} ${path}: a read token passes (${asRead.statusCode})`)
        t.notOk([401, 403].includes(asAdmin.statusCode), `${method} ${path}: an admin token passes (${asAdmin.statusCode})`)
      }
    }
  }
  t.ok(walked >= 20, `walked ${walked} protected operations`)
  t.ok(adminRoutes >= 6, `${adminRoutes} admin-only`)
  t.equal((await get('/auth/me', read.token, {})).statusCode, 200, 'the walk left the tokens intact')
  t.equal((await get('/auth/me', admin.token, {})).statusCode, 200)
})

t.test('demotion, suspension and revocation take effect on the next request', async (t) => {
  const boss = await api.headers('admin')
  const erin = await createTestUser(api.app, 'admin')
  const { token, id } = await newToken(erin, { name: 'deploy', scopes: ['read', 'admin'] })
  const write = () => api.app.inject({ method: 'POST', url: '/api/profiles', headers: { ...V1, ...bearer(token) }, payload: {} })
  t.equal((await write()).statusCode, 400, 'admin route reached (the body is what is wrong)')
  const patch = (body: Record<string, unknown>) => api.app.inject({ method: 'PATCH', url: `/api/users/${erin.row.id}`, headers: boss, payload: body })

  t.equal((await patch({ role: 'analyst' })).statusCode, 200)
  t.equal((await write()).statusCode, 403, 'demoted: the admin scope is gone at once')
  t.equal((await get('/api/profiles?limit=1', token)).statusCode, 200, 'reads still work')
  t.equal((await patch({ role: 'admin' })).statusCode, 200)
  t.equal((await write()).statusCode, 400, 'promoted again: the scope applies again')

  t.equal((await patch({ is_active: false })).statusCode, 200)
  const suspended = await get('/api/profiles?limit=1', token)
  t.equal(suspended.statusCode, 403)
  t.match(suspended.json().message, /suspended/)
  t.equal((await patch({ is_active: true })).statusCode, 200)
  t.equal((await get('/api/profiles?limit=1', token)).statusCode, 200, 'reactivated: the token works again (suspension ended the sessions, not the tokens)')

  const signedIn = bearer((await erin.newSessionTokens()).accessToken)
  const mine = await api.app.inject({ method: 'DELETE', url: `/api/users/me/tokens/${id}`, headers: signedIn })
  t.equal(mine.statusCode, 204)
  t.equal(mine.body, '')
  const revoked = await get('/api/profiles?limit=1', token)
  t.equal(revoked.statusCode, 401)
  t.equal(revoked.json().message, 'Invalid personal access token')
  t.equal((await api.app.inject({ method: 'DELETE', url: `/api/users/me/tokens/${id}`, headers: signedIn })).statusCode, 404, 'once')
  t.equal((await api.app.inject({ method: 'DELETE', url: '/api/users/me/tokens/not-a-uuid', headers: signedIn })).statusCode, 404)
  const listed = await api.app.inject({ method: 'GET', url: '/api/users/me/tokens', headers: signedIn })
  t.same(listed.json().data, [], 'revoked tokens are not listed')
  t.equal((await listAuditEvents(api.db.db, { subjectId: erin.row.id, event: 'pat.revoke' })).length, 1)
})

t.test('a PAT can revoke itself; nobody revokes another user’s token through /me', async (t) => {
  const fay = await createTestUser(api.app, 'analyst')
  const gus = await createTestUser(api.app, 'analyst')
  const fays = await newToken(fay)
  const gus1 = await newToken(gus)
  t.equal((await api.app.inject({ method: 'DELETE', url: `/api/users/me/tokens/${gus1.id}`, headers: bearer(fays.token) })).statusCode, 404)
  t.equal((await get('/auth/me', gus1.token, {})).statusCode, 200)
  t.equal((await api.app.inject({ method: 'DELETE', url: `/api/users/me/tokens/${fays.id}`, headers: bearer(fays.token) })).statusCode, 204)
  t.equal((await get('/auth/me', fays.token, {})).statusCode, 401)
})

t.test('admins list and revoke any user’s tokens; analysts cannot', async (t) => {
  const admin = await api.user('admin')
  const hal = await createTestUser(api.app, 'analyst')
  const ivy = await createTestUser(api.app, 'analyst')
  const hals = await newToken(hal, { name: 'hal ci' })
  const list = await api.app.inject({ method: 'GET', url: `/api/users/${hal.row.id}/tokens`, headers: bearer(await admin.accessToken()) })
  t.equal(list.statusCode, 200)
  t.same(list.json().data.map((x: { name: string }) => x.name), ['hal ci'])
  t.equal((await api.app.inject({ method: 'GET', url: `/api/users/${hal.row.id}/tokens`, headers: { ...V1, ...bearer(await admin.accessToken()) } })).statusCode, 200, 'with the version header too')
  t.equal((await api.app.inject({ method: 'GET', url: `/api/users/${hal.row.id}/tokens`, headers: bearer(await ivy.accessToken()) })).statusCode, 403)
  t.equal((await api.app.inject({ method: 'DELETE', url: `/api/users/${hal.row.id}/tokens/${hals.id}`, headers: bearer(await ivy.accessToken()) })).statusCode, 403)
  t.equal((await api.app.inject({ method: 'GET', url: `/api/users/${SAMPLE_ID}/tokens`, headers: bearer(await admin.accessToken()) })).statusCode, 404)
  t.equal((await api.app.inject({ method: 'GET', url: '/api/users/nope/tokens', headers: bearer(await admin.accessToken()) })).statusCode, 404)
  t.equal((await api.app.inject({ method: 'DELETE', url: `/api/users/${ivy.row.id}/tokens/${hals.id}`, headers: bearer(await admin.accessToken()) })).statusCode, 404, 'the token belongs to someone else')
  const revoke = await api.app.inject({ method: 'DELETE', url: `/api/users/${hal.row.id}/tokens/${hals.id}`, headers: bearer(await admin.accessToken()) })
  t.equal(revoke.statusCode, 204)
  t.equal((await get('/auth/me', hals.token, {})).statusCode, 401)
  const events = await listAuditEvents(api.db.db, { subjectId: hal.row.id, event: 'pat.revoke' })
  t.match(events[0], { actor_id: admin.row.id, details: { reason: 'revoked_by_admin', token_id: hals.id } })
})

t.test('expiry on use (injected clock): 401, audited once, listed as expired', async (t) => {
  const jo = await createTestUser(api.app, 'analyst')
  const { token } = await newToken(jo, { name: 'short', expires_in_days: 1 })
  t.equal((await get('/auth/me', token, {})).statusCode, 200)
  now += DAY
  for (let i = 0; i < 2; i++) {
    const res = await get('/auth/me', token, {})
    t.equal(res.statusCode, 401)
    t.equal(res.json().message, 'Personal access token expired')
  }
  t.equal((await listAuditEvents(api.db.db, { subjectId: jo.row.id, event: 'pat.expired' })).length, 1)
  const listed = await api.app.inject({ method: 'GET', url: '/api/users/me/tokens', headers: bearer(await jo.accessToken()) })
  t.match(listed.json().data[0], { name: 'short', expired: true })
})

t.test('sign-out-everywhere: tokens survive only knowingly, and the answer says how many remain', async (t) => {
  const kim = await createTestUser(api.app, 'analyst')
  const one = await newToken(kim, { name: 'one' })
  const two = await newToken(kim, { name: 'two' })
  const keep = await api.app.inject({ method: 'POST', url: '/auth/logout-all', headers: bearer(await kim.accessToken()) })
  t.equal(keep.statusCode, 200)
  t.match(keep.json(), { status: 'success', revoked: 1, tokens_revoked: 0, tokens_remaining: 2, message: /2 personal access token\(s\) still valid/ })
  t.equal((await get('/auth/me', one.token, {})).statusCode, 200, 'kept, and the answer said so')

  const session = await kim.newSessionTokens()
  const bad = await api.app.inject({ method: 'POST', url: '/auth/logout-all', headers: bearer(session.accessToken), payload: { revoke_tokens: 'yes' } })
  t.equal(bad.statusCode, 422)
  const all = await api.app.inject({ method: 'POST', url: '/auth/logout-all', headers: bearer(session.accessToken), payload: { revoke_tokens: true } })
  t.equal(all.statusCode, 200)
  t.match(all.json(), { revoked: 1, tokens_revoked: 2, tokens_remaining: 0, message: /2 personal access token\(s\) revoked/ })
  for (const token of [one.token, two.token]) t.equal((await get('/auth/me', token, {})).statusCode, 401)
  t.equal((await listAuditEvents(api.db.db, { subjectId: kim.row.id, event: 'pat.revoke' })).length, 2)
})

t.test('rate limit per user: a user’s tokens and sessions share one bucket', async (t) => {
  const config = loadApiConfig({ ...TEST_ENV, RATE_LIMIT_API_PER_MINUTE: '3' })
  const limited = await buildApiApp({ config, db: api.db, logger: false, clock })
  t.teardown(() => limited.close())
  const lee = await createTestUser(api.app, 'analyst')
  const mo = await createTestUser(api.app, 'analyst')
  const a = await newToken(lee, { name: 'a' })
  const b = await newToken(lee, { name: 'b' })
  const c = await newToken(mo, { name: 'c' })
  const call = (token: string) => limited.inject({ method: 'GET', url: '/api/users/me', headers: bearer(token) })
  t.equal((await call(a.token)).statusCode, 200)
  t.equal((await call(b.token)).statusCode, 200)
  t.equal((await call(a.token)).statusCode, 200)
  const over = await call(b.token)
  t.equal(over.statusCode, 429, 'the fourth request of the same user, whichever token')
  t.ok(Number(over.headers['retry-after']) >= 1)
  t.equal((await call(c.token)).statusCode, 200, 'another user has their own bucket')
})
