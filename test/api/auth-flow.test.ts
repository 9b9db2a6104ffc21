/**
 * The "done when" walk of issue 3, over real HTTP with the GitHub stand-in: login as the CLI (loopback
 * redirect) and as the portal, call the API, refresh, race two refreshes, log out, use the dead tokens.
 */
import t from 'tap'
import { listAuditEvents } from '../../db/repositories/audit.ts'
import { buildTestApi, V1 } from '../helpers/api.ts'
import {
  bearer,
  browserLogin,
  cliLogin,
  githubEnv,
  listen,
  pkcePair,
  PORTAL_REDIRECT,
  PORTAL_SECRET,
  postJson,
  type TokenAnswer,
} from '../helpers/auth.ts'
import { startGitHubStandIn } from '../../dev/github-stand-in.ts'

const github = await startGitHubStandIn()
t.teardown(() => github.close())
const api = await buildTestApi(t, { seed: true, env: githubEnv(github, { ADMIN_GITHUB_LOGINS: 'Octo-Admin' }) })
const url = await listen(api.app)
/** The same database behind an instance with the refresh retry window configured on (off by default). */
const windowed = await buildTestApi(t, { db: api.db, env: githubEnv(github, { REFRESH_RETRY_WINDOW_SECONDS: '10' }) })
const windowedUrl = await listen(windowed.app)

async function get(path: string, headers: Record<string, string>) {
  const response = await fetch(`${url}${path}`, { headers })
  return { status: response.status, headers: response.headers, body: (await response.json()) as Record<string, unknown> }
}

t.test('CLI login: loopback redirect with code and state, redeemed with the verifier', async (t) => {
  const { verifier, challenge } = pkcePair()
  const redirectUri = 'http://127.0.0.1:49152/callback'
  const start = await fetch(
    `${url}/auth/github?${new URLSearchParams({ client_id: 'insighta-cli', redirect_uri: redirectUri, state: 'cli-state-1', code_challenge: challenge, code_challenge_method: 'S256' })}`,
    { redirect: 'manual' },
  )
  t.equal(start.status, 302)
  t.equal(start.headers.get('access-control-allow-origin'), '*', 'CORS on the redirect too')
  const authorize = new URL(start.headers.get('location') ?? '')
  t.equal(`${authorize.origin}${authorize.pathname}`, `${github.url}/login/oauth/authorize`)
  t.equal(authorize.searchParams.get('code_challenge_method'), 'S256', 'the API runs its own PKCE with GitHub')
  t.match(authorize.searchParams.get('code_challenge'), /^[A-Za-z0-9_-]{43}$/)
  t.not(authorize.searchParams.get('code_challenge'), challenge, "GitHub never sees the client's challenge")
  t.not(authorize.searchParams.get('state'), 'cli-state-1', "GitHub never sees the client's state")
  t.match(authorize.searchParams.get('state'), /^[A-Za-z0-9_-]{43}$/)
  t.equal(authorize.searchParams.get('redirect_uri'), `${api.config.auth.publicUrl}/auth/github/callback`)

  const back = new URL(await github.approve(authorize.toString(), 'octo-analyst'))
  const callback = await fetch(`${url}${back.pathname}${back.search}`, { redirect: 'manual' })
  t.equal(callback.status, 302)
  const toClient = new URL(callback.headers.get('location') ?? '')
  t.equal(`${toClient.origin}${toClient.pathname}`, redirectUri)
  t.equal(toClient.searchParams.get('state'), 'cli-state-1')
  const code = toClient.searchParams.get('code') ?? ''
  t.ok(Buffer.from(code, 'base64url').length >= 16, 'at least 128 bits')

  const redeemed = await postJson(`${url}/auth/token`, { code, code_verifier: verifier, redirect_uri: redirectUri, client_id: 'insighta-cli' })
  t.equal(redeemed.status, 200)
  t.equal(redeemed.headers.get('cache-control'), 'no-store')
  const tokens = redeemed.body as unknown as TokenAnswer
  t.match(tokens, { status: 'success', token_type: 'Bearer', expires_in: 180, access_token: String, refresh_token: String })
  t.ok(Buffer.from(tokens.refresh_token, 'base64url').length >= 32, 'refresh token ≥ 256 bits')
  t.match(tokens.user, { username: 'octo-analyst', github_id: 1002, role: 'analyst', email: 'octo-analyst@example.com' })
  const payload = JSON.parse(Buffer.from(tokens.access_token.split('.')[1], 'base64url').toString()) as Record<string, unknown>
  t.match(payload, { role: 'analyst', sub: tokens.user?.id, sid: String, jti: String, iat: Number, exp: Number, iss: 'insighta-api', aud: 'insighta' })
  t.equal(Number(payload.exp) - Number(payload.iat), 180, '3 minutes')

  const me = await get('/api/users/me', bearer(tokens.access_token))
  t.equal(me.status, 200)
  t.same(Object.keys((me.body.data ?? {}) as object).sort(), ['avatar_url', 'created_at', 'email', 'github_id', 'id', 'is_active', 'last_login_at', 'role', 'username'])
  t.same(me.body.user, me.body.data)
  t.equal((me.body.data as { email: string }).email, 'octo-analyst@example.com', 'private email read from /user/emails')
  const list = await get('/api/profiles?limit=1', { ...V1, ...bearer(tokens.access_token) })
  t.equal(list.status, 200)

  // A replayed code is refused and kills the session it created.
  const replay = await postJson(`${url}/auth/token`, { code, code_verifier: verifier, redirect_uri: redirectUri, client_id: 'insighta-cli' })
  t.equal(replay.status, 400)
  t.same(replay.body, { status: 'error', message: 'Invalid or expired code' })
  const afterReplay = await get('/auth/me', bearer(tokens.access_token))
  t.equal(afterReplay.status, 401, 'the session the code created is revoked')
  const refreshAfterReplay = await postJson(`${url}/auth/refresh`, { refresh_token: tokens.refresh_token })
  t.equal(refreshAfterReplay.status, 401)
  const events = await listAuditEvents(api.db.db, { event: 'code.replay' })
  t.equal(events.length, 1)
  t.equal(events[0].subject_id, tokens.user?.id)
  t.notOk(JSON.stringify(events).includes(code), 'the audit log never holds the code')
})

t.test('the whole walk: CLI login, API call, refresh, race, logout, dead tokens', async (t) => {
  const tokens = await cliLogin(url, github, 'octo-admin', { port: 65535 })
  t.equal(tokens.user?.role, 'admin', 'allowlisted login (case-insensitive) becomes admin')
  const created = await fetch(`${url}/api/users`, { headers: bearer(tokens.access_token) })
  t.equal(created.status, 200, 'admin route')

  // refresh: a new pair, the old refresh token is spent
  const first = await postJson(`${url}/auth/refresh`, { refresh_token: tokens.refresh_token })
  t.equal(first.status, 200)
  t.equal(first.headers.get('cache-control'), 'no-store')
  const pair = first.body as unknown as TokenAnswer
  t.not(pair.refresh_token, tokens.refresh_token)
  t.not(pair.access_token, tokens.access_token)
  t.equal((await get('/auth/me', bearer(pair.access_token))).status, 200)

  // with the retry window configured on: two racing refreshes with the same token (two tabs, two CLI
  // processes without their lock) both succeed, with the same successor
  const [a, b] = await Promise.all([
    postJson(`${windowedUrl}/auth/refresh`, { refresh_token: pair.refresh_token }),
    postJson(`${windowedUrl}/auth/refresh`, { refreshToken: pair.refresh_token }),
  ])
  t.equal(a.status, 200)
  t.equal(b.status, 200)
  t.equal(a.body.refresh_token, b.body.refresh_token, 'one successor')
  const current = a.body as unknown as TokenAnswer
  t.equal((await get('/auth/me', bearer(String(b.body.access_token)))).status, 200, 'the loser’s access token works too')

  // logout, then every token of the session is dead at once
  const out = await postJson(`${url}/auth/logout`, {}, bearer(current.access_token))
  t.equal(out.status, 200)
  t.same(out.body, { status: 'success', message: 'Logged out' })
  const dead = await get('/api/profiles', { ...V1, ...bearer(current.access_token) })
  t.equal(dead.status, 401)
  t.equal(dead.headers.get('www-authenticate'), 'Bearer realm="insighta", error="invalid_token"')
  t.equal(dead.body.status, 'error')
  t.equal((await get('/auth/me', bearer(pair.access_token))).status, 401, 'older access tokens of the session too')
  const refreshDead = await postJson(`${url}/auth/refresh`, { refresh_token: current.refresh_token })
  t.equal(refreshDead.status, 401)
  t.match(refreshDead.headers.get('www-authenticate'), /error="invalid_token"/)
  const logoutGet = await fetch(`${url}/auth/logout`)
  t.equal(logoutGet.status, 405, 'GET /auth/logout is a 405')
})

t.test('a session is labelled by the device that holds its tokens: the CLI that redeems, the portal’s browser', async (t) => {
  const browser = { 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36' }
  const cliAgent = 'insighta/0.1.0 (build-box; linux)'
  const cli = pkcePair()
  const redirectUri = 'http://127.0.0.1:49153/callback'
  const query = { client_id: 'insighta-cli', redirect_uri: redirectUri, state: 'cli-label', code_challenge: cli.challenge, code_challenge_method: 'S256' }
  const { location } = await browserLogin(url, github, 'octo-analyst', query, browser)
  const code = new URL(location).searchParams.get('code') ?? ''
  const redeemed = await postJson(`${url}/auth/token`, { code, code_verifier: cli.verifier, redirect_uri: redirectUri, client_id: 'insighta-cli' }, { 'user-agent': cliAgent })
  t.equal(redeemed.status, 200)
  const cliSessions = await get('/api/sessions', bearer(String(redeemed.body.access_token)))
  const cliSession = (cliSessions.body.data as { client_id: string; user_agent: string; current: boolean }[]).find((s) => s.current)
  t.match(cliSession, { client_id: 'insighta-cli', user_agent: cliAgent }, 'the CLI’s user agent, not the browser’s')

  // The portal redeems server to server for the browser: the session stays the browser's.
  const portal = pkcePair()
  const portalQuery = { client_id: 'insighta-portal', redirect_uri: PORTAL_REDIRECT, state: 'portal-label', code_challenge: portal.challenge, code_challenge_method: 'S256' }
  const signedIn = await browserLogin(url, github, 'octo-analyst', portalQuery, browser)
  const portalCode = new URL(signedIn.location).searchParams.get('code') ?? ''
  const viaPortal = await postJson(
    `${url}/auth/token`,
    { code: portalCode, code_verifier: portal.verifier, redirect_uri: PORTAL_REDIRECT, client_id: 'insighta-portal', client_secret: PORTAL_SECRET },
    { 'user-agent': 'undici' },
  )
  t.equal(viaPortal.status, 200)
  const portalSessions = await get('/api/sessions', bearer(String(viaPortal.body.access_token)))
  const portalSession = (portalSessions.body.data as { client_id: string; user_agent: string; current: boolean }[]).find((s) => s.current)
  t.match(portalSession, { client_id: 'insighta-portal', user_agent: browser['user-agent'] })
})

t.test('portal login: exact redirect, code redeemed server-to-server with the client secret', async (t) => {
  const { verifier, challenge } = pkcePair()
  const query = { client_id: 'insighta-portal', redirect_uri: PORTAL_REDIRECT, state: 'portal-state', code_challenge: challenge, code_challenge_method: 'S256' }
  const { location } = await browserLogin(url, github, 'octo-analyst', query)
  const back = new URL(location)
  t.equal(`${back.origin}${back.pathname}`, PORTAL_REDIRECT)
  t.equal(back.searchParams.get('state'), 'portal-state')
  const code = back.searchParams.get('code') ?? ''
  const body = { code, code_verifier: verifier, redirect_uri: PORTAL_REDIRECT, client_id: 'insighta-portal' }

  const noSecret = await postJson(`${url}/auth/token`, body)
  t.equal(noSecret.status, 401, 'the confidential client must authenticate')
  t.equal(noSecret.headers.get('www-authenticate'), 'Bearer realm="insighta"')
  const wrong = await postJson(`${url}/auth/token`, { ...body, client_secret: 'nope' })
  t.equal(wrong.status, 401)
  t.match(wrong.headers.get('www-authenticate'), /invalid_token/)

  // form-encoded, secret in the portal's header: the code was not burnt by the failed attempts
  const response = await fetch(`${url}/auth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-portal-client-secret': PORTAL_SECRET },
    body: new URLSearchParams(body).toString(),
  })
  t.equal(response.status, 200)
  const tokens = (await response.json()) as TokenAnswer
  t.equal(tokens.user?.username, 'octo-analyst')
  const sessions = await get('/api/sessions', bearer(tokens.access_token))
  const mine = (sessions.body.data as { client_id: string; current: boolean }[]).find((s) => s.current)
  t.equal(mine?.client_id, 'insighta-portal')

  // HTTP Basic works as well (RFC 6749 §2.3.1)
  const second = pkcePair()
  const again = await browserLogin(url, github, 'octo-analyst', { ...query, code_challenge: second.challenge })
  const code2 = new URL(again.location).searchParams.get('code') ?? ''
  const basic = Buffer.from(`insighta-portal:${PORTAL_SECRET}`).toString('base64')
  const viaBasic = await postJson(
    `${url}/auth/token`,
    { code: code2, code_verifier: second.verifier, redirect_uri: PORTAL_REDIRECT, client_id: 'insighta-portal' },
    { authorization: `Basic ${basic}` },
  )
  t.equal(viaBasic.status, 200)
})

/** The state cookie `GET /auth/github` sets for a plain login, as a Cookie header value. */
function loginStateCookie(start: Response): string {
  const set = start.headers.getSetCookie().find((c) => c.startsWith('insighta_login_state='))
  if (!set) throw new Error('no login state cookie')
  return set.split(';')[0]
}

t.test('plain login (no client parameters) answers JSON tokens from the callback', async (t) => {
  const start = await fetch(`${url}/auth/github`, { redirect: 'manual' })
  t.equal(start.status, 302)
  const stateCookie = loginStateCookie(start)
  const back = new URL(await github.approve(start.headers.get('location') ?? '', 'octo-plain'))
  const callback = await fetch(`${url}${back.pathname}${back.search}`, { redirect: 'manual', headers: { cookie: stateCookie } })
  t.equal(callback.status, 200)
  t.equal(callback.headers.get('cache-control'), 'no-store')
  t.match(callback.headers.get('set-cookie'), /refresh_token=.*HttpOnly.*SameSite=Strict/i, 'cookie form for same-origin browsers')
  const tokens = (await callback.json()) as TokenAnswer
  t.match(tokens, { status: 'success', token_type: 'Bearer', user: { username: 'octo-plain', role: 'analyst' } })
  t.ok(callback.headers.getSetCookie().some((c) => /^insighta_login_state=;/.test(c)), 'the state cookie is cleared')
  const reused = await fetch(`${url}${back.pathname}${back.search}`, { redirect: 'manual', headers: { cookie: stateCookie } })
  t.equal(reused.status, 400, 'the state is single use')
  t.same(await reused.json(), { status: 'error', message: 'Invalid or expired state: start the login again' })

  // the body-less cookie form of refresh
  const cookie = (callback.headers.getSetCookie().find((c) => c.startsWith('refresh_token=')) ?? '').split(';')[0]
  const refreshed = await fetch(`${url}/auth/refresh`, { method: 'POST', headers: { cookie } })
  t.equal(refreshed.status, 200)
  t.match(refreshed.headers.get('set-cookie'), /refresh_token=/)
})

t.test('login CSRF: a plain login state is bound to the browser that started it', async (t) => {
  const start = await fetch(`${url}/auth/github`, { redirect: 'manual' })
  const set = start.headers.getSetCookie().find((c) => c.startsWith('insighta_login_state=')) ?? ''
  t.match(set, /Path=\/auth\/github\/callback/i)
  t.match(set, /HttpOnly/i)
  t.match(set, /SameSite=Lax/i)
  t.match(set, /Max-Age=600/i, 'as short-lived as the pending login')
  t.notMatch(set, /Secure/i, 'not Secure on a plain-HTTP API_PUBLIC_URL')
  const stateInUrl = new URL(start.headers.get('location') ?? '').searchParams.get('state')
  t.equal(set.split(';')[0], `insighta_login_state=${stateInUrl}`)

  // The attacker starts a login, approves it as themself, and sends the victim the callback URL.
  const attacker = await fetch(`${url}/auth/github`, { redirect: 'manual' })
  const attackerBack = new URL(await github.approve(attacker.headers.get('location') ?? '', 'octo-attacker'))
  const victimNoCookie = await fetch(`${url}${attackerBack.pathname}${attackerBack.search}`, { redirect: 'manual' })
  t.equal(victimNoCookie.status, 400, 'a browser without the state cookie is refused')
  t.same(await victimNoCookie.json(), {
    status: 'error',
    message: 'Login state does not belong to this browser: start the login again from this browser',
  })
  t.notOk(victimNoCookie.headers.getSetCookie().some((c) => c.startsWith('refresh_token=')), 'and gets no session')

  const attacker2 = await fetch(`${url}/auth/github`, { redirect: 'manual' })
  const attacker2Back = new URL(await github.approve(attacker2.headers.get('location') ?? '', 'octo-attacker'))
  const victimOwnCookie = await fetch(`${url}${attacker2Back.pathname}${attacker2Back.search}`, {
    redirect: 'manual',
    headers: { cookie: loginStateCookie(start) },
  })
  t.equal(victimOwnCookie.status, 400, "a browser carrying its own login's state is refused too")

  const postNoCookie = await postJson(`${url}/auth/github/callback`, { code: 'abc', state: stateInUrl })
  t.equal(postNoCookie.status, 400, 'the POST form of the callback checks the same binding')

  const failures = await listAuditEvents(api.db.db, { event: 'login.failure' })
  t.ok(failures.filter((f) => (f.details as { reason?: string } | null)?.reason === 'state_not_bound_to_browser').length >= 3, 'audited')

  // A login on behalf of a client is bound by the client's state and PKCE: no cookie needed.
  const cli = await cliLogin(url, github, 'octo-analyst')
  t.equal(cli.token_type, 'Bearer')
})

t.test('a returning user is refreshed and reactivated; a suspended one is refused at login', async (t) => {
  github.addUser({ id: 4242, login: 'octo-returning', email: 'old@example.com' })
  const first = await cliLogin(url, github, 'octo-returning')
  github.addUser({ id: 4242, login: 'octo-returning', email: 'new@example.com' })
  const second = await cliLogin(url, github, 'octo-returning')
  t.equal(second.user?.id, first.user?.id, 'same user (upsert on github_id)')
  t.equal(second.user?.email, 'new@example.com', 'GitHub fields refreshed')

  const admin = await api.headers('admin')
  const suspend = await api.app.inject({ method: 'PATCH', url: `/api/users/${first.user?.id}`, headers: admin, payload: { is_active: false } })
  t.equal(suspend.statusCode, 200)

  const { verifier: _v, challenge } = pkcePair()
  const redirectUri = 'http://[::1]:50000/callback'
  const { location } = await browserLogin(url, github, 'octo-returning', {
    client_id: 'insighta-cli',
    redirect_uri: redirectUri,
    state: 's-suspended',
    code_challenge: challenge,
    code_challenge_method: 'S256',
  })
  const back = new URL(location)
  t.equal(back.searchParams.get('error'), 'access_denied', 'the client learns why, on its own redirect')
  t.match(back.searchParams.get('error_description'), /suspended/)
  t.equal(back.searchParams.get('state'), 's-suspended')
  t.notOk(back.searchParams.get('code'))

  const start = await fetch(`${url}/auth/github`, { redirect: 'manual' })
  const gh = new URL(await github.approve(start.headers.get('location') ?? '', 'octo-returning'))
  const plain = await fetch(`${url}${gh.pathname}${gh.search}`, { headers: { cookie: loginStateCookie(start) } })
  t.equal(plain.status, 403)
  t.same(await plain.json(), { status: 'error', message: 'Your account has been suspended by an administrator' })

  const row = await api.db.db.selectFrom('users').selectAll().where('github_id', '=', 4242).executeTakeFirstOrThrow()
  t.equal(row.is_active, false, 'login did not undo the suspension')
  const failures = await listAuditEvents(api.db.db, { event: 'login.failure', subjectId: row.id })
  t.ok(failures.length >= 2)
})
