/** /auth/me, /api/users/me and the admin user endpoints: shapes, paging, search, role and status changes. */
import t from 'tap'
import { listAuditEvents } from '../../db/repositories/audit.ts'
import { buildTestApi } from '../helpers/api.ts'
import { bearer, createTestUser } from '../helpers/auth.ts'

const api = await buildTestApi(t)
const admin = await api.headers('admin')
const adminUser = await api.user('admin')

const USER_KEYS = ['avatar_url', 'created_at', 'email', 'github_id', 'id', 'is_active', 'last_login_at', 'role', 'username']

t.test('GET /auth/me and /api/users/me: the contract shape, with or without the version header', async (t) => {
  const analyst = await api.headers('analyst')
  for (const url of ['/auth/me', '/api/users/me']) {
    for (const headers of [analyst, { authorization: analyst.authorization }]) {
      const res = await api.app.inject({ method: 'GET', url, headers })
      t.equal(res.statusCode, 200, url)
      const body = res.json()
      t.same(Object.keys(body).sort(), ['data', 'status', 'user'])
      t.equal(body.status, 'success')
      t.same(Object.keys(body.data).sort(), USER_KEYS)
      t.same(body.user, body.data)
      t.match(body.data, { role: 'analyst', is_active: true, created_at: /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/ })
      t.match(body.data.id, /^[0-9a-f]{8}-[0-9a-f]{4}-7/, 'UUID v7')
    }
  }
})

t.test('admin list: paging, search by username or email, filters', async (t) => {
  for (let i = 0; i < 5; i++) await createTestUser(api.app, 'analyst', { username: `Searchable-${i}` })
  const page = await api.app.inject({ method: 'GET', url: '/api/users?q=searchable&limit=2&page=2', headers: admin })
  t.equal(page.statusCode, 200)
  t.match(page.json(), { status: 'success', page: 2, limit: 2, total: 5, total_pages: 3 })
  t.same(
    page.json().data.map((u: { username: string }) => u.username),
    ['Searchable-2', 'Searchable-3'],
  )
  const byEmail = await api.app.inject({ method: 'GET', url: '/api/users?q=SEARCHABLE-4@EXAMPLE', headers: admin })
  t.equal(byEmail.json().total, 1, 'email, case-insensitive')
  const wildcard = await api.app.inject({ method: 'GET', url: '/api/users?q=%25', headers: admin })
  t.equal(wildcard.json().total, 0, 'LIKE wildcards are literal')
  const admins = await api.app.inject({ method: 'GET', url: '/api/users?role=admin', headers: admin })
  t.ok(admins.json().data.every((u: { role: string }) => u.role === 'admin'))
  const clamped = await api.app.inject({ method: 'GET', url: '/api/users?limit=500', headers: admin })
  t.equal(clamped.json().limit, 50)
  t.equal((await api.app.inject({ method: 'GET', url: '/api/users?page=0', headers: admin })).statusCode, 422)
  const one = await api.app.inject({ method: 'GET', url: `/api/users/${adminUser.row.id}`, headers: admin })
  t.equal(one.json().data.username, adminUser.row.username)
  t.equal((await api.app.inject({ method: 'GET', url: '/api/users/nope', headers: admin })).statusCode, 404)
  t.equal((await api.app.inject({ method: 'GET', url: '/api/users/01900000-0000-7000-8000-000000000000', headers: admin })).statusCode, 404)
})

t.test('PATCH: role change bites at once and is audited; bad bodies refused', async (t) => {
  const target = await createTestUser(api.app, 'analyst')
  const token = await target.accessToken()
  t.equal((await api.app.inject({ method: 'GET', url: '/api/users', headers: bearer(token) })).statusCode, 403)
  const promote = await api.app.inject({ method: 'PATCH', url: `/api/users/${target.row.id}`, headers: admin, payload: { role: 'admin' } })
  t.equal(promote.statusCode, 200)
  t.equal(promote.json().data.role, 'admin')
  t.equal((await api.app.inject({ method: 'GET', url: '/api/users', headers: bearer(token) })).statusCode, 200, 'same token, new role')
  const events = await listAuditEvents(api.db.db, { event: 'user.role_change', subjectId: target.row.id })
  t.match(events[0], { actor_id: adminUser.row.id, details: { from: 'analyst', to: 'admin' } })
  await api.app.inject({ method: 'PATCH', url: `/api/users/${target.row.id}`, headers: admin, payload: { role: 'analyst' } })

  const url = `/api/users/${target.row.id}`
  t.equal((await api.app.inject({ method: 'PATCH', url, headers: admin, payload: {} })).statusCode, 400)
  t.equal((await api.app.inject({ method: 'PATCH', url, headers: admin, payload: { role: 'root' } })).statusCode, 422)
  t.equal((await api.app.inject({ method: 'PATCH', url, headers: admin, payload: { is_active: 'no' } })).statusCode, 422)
  t.equal((await api.app.inject({ method: 'PATCH', url, headers: admin, payload: { username: 'x' } })).statusCode, 422)
  t.equal(
    (await api.app.inject({ method: 'PATCH', url: '/api/users/01900000-0000-7000-8000-000000000000', headers: admin, payload: { role: 'admin' } })).statusCode,
    404,
  )
})

t.test('suspension: 403 everywhere at once, sessions ended, refresh refused; activation lifts it', async (t) => {
  const target = await createTestUser(api.app, 'analyst')
  const pair = await target.newSessionTokens()
  const token = await target.accessToken()
  const suspend = await api.app.inject({ method: 'PATCH', url: `/api/users/${target.row.id}`, headers: admin, payload: { is_active: false } })
  t.equal(suspend.statusCode, 200)
  t.equal(suspend.json().data.is_active, false)
  const routes: [string, string][] = [
    ['GET', '/auth/me'],
    ['GET', '/api/users/me'],
    ['GET', '/api/profiles'],
    ['GET', '/api/profiles/stats'],
    ['GET', '/api/sessions'],
    ['POST', '/auth/logout-all'],
  ]
  for (const [method, url] of routes) {
    for (const t0 of [token, pair.accessToken]) {
      const res = await api.app.inject({ method: method as 'GET', url, headers: { 'x-api-version': '1', ...bearer(t0) } })
      t.equal(res.statusCode, 403, `${method} ${url}`)
      t.same(res.json(), { status: 'error', message: 'Your account has been suspended by an administrator' })
    }
  }
  const refresh = await api.app.inject({ method: 'POST', url: '/auth/refresh', payload: { refresh_token: pair.refreshToken } })
  t.equal(refresh.statusCode, 403)
  const live = await api.db.db.selectFrom('sessions').select('id').where('user_id', '=', target.row.id).where('revoked_at', 'is', null).execute()
  t.equal(live.length, 0, 'every session ended')
  const row = await api.db.db.selectFrom('users').selectAll().where('id', '=', target.row.id).executeTakeFirstOrThrow()
  t.equal(row.suspended_by, adminUser.row.id)
  t.ok(row.suspended_at)

  const activate = await api.app.inject({ method: 'PATCH', url: `/api/users/${target.row.id}`, headers: admin, payload: { is_active: true } })
  t.equal(activate.json().data.is_active, true)
  const stillDead = await api.app.inject({ method: 'GET', url: '/auth/me', headers: bearer(token) })
  t.equal(stillDead.statusCode, 401, 'activation does not resurrect ended sessions: log in again')
  const fresh = await target.newSessionTokens()
  t.equal((await api.app.inject({ method: 'GET', url: '/auth/me', headers: bearer(fresh.accessToken) })).statusCode, 200)
  t.equal((await listAuditEvents(api.db.db, { event: 'user.suspend', subjectId: target.row.id })).length, 1)
  t.equal((await listAuditEvents(api.db.db, { event: 'user.activate', subjectId: target.row.id })).length, 1)
})

t.test('the last active admin cannot be demoted or suspended (409), by themselves or anyone', async (t) => {
  const fresh = await buildTestApi(t, { db: api.db })
  // Make adminUser the only active admin of the database.
  await api.db.db.updateTable('users').set({ role: 'analyst' }).where('role', '=', 'admin').where('id', '<>', adminUser.row.id).execute()
  const self = `/api/users/${adminUser.row.id}`
  const demote = await fresh.app.inject({ method: 'PATCH', url: self, headers: admin, payload: { role: 'analyst' } })
  t.equal(demote.statusCode, 409)
  t.same(demote.json(), { status: 'error', message: 'Refused: this would leave no active admin' })
  t.equal((await fresh.app.inject({ method: 'PATCH', url: self, headers: admin, payload: { is_active: false } })).statusCode, 409)

  const second = await createTestUser(api.app, 'admin')
  const selfDemote = await fresh.app.inject({ method: 'PATCH', url: self, headers: admin, payload: { role: 'analyst' } })
  t.equal(selfDemote.statusCode, 200, 'allowed while another active admin exists')
  const secondToken = await second.accessToken()
  const last = await fresh.app.inject({ method: 'PATCH', url: `/api/users/${second.row.id}`, headers: bearer(secondToken), payload: { role: 'analyst' } })
  t.equal(last.statusCode, 409)
  const restore = await fresh.app.inject({ method: 'PATCH', url: self, headers: bearer(secondToken), payload: { role: 'admin' } })
  t.equal(restore.statusCode, 200)
})
