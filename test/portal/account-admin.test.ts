/**
 * The Account page (me, my sessions, revoke, sign out everywhere) and the admin Users page (search,
 * role change, suspend/activate), against the scriptable fake API.
 */
import t from 'tap'
import { sql } from 'kysely'
import { buildFakePortal, cookieHeaderFrom } from './helpers.ts'

// Real HTTP and a real database on a shared CI machine: allow more than the default 120 s.
t.setTimeout(300_000)

const portal = await buildFakePortal(t)
const [adminUser, analystUser] = portal.fake.users

async function flashAfter(res: Awaited<ReturnType<typeof portal.get>>, who: { cookie: string }): Promise<string> {
  const page = await portal.get(String(res.headers.location), undefined, { cookie: cookieHeaderFrom(res, who) })
  return /<div class="flash flash--(\w+)"[^>]*>\s*<p>([^<]*)<\/p>/.exec(page.body)?.slice(1).join(': ') ?? '(no flash)'
}

t.test('account: who I am and my sessions, this browser marked, device text escaped', async (t) => {
  const who = await portal.signIn('octo-analyst')
  const other = await portal.signIn('octo-analyst')
  const res = await portal.get('/account', who)
  t.equal(res.statusCode, 200)
  t.match(res.body, /Signed in as octo-analyst/)
  t.match(res.body, /<dt>Role<\/dt><dd><span class="badge badge--analyst">analyst<\/span>/)
  const rows = [...res.body.matchAll(/action="\/account\/sessions\/([^/]+)\/revoke"/g)].map((m) => m[1])
  t.ok(rows.includes(who.sessionId) && rows.includes(other.sessionId), 'both sessions listed')
  t.match(res.body, /Portal <span class="badge">this browser<\/span>/)
  t.match(res.body, /title="Mozilla\/5.0 &lt;b&gt;Test&lt;\/b&gt;">Mozilla\/5.0 &lt;b&gt;Test&lt;\/b&gt;<\/span>/, 'an unknown agent is shown as given, escaped')
})

t.test('revoke another session: POST → redirect → flash; that session is dead', async (t) => {
  const who = await portal.signIn('octo-analyst')
  const other = await portal.signIn('octo-analyst')
  const res = await portal.post(`/account/sessions/${other.sessionId}/revoke`, {}, who)
  t.equal(res.statusCode, 303)
  t.equal(res.headers.location, '/account')
  t.match(await flashAfter(res, who), /success: Session revoked/)
  t.ok(portal.fake.revokedSessions.has(other.sessionId))
  t.equal((await portal.get('/profiles', other)).statusCode, 303, 'the other browser is signed out at its next request')
  const again = await portal.post(`/account/sessions/${other.sessionId}/revoke`, {}, who)
  t.match(await flashAfter(again, who), /info: That session had already ended/)
  const bad = await portal.post('/account/sessions/..%2F..%2Fetc/revoke', {}, who)
  t.equal(bad.statusCode, 404)
})

t.test('revoking the session of this browser signs it out', async (t) => {
  const who = await portal.signIn('octo-analyst')
  const page = await portal.get('/account', who)
  t.match(page.body, new RegExp(`action="/account/sessions/${who.sessionId}/revoke"[^>]*>\\s*<input type="hidden" name="_csrf"[^>]*>\\s*<input type="hidden" name="current" value="1">`))
  const res = await portal.post(`/account/sessions/${who.sessionId}/revoke`, { current: '1' }, who)
  t.equal(res.headers.location, '/login')
  t.equal((await portal.get('/', who)).statusCode, 303)
})

t.test('sign out everywhere: API logout-all, every portal session of the user gone, cookies cleared', async (t) => {
  const a = await portal.signIn('octo-analyst')
  const b = await portal.signIn('octo-analyst')
  const admin = await portal.signIn('octo-admin')
  const res = await portal.post('/account/sign-out-everywhere', {}, a)
  t.equal(res.statusCode, 303)
  t.equal(res.headers.location, '/login?signed_out=everywhere')
  t.equal(res.headers['clear-site-data'], '"cookies"')
  t.equal(portal.fake.count('POST /auth/logout-all'), 1)
  const { rows } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM portal_sessions WHERE user_id = ${analystUser.id}`.execute(portal.db.db)
  t.equal(rows[0].n, 0)
  t.equal((await portal.get('/', b)).statusCode, 303, 'the other browser too')
  t.equal((await portal.get('/', admin)).statusCode, 200, 'other users are untouched')
  t.match((await portal.get('/login?signed_out=everywhere')).body, /signed out on every device/)
})

t.test('admin users: list, search, and the forms carry the list state', async (t) => {
  const admin = await portal.signIn('octo-admin')
  const res = await portal.get('/admin/users', admin)
  t.equal(res.statusCode, 200)
  t.match(res.body, /2 users/)
  t.match(res.body, /octo-admin <span class="badge">you<\/span>/)
  const search = await portal.get('/admin/users?search=analyst', admin)
  t.match(search.body, /1 user found/)
  t.equal(new URL(`http://x${portal.fake.lastUrls.get('/api/users')}`).searchParams.get('q'), 'analyst', 'sent as the API\'s q')
  t.match(search.body, /name="search" value="analyst"/)
  t.equal((await portal.get(`/admin/users?search=${'x'.repeat(101)}`, admin)).statusCode, 422)
  t.equal((await portal.get('/admin/users?page=0', admin)).statusCode, 422)
})

t.test('admin: role change and suspend/activate, with flashes and the API refusal shown', async (t) => {
  const admin = await portal.signIn('octo-admin')
  const promote = await portal.post(`/admin/users/${analystUser.id}/role`, { role: 'admin', username: 'octo-analyst', search: 'octo', page: '1' }, admin)
  t.equal(promote.statusCode, 303)
  t.equal(promote.headers.location, '/admin/users?search=octo', 'back to the same list')
  t.match(await flashAfter(promote, admin), /success: octo-analyst is now an admin/)
  t.equal(analystUser.role, 'admin')
  await portal.post(`/admin/users/${analystUser.id}/role`, { role: 'analyst' }, admin)
  t.equal(analystUser.role, 'analyst')

  const suspend = await portal.post(`/admin/users/${analystUser.id}/status`, { is_active: 'false', username: 'octo-analyst' }, admin)
  t.match(await flashAfter(suspend, admin), /success: octo-analyst is suspended/)
  t.equal(analystUser.is_active, false)
  const activate = await portal.post(`/admin/users/${analystUser.id}/status`, { is_active: 'true', username: 'octo-analyst' }, admin)
  t.match(await flashAfter(activate, admin), /success: octo-analyst can sign in again/)
  t.equal(analystUser.is_active, true)

  const lastAdmin = await portal.post(`/admin/users/${adminUser.id}/role`, { role: 'analyst' }, admin)
  t.match(await flashAfter(lastAdmin, admin), /error: Could not change the role: At least one active admin must remain/)
  t.equal(adminUser.role, 'admin')
})

t.test('admin forms refuse bad input before calling the API', async (t) => {
  const admin = await portal.signIn('octo-admin')
  portal.fake.calls.length = 0
  const badRole = await portal.post(`/admin/users/${analystUser.id}/role`, { role: 'superuser' }, admin)
  t.match(await flashAfter(badRole, admin), /error: Choose the role admin or analyst/)
  const badStatus = await portal.post(`/admin/users/${analystUser.id}/status`, { is_active: 'maybe' }, admin)
  t.match(await flashAfter(badStatus, admin), /error: Choose whether the account is active/)
  t.equal((await portal.post('/admin/users/not-a-uuid/role', { role: 'admin' }, admin)).statusCode, 404)
  const badBack = await portal.post(`/admin/users/${analystUser.id}/role`, { role: 'superuser', search: 'x', page: '//evil' }, admin)
  t.equal(badBack.headers.location, '/admin/users?search=x', 'a tampered page is dropped from the redirect')
  t.equal(portal.fake.calls.filter((c) => c.startsWith('PATCH')).length, 0)
})

t.test('analysts cannot reach the admin pages or forms', async (t) => {
  const analyst = await portal.signIn('octo-analyst')
  t.equal((await portal.get('/admin/users', analyst)).statusCode, 403)
  portal.fake.calls.length = 0
  t.equal((await portal.post(`/admin/users/${adminUser.id}/role`, { role: 'analyst' }, analyst)).statusCode, 403)
  t.equal((await portal.post(`/admin/users/${adminUser.id}/status`, { is_active: 'false' }, analyst)).statusCode, 403)
  t.equal(portal.fake.calls.filter((c) => !c.startsWith('GET /auth/me')).length, 0, 'nothing reached the API')
  t.equal(adminUser.is_active, true)
})

t.test('an admin demoted elsewhere: the API refuses, the portal shows 403 and learns the new role', async (t) => {
  const admin = await portal.signIn('octo-admin')
  const second = portal.fake.users[1]
  second.role = 'admin'
  const other = await portal.signIn('octo-analyst')
  t.equal((await portal.get('/admin/users', other)).statusCode, 200)
  second.role = 'analyst'
  const refused = await portal.get('/admin/users', other)
  t.equal(refused.statusCode, 403, 'the API is the authority')
  t.match(refused.body, /Forbidden/)
  void admin
})
