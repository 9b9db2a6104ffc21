/**
 * Signing in across domains and signing out, against the scriptable fake API: the login attempt
 * cookie, the state check (login CSRF), the server-side code redemption, session rotation, and
 * a logout that revokes the API session and clears the browser's cookies.
 */
import t from 'tap'
import { sql } from 'kysely'
import { buildFakePortal, continueTarget, cookieHeaderFrom, PORTAL_ORIGIN, setCookies, type FakePortal } from './helpers.ts'

// Real HTTP and a real database on a shared CI machine: allow more than the default 120 s.
t.setTimeout(300_000)

const portal = await buildFakePortal(t)

interface Started {
  location: URL
  loginCookie: string
}

async function startLogin(p: FakePortal, next?: string, signedIn?: { cookie: string; csrf: string }): Promise<Started> {
  const form = new URLSearchParams()
  if (next) form.set('next', next)
  if (signedIn) form.set('_csrf', signedIn.csrf)
  const res = await p.app.inject({
    method: 'POST',
    url: '/auth/login',
    headers: { origin: PORTAL_ORIGIN, 'content-type': 'application/x-www-form-urlencoded', ...(signedIn ? { cookie: signedIn.cookie } : {}) },
    payload: form.toString(),
  })
  if (res.statusCode !== 200) throw new Error(`login start answered ${res.statusCode}`)
  const loginCookie = setCookies(res).find((c) => c.startsWith('insighta_login='))
  if (!loginCookie) throw new Error('no login cookie')
  return { location: new URL(continueTarget(res)), loginCookie: loginCookie.split(';')[0] }
}

/** What the API does after GitHub: a one-time code for the state and challenge it was given. */
function approve(p: FakePortal, started: Started, username = 'octo-analyst'): string {
  const user = p.fake.users.find((u) => u.username === username)
  if (!user) throw new Error(`no user ${username}`)
  const code = `code-${Math.random().toString(36).slice(2)}`
  p.fake.codes.set(code, {
    userId: user.id,
    challenge: String(started.location.searchParams.get('code_challenge')),
    redirectUri: String(started.location.searchParams.get('redirect_uri')),
  })
  return code
}

async function sessionCount(p: FakePortal): Promise<number> {
  const { rows } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM portal_sessions`.execute(p.db.db)
  return rows[0].n
}

t.test('"Continue with GitHub" starts a PKCE login at the API as the portal client', async (t) => {
  const started = await startLogin(portal, '/profiles?gender=male')
  const { location } = started
  t.equal(`${location.origin}${location.pathname}`, `${portal.fake.url}/auth/github`)
  t.equal(location.searchParams.get('client_id'), 'insighta-portal')
  t.equal(location.searchParams.get('redirect_uri'), `${PORTAL_ORIGIN}/auth/callback`)
  t.equal(location.searchParams.get('code_challenge_method'), 'S256')
  t.match(location.searchParams.get('code_challenge'), /^[A-Za-z0-9_-]{43}$/)
  t.match(location.searchParams.get('state'), /^[A-Za-z0-9_-]{43}$/)
  t.notMatch(location.search, /verifier/, 'the verifier stays with the portal')
  const page = await portal.app.inject({ method: 'POST', url: '/auth/login', headers: { origin: PORTAL_ORIGIN } })
  t.match(page.body, /<meta http-equiv="refresh" content="0;url=http:\/\/127\.0\.0\.1:\d+\/auth\/github\?client_id=insighta-portal&amp;/, 'sent on without JavaScript')
  const res = await portal.app.inject({ method: 'POST', url: '/auth/login', headers: { origin: PORTAL_ORIGIN } })
  const cookie = setCookies(res).find((c) => c.startsWith('insighta_login='))
  t.match(cookie, /HttpOnly/)
  t.match(cookie, /SameSite=Lax/)
  t.match(cookie, /Max-Age=600/)
  t.notMatch(cookie, new RegExp(String(location.searchParams.get('state'))), 'the cookie is sealed, not the state in clear')
})

t.test('the callback redeems the code server-side and sets only the portal cookie', async (t) => {
  const before = await sessionCount(portal)
  const started = await startLogin(portal, '/profiles?gender=male')
  const code = approve(portal, started)
  const res = await portal.get(`/auth/callback?code=${code}&state=${started.location.searchParams.get('state')}`, undefined, { cookie: started.loginCookie })
  t.equal(res.statusCode, 303)
  t.equal(res.headers.location, '/profiles?gender=male', 'back where the visitor was going')
  const cookies = setCookies(res)
  const session = cookies.find((c) => c.startsWith('insighta_session='))
  t.ok(session)
  t.match(session, /HttpOnly/)
  t.match(session, /SameSite=Lax/)
  t.match(session, /Path=\//)
  t.notMatch(session, /Secure/, 'not Secure over http')
  t.ok(cookies.some((c) => /^insighta_login=;/.test(c)), 'the login attempt is cleared')
  const tokenBody = portal.fake.lastHeaders.get('/auth/token')
  t.equal(tokenBody?.['x-portal-client-secret'], portal.config.clientSecret, 'the portal identifies itself on server calls')
  for (const c of cookies) t.notMatch(c, /access-|refresh-/, 'no API token in any cookie')
  t.notMatch(String(res.headers.location), /access-|refresh-|code/, 'nor in the URL')
  t.equal(await sessionCount(portal), before + 1)
  const { rows } = await sql<{ a: Buffer; r: Buffer }>`SELECT access_token_enc AS a, refresh_token_enc AS r FROM portal_sessions`.execute(portal.db.db)
  for (const row of rows) {
    t.notMatch(row.a.toString('latin1'), /access-/, 'access token encrypted at rest')
    t.notMatch(row.r.toString('latin1'), /refresh-/, 'refresh token encrypted at rest')
  }
  const page = await portal.get('/profiles?gender=male', undefined, { cookie: cookieHeaderFrom(res) })
  t.equal(page.statusCode, 200)
  t.match(page.body, /Signed in as octo-analyst/)
})

t.test('login CSRF: a wrong, missing, expired or tampered attempt never redeems the code', async (t) => {
  const before = await sessionCount(portal)
  portal.fake.calls.length = 0
  const started = await startLogin(portal)
  const code = approve(portal, started)
  const state = String(started.location.searchParams.get('state'))
  const other = await startLogin(portal)
  const attempts: [string, string | undefined][] = [
    [`/auth/callback?code=${code}&state=${'A'.repeat(43)}`, started.loginCookie],
    [`/auth/callback?code=${code}&state=${state}`, undefined],
    [`/auth/callback?code=${code}&state=${state}`, other.loginCookie],
    [`/auth/callback?code=${code}&state=${state}`, `${started.loginCookie.slice(0, -4)}AAAA`],
    [`/auth/callback?code=${code}`, started.loginCookie],
    [`/auth/callback?state=${state}`, started.loginCookie],
    [`/auth/callback?code=${code}&state=${state}&state=${state}`, started.loginCookie],
  ]
  for (const [url, cookie] of attempts) {
    const res = await portal.get(url, undefined, cookie ? { cookie } : {})
    t.equal(res.statusCode, 303, url)
    t.equal(res.headers.location, '/login')
    t.notOk(setCookies(res).some((c) => /^insighta_session=[^;]/.test(c)), 'no session cookie')
    const page = await portal.get('/login', undefined, { cookie: cookieHeaderFrom(res) })
    t.match(page.body, /expired or was not started in this browser/)
  }
  portal.clock.now = new Date(Date.now() + 11 * 60_000)
  const late = await portal.get(`/auth/callback?code=${code}&state=${state}`, undefined, { cookie: started.loginCookie })
  portal.clock.now = new Date()
  t.equal(late.headers.location, '/login', 'an attempt older than 10 minutes')
  t.equal(portal.fake.count('POST /auth/token'), 0, 'the code was never sent to the API')
  t.equal(await sessionCount(portal), before)
})

t.test('cancel at GitHub, a refused code and a suspended account end on the login page with a message', async (t) => {
  const started = await startLogin(portal)
  const state = started.location.searchParams.get('state')
  const cancelled = await portal.get(`/auth/callback?error=access_denied&state=${state}`, undefined, { cookie: started.loginCookie })
  t.equal(cancelled.headers.location, '/login')
  t.match((await portal.get('/login', undefined, { cookie: cookieHeaderFrom(cancelled) })).body, /Sign-in was cancelled/)

  const again = await startLogin(portal)
  const refused = await portal.get(`/auth/callback?code=never-issued&state=${again.location.searchParams.get('state')}`, undefined, { cookie: again.loginCookie })
  t.match((await portal.get('/login', undefined, { cookie: cookieHeaderFrom(refused) })).body, /Sign-in failed: Invalid code/)

  const suspendedUser = portal.fake.users[1]
  suspendedUser.is_active = false
  t.teardown(() => {
    suspendedUser.is_active = true
  })
  const third = await startLogin(portal)
  const code = approve(portal, third)
  const suspended = await portal.get(`/auth/callback?code=${code}&state=${third.location.searchParams.get('state')}`, undefined, { cookie: third.loginCookie })
  t.match((await portal.get('/login', undefined, { cookie: cookieHeaderFrom(suspended) })).body, /suspended by an administrator/)
})

t.test('the session id is rotated at login and the old session ended', async (t) => {
  const old = await portal.signIn('octo-admin')
  const started = await startLogin(portal, undefined, old)
  const code = approve(portal, started, 'octo-admin')
  const res = await portal.get(`/auth/callback?code=${code}&state=${started.location.searchParams.get('state')}`, undefined, {
    cookie: `${old.cookie}; ${started.loginCookie}`,
  })
  const fresh = setCookies(res).find((c) => c.startsWith('insighta_session='))?.split(';')[0]
  t.ok(fresh)
  t.not(fresh, old.cookie, 'a new cookie value')
  t.equal((await portal.get('/', old)).statusCode, 303, 'the old cookie is dead')
  t.ok(portal.fake.revokedSessions.has(old.sessionId), 'and its API session revoked')
})

t.test('open redirects are refused: next must be a path on this site', async (t) => {
  for (const next of ['//evil.example/x', 'https://evil.example', '/\\evil.example', '/auth/callback?code=x', 'javascript:alert(1)']) {
    const started = await startLogin(portal, next)
    const code = approve(portal, started)
    const res = await portal.get(`/auth/callback?code=${code}&state=${started.location.searchParams.get('state')}`, undefined, { cookie: started.loginCookie })
    t.equal(res.headers.location, '/', next)
  }
  const login = await portal.get('/login?next=//evil.example')
  t.match(login.body, /name="next" value="\/"/)
})

t.test('sign out: POST revokes the API session, deletes the portal session, clears the cookies', async (t) => {
  const who = await portal.signIn('octo-analyst')
  const res = await portal.post('/logout', {}, who)
  t.equal(res.statusCode, 303)
  t.equal(res.headers.location, '/login?signed_out=1')
  t.equal(res.headers['clear-site-data'], '"cookies"')
  t.ok(setCookies(res).some((c) => /^insighta_session=;/.test(c)), 'session cookie cleared')
  t.ok(portal.fake.revokedSessions.has(who.sessionId), 'API session revoked')
  const logoutHeaders = portal.fake.lastHeaders.get('/auth/logout')
  t.match(logoutHeaders?.authorization, /^Bearer access-/)
  t.equal((await portal.get('/', who)).statusCode, 303, 'the old cookie no longer works')
  const page = await portal.get('/login?signed_out=1')
  t.match(page.body, /You have signed out/)
  const anonymous = await portal.app.inject({ method: 'POST', url: '/logout', headers: { origin: PORTAL_ORIGIN } })
  t.equal(anonymous.statusCode, 303, 'signing out without a session just clears the cookie')
  const getLogout = await portal.get('/logout', who)
  t.equal(getLogout.statusCode, 404, 'no logout by GET')
})

t.test('a signed-in visitor opening /login goes to the app', async (t) => {
  const who = await portal.signIn('octo-analyst')
  const res = await portal.get('/login?next=/profiles', who)
  t.equal(res.statusCode, 303)
  t.equal(res.headers.location, '/profiles')
})
