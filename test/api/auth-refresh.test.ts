/**
 * Refresh rotation: strictly single use by default (contract §5), reuse detection, lifetimes, races;
 * and the same-successor retry window when it is configured on (REFRESH_RETRY_WINDOW_SECONDS).
 */
import t from 'tap'
import { listAuditEvents } from '../../db/repositories/audit.ts'
import { sha256Hex } from '../../api/services/auth-crypto.ts'
import { buildTestApi } from '../helpers/api.ts'
import { bearer, createTestUser } from '../helpers/auth.ts'

let offset = 0
const clock = () => Date.now() + offset
t.afterEach(() => {
  offset = 0
})
const api = await buildTestApi(t, { clock, env: { SESSION_ABSOLUTE_SECONDS: '900' } })
const user = await api.user('analyst')
/** The same database behind an instance with the retry window configured on (10 s). */
const windowed = await buildTestApi(t, { clock, db: api.db, env: { SESSION_ABSOLUTE_SECONDS: '900', REFRESH_RETRY_WINDOW_SECONDS: '10' } })

async function refresh(body: unknown, headers: Record<string, string> = {}) {
  const res = await api.app.inject({ method: 'POST', url: '/auth/refresh', payload: body as object, headers })
  return { status: res.statusCode, body: res.json(), headers: res.headers }
}

async function refreshWindowed(body: unknown, headers: Record<string, string> = {}) {
  const res = await windowed.app.inject({ method: 'POST', url: '/auth/refresh', payload: body as object, headers })
  return { status: res.statusCode, body: res.json(), headers: res.headers }
}

t.test('by default a refresh token is single use: a second use at once, by the same client, is 401 and ends the family', async (t) => {
  t.equal(api.config.auth.refreshRetryWindowSeconds, 0, 'the window is off by default')
  const { refreshToken, sessionId } = await user.newSessionTokens()
  const headers = { 'user-agent': 'insighta-cli/1.0' }
  const next = await refresh({ refresh_token: refreshToken }, headers)
  t.equal(next.status, 200)
  const again = await refresh({ refresh_token: refreshToken }, headers)
  t.equal(again.status, 401, 'the same token, at once, from the same client')
  t.same(again.body, { status: 'error', message: 'Refresh token was already used; the session has been revoked' })
  t.equal(again.headers['www-authenticate'], 'Bearer realm="insighta", error="invalid_token"')
  t.match(await sessionOf(refreshToken), { id: sessionId, revoked_reason: 'refresh_reuse' })
  t.equal((await refresh({ refresh_token: next.body.refresh_token }, headers)).status, 401, 'the successor dies with the family')
  const me = await api.app.inject({ method: 'GET', url: '/auth/me', headers: bearer(next.body.access_token) })
  t.equal(me.statusCode, 401, 'and so do its access tokens')
  const events = await listAuditEvents(api.db.db, { event: 'refresh.reuse' })
  t.ok(events.some((e) => e.session_id === sessionId), 'audited')
})

t.test('by default, 20 parallel refreshes with one token: one rotation wins, every other is reuse, no 5xx', async (t) => {
  const { refreshToken } = await user.newSessionTokens()
  const results = await Promise.all(Array.from({ length: 20 }, () => refresh({ refresh_token: refreshToken })))
  const statuses = results.map((r) => r.status)
  t.notOk(statuses.some((s) => s >= 500), `no 5xx (${statuses.join(',')})`)
  t.equal(statuses.filter((s) => s === 200).length, 1, 'exactly one success')
  t.equal(statuses.filter((s) => s === 401).length, 19, 'the rest are 401')
  t.match(await sessionOf(refreshToken), { revoked_reason: 'refresh_reuse' }, 'and the family is revoked')
})

async function sessionOf(refreshToken: string) {
  return api.db.db
    .selectFrom('refresh_tokens as rt')
    .innerJoin('sessions as s', 's.id', 'rt.session_id')
    .select(['s.id', 's.revoked_at', 's.revoked_reason'])
    .where('rt.token_hash', '=', sha256Hex(refreshToken))
    .executeTakeFirstOrThrow()
}

t.test('rotation: a new pair in the contract shape; snake_case, camelCase, form and /auth/token forms', async (t) => {
  const { refreshToken } = await user.newSessionTokens()
  const a = await refresh({ refresh_token: refreshToken })
  t.equal(a.status, 200)
  t.equal(a.headers['cache-control'], 'no-store')
  t.match(a.body, { status: 'success', token_type: 'Bearer', expires_in: 180, refresh_expires_in: 300, access_token: String, refresh_token: String })
  t.equal((await api.app.inject({ method: 'GET', url: '/auth/me', headers: bearer(a.body.access_token) })).statusCode, 200)
  const b = await refresh({ refreshToken: a.body.refresh_token })
  t.equal(b.status, 200, 'camelCase refreshToken accepted')
  const form = await api.app.inject({
    method: 'POST',
    url: '/auth/refresh',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: `refresh_token=${encodeURIComponent(b.body.refresh_token)}`,
  })
  t.equal(form.statusCode, 200, 'form body')
  const grant = await api.app.inject({
    method: 'POST',
    url: '/auth/token',
    payload: { grant_type: 'refresh_token', refresh_token: form.json().refresh_token },
  })
  t.equal(grant.statusCode, 200, 'grant_type=refresh_token at /auth/token')
  t.equal((await refresh({})).status, 400)
  t.same((await refresh({})).body, { status: 'error', message: 'Missing or empty refresh_token' })
  const bodyless = await api.app.inject({ method: 'POST', url: '/auth/refresh' })
  t.equal(bodyless.statusCode, 400)
  const unknown = await refresh({ refresh_token: 'x'.repeat(43) })
  t.equal(unknown.status, 401)
  t.equal(unknown.headers['www-authenticate'], 'Bearer realm="insighta", error="invalid_token"')
  const wrongType = await refresh({ refresh_token: 42 })
  t.equal(wrongType.status, 422)
})

t.test('window on: reuse outside the retry window revokes the whole session and is audited', async (t) => {
  const { refreshToken, sessionId } = await user.newSessionTokens()
  const next = await refreshWindowed({ refresh_token: refreshToken })
  t.equal(next.status, 200)
  offset += 11 * 1000
  const reuse = await refreshWindowed({ refresh_token: refreshToken })
  t.equal(reuse.status, 401)
  t.match(reuse.body.message, /already used/)
  t.match(await sessionOf(refreshToken), { id: sessionId, revoked_reason: 'refresh_reuse' })
  const successor = await refreshWindowed({ refresh_token: next.body.refresh_token })
  t.equal(successor.status, 401, "the thief's (or victim's) successor dies with the family")
  const me = await api.app.inject({ method: 'GET', url: '/auth/me', headers: bearer(next.body.access_token) })
  t.equal(me.statusCode, 401, 'access tokens of the session too')
  const events = await listAuditEvents(api.db.db, { event: 'refresh.reuse' })
  t.equal(events[0]?.session_id, sessionId)
  t.equal(events[0]?.subject_id, user.row.id)
  t.notOk(JSON.stringify(events).includes(refreshToken), 'no token in the audit log')
})

t.test('window on: an exact retry within the window by the same client gets the same successor', async (t) => {
  const { refreshToken } = await user.newSessionTokens()
  const first = await refreshWindowed({ refresh_token: refreshToken })
  offset += 5 * 1000
  const retry = await refreshWindowed({ refresh_token: refreshToken })
  t.equal(retry.status, 200)
  t.equal(retry.body.refresh_token, first.body.refresh_token, 'same successor refresh token')
  t.equal((await windowed.app.inject({ method: 'GET', url: '/auth/me', headers: bearer(retry.body.access_token) })).statusCode, 200)
  const onward = await refreshWindowed({ refresh_token: retry.body.refresh_token })
  t.equal(onward.status, 200, 'the family continues normally')

  offset += 1000
  const lateRetry = await refreshWindowed({ refresh_token: refreshToken })
  t.equal(lateRetry.status, 401, 'once the successor was used, a retry of its parent is reuse')
  t.match(await sessionOf(refreshToken), { revoked_reason: 'refresh_reuse' })
})

t.test('window on: a "retry" from another client is reuse', async (t) => {
  const { refreshToken } = await user.newSessionTokens()
  const first = await refreshWindowed({ refresh_token: refreshToken }, { 'user-agent': 'insighta-cli/1.0' })
  t.equal(first.status, 200)
  const other = await refreshWindowed({ refresh_token: refreshToken }, { 'user-agent': 'curl/8.0' })
  t.equal(other.status, 401)
  t.match(await sessionOf(refreshToken), { revoked_reason: 'refresh_reuse' })
})

t.test('idle expiry (5 minutes) and the absolute session lifetime', async (t) => {
  const { refreshToken, sessionId } = await user.newSessionTokens()
  offset += 301 * 1000
  const idle = await refresh({ refresh_token: refreshToken })
  t.equal(idle.status, 401)
  t.match(idle.body.message, /expired/)
  t.match(await sessionOf(refreshToken), { id: sessionId, revoked_at: null }, 'expiry is not reuse: nothing revoked')
  offset = 0

  // absolute lifetime 900 s: keep refreshing every 4 minutes, the session still ends
  let token = (await user.newSessionTokens()).refreshToken
  for (const at of [240, 480, 720]) {
    offset = at * 1000
    const r = await refresh({ refresh_token: token })
    t.equal(r.status, 200, `refresh at ${at}s`)
    token = r.body.refresh_token
    if (at === 720) t.ok(r.body.refresh_expires_in <= 180 && r.body.refresh_expires_in >= 178, 'capped by the session end')
  }
  offset = 901 * 1000
  const ended = await refresh({ refresh_token: token })
  t.equal(ended.status, 401)
})

t.test('window on: 20 parallel refreshes with one token: exactly one successor, no 5xx', async (t) => {
  const { refreshToken } = await user.newSessionTokens()
  const results = await Promise.all(Array.from({ length: 20 }, () => refreshWindowed({ refresh_token: refreshToken })))
  const statuses = results.map((r) => r.status)
  t.notOk(statuses.some((s) => s >= 500), `no 5xx (${statuses.join(',')})`)
  t.ok(statuses.every((s) => s === 200), 'all are retries of one rotation by the same client')
  t.equal(new Set(results.map((r) => r.body.refresh_token)).size, 1, 'one successor token')
  const parent = await api.db.db.selectFrom('refresh_tokens').select('id').where('token_hash', '=', sha256Hex(refreshToken)).executeTakeFirstOrThrow()
  const children = await api.db.db.selectFrom('refresh_tokens').select('id').where('parent_id', '=', parent.id).execute()
  t.equal(children.length, 1, 'exactly one successor row')
  t.match(await sessionOf(refreshToken), { revoked_at: null })
})

t.test('a suspended user cannot refresh; logout with only a refresh token; logout with nothing', async (t) => {
  const other = await createTestUser(api.app, 'analyst')
  const pair = await other.newSessionTokens()
  const admin = await api.headers('admin')
  const suspend = await api.app.inject({ method: 'PATCH', url: `/api/users/${other.row.id}`, headers: admin, payload: { is_active: false } })
  t.equal(suspend.statusCode, 200)
  const refused = await refresh({ refresh_token: pair.refreshToken })
  t.equal(refused.status, 403)
  t.match(refused.body.message, /suspended/)

  const mine = await user.newSessionTokens()
  const out = await api.app.inject({ method: 'POST', url: '/auth/logout', payload: { refresh_token: mine.refreshToken } })
  t.equal(out.statusCode, 200)
  t.equal((await refresh({ refresh_token: mine.refreshToken })).status, 401)
  t.equal((await api.app.inject({ method: 'GET', url: '/auth/me', headers: bearer(mine.accessToken) })).statusCode, 401)

  const expired = await user.newSessionTokens()
  offset += 200 * 1000
  const late = await api.app.inject({ method: 'POST', url: '/auth/logout', headers: bearer(expired.accessToken) })
  t.equal(late.statusCode, 200, 'an expired access token still ends its session')
  offset = 0
  t.equal((await refresh({ refresh_token: expired.refreshToken })).status, 401)

  const nothing = await api.app.inject({ method: 'POST', url: '/auth/logout' })
  t.equal(nothing.statusCode, 401)
  t.equal(nothing.headers['www-authenticate'], 'Bearer realm="insighta"')
  const events = await listAuditEvents(api.db.db, { event: 'logout' })
  t.ok(events.length >= 2)
})
