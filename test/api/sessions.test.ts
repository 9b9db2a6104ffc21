/** GET /api/sessions, DELETE /api/sessions/:id and POST /auth/logout-all. */
import t from 'tap'
import { listAuditEvents } from '../../db/repositories/audit.ts'
import { buildTestApi } from '../helpers/api.ts'
import { bearer, createTestUser } from '../helpers/auth.ts'

const api = await buildTestApi(t)

t.test('my sessions: devices, clients, the current flag; ending one of them', async (t) => {
  const me = await createTestUser(api.app, 'analyst')
  const laptop = await me.newSessionTokens('insighta-cli')
  const browser = await me.newSessionTokens('insighta-portal')
  const list = await api.app.inject({ method: 'GET', url: '/api/sessions', headers: bearer(laptop.accessToken) })
  t.equal(list.statusCode, 200)
  const data = list.json().data as { id: string; client_id: string; current: boolean; user_agent: string; created_at: string }[]
  t.equal(data.length, 3, 'the helper session and the two new ones')
  t.same(data.filter((s) => s.current).map((s) => s.id), [laptop.sessionId])
  t.match(data.find((s) => s.id === browser.sessionId), { client_id: 'insighta-portal', user_agent: 'tap', created_at: /Z$/ })
  t.same(Object.keys(data[0]).sort(), ['client_id', 'created_at', 'current', 'expires_at', 'id', 'idle_expires_at', 'ip', 'last_used_at', 'user_agent'])

  const end = await api.app.inject({ method: 'DELETE', url: `/api/sessions/${browser.sessionId}`, headers: bearer(laptop.accessToken) })
  t.equal(end.statusCode, 204)
  t.equal(end.body, '')
  t.equal((await api.app.inject({ method: 'GET', url: '/auth/me', headers: bearer(browser.accessToken) })).statusCode, 401, 'ended at once')
  const refresh = await api.app.inject({ method: 'POST', url: '/auth/refresh', payload: { refresh_token: browser.refreshToken } })
  t.equal(refresh.statusCode, 401)
  const after = await api.app.inject({ method: 'GET', url: '/api/sessions', headers: bearer(laptop.accessToken) })
  t.equal(after.json().data.length, 2)
  t.equal((await api.app.inject({ method: 'DELETE', url: '/api/sessions/nope', headers: bearer(laptop.accessToken) })).statusCode, 404)
})

t.test('a session whose refresh token lapsed is not listed; the idle end is shown', async (t) => {
  let now = Date.now()
  const timed = await buildTestApi(t, { clock: () => now, env: { REFRESH_TOKEN_IDLE_SECONDS: '300' } })
  const erin = await createTestUser(timed.app, 'analyst')
  const first = await erin.newSessionTokens('insighta-cli')
  now += 200_000
  const second = await erin.newSessionTokens('insighta-cli')
  const listed = (await timed.app.inject({ method: 'GET', url: '/api/sessions', headers: bearer(second.accessToken) })).json().data as {
    id: string
    idle_expires_at: string
    expires_at: string
  }[]
  const mine = listed.find((s) => s.id === second.sessionId)
  t.ok(mine, 'the fresh session is listed')
  t.equal(Date.parse(mine!.idle_expires_at), Math.floor((now + 300_000) / 1000) * 1000, 'ends 300 s after its last token')
  t.ok(Date.parse(mine!.idle_expires_at) <= Date.parse(mine!.expires_at), 'never after the absolute end')
  now += 150_000 // the first session's refresh token lapsed 50 s ago, the second's has 150 s left
  const later = (await timed.app.inject({ method: 'GET', url: '/api/sessions', headers: bearer(await erin.accessToken()) })).json().data as { id: string }[]
  t.notOk(later.some((s) => s.id === first.sessionId), 'the lapsed session is not listed as live')
  t.ok(later.some((s) => s.id === second.sessionId))
})

t.test('a session’s last use and its first idle end are one instant, however the clock moves between reads', async (t) => {
  // Every read of this clock is a new second: an idle end taken from a second read would be off by one.
  let now = Date.parse('2026-12-05T10:00:00.999Z')
  const ticking = await buildTestApi(t, { clock: () => (now += 1000), env: { REFRESH_TOKEN_IDLE_SECONDS: '300', AUTH_TEST_CODE_ENABLED: 'true' } })
  type Listed = { id: string; current: boolean; last_used_at: string; idle_expires_at: string }
  const list = async (accessToken: string) =>
    (await ticking.app.inject({ method: 'GET', url: '/api/sessions', headers: bearer(accessToken) })).json().data as Listed[]
  const frank = await createTestUser(ticking.app, 'analyst')
  const helper = await frank.newSessionTokens('insighta-cli')
  const login = (await ticking.app.inject({ method: 'GET', url: '/auth/github/callback?code=test_code' })).json() as { access_token: string }
  for (const [how, accessToken] of [
    ['a session opened and issued', helper.accessToken],
    ['a test_code login', login.access_token],
  ] as const) {
    const current = (await list(accessToken)).find((s) => s.current)
    t.ok(current, `${how}: listed`)
    t.equal(Date.parse(current!.idle_expires_at), Date.parse(current!.last_used_at) + 300_000, `${how}: idle end = last use + 300 s`)
  }
})

t.test("someone else's session: 404 for an analyst, revocable by an admin (audited)", async (t) => {
  const alice = await createTestUser(api.app, 'analyst')
  const bob = await createTestUser(api.app, 'analyst')
  const bobs = await bob.newSessionTokens()
  const tryIt = await api.app.inject({ method: 'DELETE', url: `/api/sessions/${bobs.sessionId}`, headers: bearer(await alice.accessToken()) })
  t.equal(tryIt.statusCode, 404, 'looks exactly like an unknown session')
  t.equal((await api.app.inject({ method: 'GET', url: '/auth/me', headers: bearer(bobs.accessToken) })).statusCode, 200)
  const admin = await api.user('admin')
  const byAdmin = await api.app.inject({ method: 'DELETE', url: `/api/sessions/${bobs.sessionId}`, headers: bearer(await admin.accessToken()) })
  t.equal(byAdmin.statusCode, 204)
  t.equal((await api.app.inject({ method: 'GET', url: '/auth/me', headers: bearer(bobs.accessToken) })).statusCode, 401)
  const events = await listAuditEvents(api.db.db, { event: 'session.revoke', subjectId: bob.row.id })
  t.match(events[0], { actor_id: admin.row.id, session_id: bobs.sessionId })
})

t.test('logout-all ends every session of the user and nobody else’s', async (t) => {
  const carol = await createTestUser(api.app, 'analyst')
  const one = await carol.newSessionTokens()
  const two = await carol.newSessionTokens()
  const dave = await createTestUser(api.app, 'analyst')
  const res = await api.app.inject({ method: 'POST', url: '/auth/logout-all', headers: bearer(one.accessToken) })
  t.equal(res.statusCode, 200)
  t.same(res.json(), { status: 'success', message: 'Logged out of all sessions', revoked: 3, tokens_revoked: 0, tokens_remaining: 0 })
  for (const token of [one.accessToken, two.accessToken, await carol.accessToken()]) {
    t.equal((await api.app.inject({ method: 'GET', url: '/auth/me', headers: bearer(token) })).statusCode, 401)
  }
  t.equal((await api.app.inject({ method: 'POST', url: '/auth/refresh', payload: { refresh_token: two.refreshToken } })).statusCode, 401)
  t.equal((await api.app.inject({ method: 'GET', url: '/auth/me', headers: bearer(await dave.accessToken()) })).statusCode, 200)
  t.equal((await api.app.inject({ method: 'POST', url: '/auth/logout-all' })).statusCode, 401)
})
