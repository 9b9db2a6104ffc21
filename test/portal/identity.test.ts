/**
 * The portal against the real identity layer of the API and the GitHub stand-in, over inject and
 * loopback HTTP: a complete cross-domain login, real token refresh (two requests at once), the
 * account and users pages on real data, and a logout that really ends the API session.
 */
import t from 'tap'
import { sql } from 'kysely'
import { startGitHubStandIn } from '../../dev/github-stand-in.ts'
import { buildTestPortal, continueTarget, cookieHeaderFrom, PORTAL_ORIGIN, setCookies, type TestPortal } from './helpers.ts'

// Real HTTP and a real database on a shared CI machine: allow more than the default 120 s.
t.setTimeout(300_000)

const github = await startGitHubStandIn()
t.teardown(() => github.close())
const API_PUBLIC = 'http://127.0.0.1:3999'
const clock = { now: new Date() }
const portal = await buildTestPortal(t, {
  clock,
  apiEnv: {
    GITHUB_CLIENT_ID: github.clientId,
    GITHUB_CLIENT_SECRET: github.clientSecret,
    GITHUB_OAUTH_URL: github.url,
    GITHUB_API_URL: github.url,
    API_PUBLIC_URL: API_PUBLIC,
    ADMIN_GITHUB_LOGINS: 'octo-admin',
    ACCESS_TOKEN_TTL_SECONDS: '60',
  },
})

function pathOf(url: string): string {
  const u = new URL(url)
  return `${u.pathname}${u.search}`
}

/** The whole browser journey, hop by hop: portal → API → GitHub stand-in → API → portal. */
async function logIn(p: TestPortal, login: string): Promise<{ cookie: string; location: string }> {
  const start = await p.app.inject({ method: 'POST', url: '/auth/login', headers: { origin: PORTAL_ORIGIN, 'content-type': 'application/x-www-form-urlencoded' }, payload: 'next=%2Fprofiles' })
  const loginCookie = setCookies(start).find((c) => c.startsWith('insighta_login='))?.split(';')[0] ?? ''
  const toApi = continueTarget(start)
  t.ok(toApi.startsWith(`${p.apiUrl}/auth/github?`), 'to the API')
  const apiStart = await p.api.app.inject({ method: 'GET', url: pathOf(toApi) })
  if (apiStart.statusCode !== 302) throw new Error(`API /auth/github answered ${apiStart.statusCode}: ${apiStart.body}`)
  const approved = await github.approve(String(apiStart.headers.location), login)
  const apiCallback = await p.api.app.inject({ method: 'GET', url: pathOf(approved) })
  if (apiCallback.statusCode !== 302) throw new Error(`API callback answered ${apiCallback.statusCode}: ${apiCallback.body}`)
  const back = String(apiCallback.headers.location)
  t.ok(back.startsWith(`${PORTAL_ORIGIN}/auth/callback?`), 'back to the portal with a code')
  const done = await p.app.inject({ method: 'GET', url: pathOf(back), headers: { cookie: loginCookie } })
  if (done.statusCode !== 303) throw new Error(`portal callback answered ${done.statusCode}`)
  return { cookie: cookieHeaderFrom(done), location: String(done.headers.location) }
}

t.test('a real login through the API and the GitHub stand-in', async (t) => {
  const { cookie, location } = await logIn(portal, 'octo-analyst')
  t.equal(location, '/profiles')
  t.match(cookie, /insighta_session=/)
  t.notMatch(cookie, /eyJ/, 'no JWT in the browser’s cookies')
  const page = await portal.get('/profiles', undefined, { cookie })
  t.equal(page.statusCode, 200)
  t.match(page.body, /Signed in as octo-analyst/)
  t.match(page.body, /of 2,026 profiles/)
  const account = await portal.get('/account', undefined, { cookie })
  t.equal(account.statusCode, 200)
  t.match(account.body, /Portal <span class="badge">this browser<\/span>/, 'the API lists this session as the portal’s and current')
})

t.test('the API knows the portal by its secret and sees the end user’s address', async (t) => {
  const { cookie } = await logIn(portal, 'octo-analyst')
  const page = await portal.get('/account', undefined, { cookie, 'x-forwarded-for': '203.0.113.9' })
  t.equal(page.statusCode, 200)
  t.match(page.body, /<td class="device" data-label="Device">/)
})

t.test('admin pages on real users: list, search, promote, demote', async (t) => {
  const { cookie } = await logIn(portal, 'octo-admin')
  await logIn(portal, 'octo-analyst')
  const list = await portal.get('/admin/users', undefined, { cookie })
  t.equal(list.statusCode, 200)
  t.match(list.body, /octo-admin <span class="badge">you<\/span>/)
  const search = await portal.get('/admin/users?search=octo-ana', undefined, { cookie })
  t.match(search.body, /1 user found/)
  const id = /action="\/admin\/users\/([0-9a-f-]{36})\/role"/.exec(search.body)?.[1]
  t.ok(id)
  const csrf = /name="_csrf" value="([^"]+)"/.exec(search.body)?.[1] ?? ''
  const promote = await portal.app.inject({
    method: 'POST',
    url: `/admin/users/${id}/role`,
    headers: { cookie, origin: PORTAL_ORIGIN, 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({ _csrf: csrf, role: 'admin', username: 'octo-analyst' }).toString(),
  })
  t.equal(promote.statusCode, 303)
  const after = await portal.get('/admin/users?search=octo-ana', undefined, { cookie: cookieHeaderFrom(promote, { cookie }) })
  t.match(after.body, /octo-analyst is now an admin/)
  t.match(after.body, /<option value="admin" selected>admin<\/option>/)
})

t.test('transparent refresh against the real API, two requests at once', async (t) => {
  const { cookie } = await logIn(portal, 'octo-analyst')
  clock.now = new Date(Date.now() + 55_000)
  t.teardown(() => {
    clock.now = new Date()
  })
  const [a, b] = await Promise.all([portal.get('/profiles', undefined, { cookie }), portal.get('/', undefined, { cookie })])
  t.equal(a.statusCode, 200)
  t.equal(b.statusCode, 200)
  const again = await portal.get('/search?q=women', undefined, { cookie })
  t.equal(again.statusCode, 200, 'the session survived: no refresh-token reuse')
})

t.test('logout ends the API session: its refresh token is dead', async (t) => {
  const { cookie } = await logIn(portal, 'octo-analyst')
  const id = (await sql<{ id: string; r: Buffer }>`SELECT id, refresh_token_enc AS r FROM portal_sessions ORDER BY created_at DESC LIMIT 1`.execute(portal.api.db.db)).rows[0]
  const refreshToken = portal.app.portal.box.open('api-token', id.r)
  const page = await portal.get('/', undefined, { cookie })
  const csrf = /name="_csrf" value="([^"]+)"/.exec(page.body)?.[1] ?? ''
  const out = await portal.app.inject({
    method: 'POST',
    url: '/logout',
    headers: { cookie, origin: PORTAL_ORIGIN, 'content-type': 'application/x-www-form-urlencoded' },
    payload: `_csrf=${encodeURIComponent(csrf)}`,
  })
  t.equal(out.statusCode, 303)
  const refresh = await portal.api.app.inject({ method: 'POST', url: '/auth/refresh', payload: { refresh_token: refreshToken } })
  t.equal(refresh.statusCode, 401, 'the API session is revoked')
  t.equal((await portal.get('/', undefined, { cookie })).statusCode, 303)
})

t.test('a suspended user is signed out at the next refresh with a clear message', async (t) => {
  const admin = await logIn(portal, 'octo-admin')
  const victim = await logIn(portal, 'octo-suspended')
  const list = await portal.get('/admin/users?search=octo-suspended', undefined, { cookie: admin.cookie })
  const id = /action="\/admin\/users\/([0-9a-f-]{36})\/status"/.exec(list.body)?.[1]
  const csrf = /name="_csrf" value="([^"]+)"/.exec(list.body)?.[1] ?? ''
  const suspend = await portal.app.inject({
    method: 'POST',
    url: `/admin/users/${id}/status`,
    headers: { cookie: admin.cookie, origin: PORTAL_ORIGIN, 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({ _csrf: csrf, is_active: 'false', username: 'octo-suspended' }).toString(),
  })
  t.equal(suspend.statusCode, 303)
  const res = await portal.get('/profiles', undefined, { cookie: victim.cookie })
  t.equal(res.statusCode, 303)
  t.match(res.headers.location, /^\/login/)
  const login = await portal.get('/login', undefined, { cookie: cookieHeaderFrom(res, victim) })
  t.match(login.body, /session has ended|suspended/)
  // Signing in again: the API refuses, and the portal shows the API's reason.
  const again = await logIn(portal, 'octo-suspended')
  t.equal(again.location, '/login')
  const refused = await portal.get('/login', undefined, { cookie: again.cookie })
  t.match(refused.body, /Sign-in was refused: Your account has been suspended by an administrator\./, 'the API’s reason')
  t.notMatch(refused.body, /Sign-in was cancelled/)
  // The same error on a link this browser did not start is not believed (no attacker-chosen text).
  const forged = await portal.get('/auth/callback?error=access_denied&error_description=Call+0800+now&state=x')
  const shown = await portal.get('/login', undefined, { cookie: cookieHeaderFrom(forged) })
  t.notMatch(shown.body, /0800/)
  t.match(shown.body, /Sign-in was cancelled/)
})
