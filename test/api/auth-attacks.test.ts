/** Bad input and attacks on the login flow (issue 3): each refused, and never with a redirect. */
import t from 'tap'
import { buildTestApi } from '../helpers/api.ts'
import { bearer, browserLogin, githubEnv, listen, pkcePair, PORTAL_REDIRECT, PORTAL_SECRET, postJson } from '../helpers/auth.ts'
import { startGitHubStandIn } from '../../dev/github-stand-in.ts'

let offset = 0
const clock = () => Date.now() + offset
const github = await startGitHubStandIn({ now: clock })
t.teardown(() => github.close())
const api = await buildTestApi(t, { env: githubEnv(github), clock })
const url = await listen(api.app)

function cliQuery(overrides: Record<string, string | undefined> = {}): Record<string, string> {
  const query: Record<string, string | undefined> = {
    client_id: 'insighta-cli',
    redirect_uri: 'http://127.0.0.1:8000/callback',
    state: 'client-state',
    code_challenge: pkcePair().challenge,
    code_challenge_method: 'S256',
    ...overrides,
  }
  return Object.fromEntries(Object.entries(query).filter((e): e is [string, string] => e[1] !== undefined))
}

async function authorize(query: Record<string, string>) {
  const response = await fetch(`${url}/auth/github?${new URLSearchParams(query)}`, { redirect: 'manual' })
  const text = await response.text()
  // A plain login's state is bound to the browser by a cookie (login CSRF); a client's login sets none.
  const cookie = response.headers.getSetCookie().find((c) => c.startsWith('insighta_login_state='))?.split(';')[0] ?? ''
  return { status: response.status, location: response.headers.get('location'), body: text ? JSON.parse(text) : null, cookie }
}

t.test('authorization requests are validated completely before any redirect (no open redirect)', async (t) => {
  const cases: [string, Record<string, string | undefined>, RegExp][] = [
    ['unknown client', { client_id: 'evil-app' }, /Unknown client_id/],
    ['client_id missing', { client_id: undefined }, /client_id/],
    ['redirect_uri missing', { redirect_uri: undefined }, /redirect_uri/],
    ['localhost', { redirect_uri: 'http://localhost:8000/callback' }, /not registered/],
    ['127.0.0.1.evil.com', { redirect_uri: 'http://127.0.0.1.evil.com/callback' }, /not registered/],
    ['127.0.0.1.evil.com with port', { redirect_uri: 'http://127.0.0.1.evil.com:8000/callback' }, /not registered/],
    ['userinfo trick', { redirect_uri: 'http://127.0.0.1:8000@evil.com/callback' }, /not registered/],
    ['another path', { redirect_uri: 'http://127.0.0.1:8000/callback/../evil' }, /not registered/],
    ['a query', { redirect_uri: 'http://127.0.0.1:8000/callback?next=https://evil.com' }, /not registered/],
    ['https loopback', { redirect_uri: 'https://127.0.0.1:8000/callback' }, /not registered/],
    ['port 0', { redirect_uri: 'http://127.0.0.1:0/callback' }, /not registered/],
    ['port 65536', { redirect_uri: 'http://127.0.0.1:65536/callback' }, /not registered/],
    ['no port', { redirect_uri: 'http://127.0.0.1/callback' }, /not registered/],
    ['other loopback address', { redirect_uri: 'http://127.0.0.2:8000/callback' }, /not registered/],
    ['another site', { redirect_uri: 'https://evil.com/callback' }, /not registered/],
    ['portal client, other redirect', { client_id: 'insighta-portal', redirect_uri: 'http://localhost:3001/auth/callback/x' }, /not registered/],
    ['portal client, CLI redirect', { client_id: 'insighta-portal' }, /not registered/],
    ['plain challenge', { code_challenge_method: 'plain' }, /S256/],
    ['method missing', { code_challenge_method: undefined }, /S256/],
    ['challenge missing', { code_challenge: undefined }, /code_challenge/],
    ['challenge malformed', { code_challenge: 'short' }, /43 base64url/],
    ['state missing', { state: undefined }, /state/],
    ['state too long', { state: 'x'.repeat(513) }, /state/],
  ]
  for (const [name, overrides, message] of cases) {
    const res = await authorize(cliQuery(overrides))
    t.equal(res.status, 400, name)
    t.equal(res.location, null, `${name}: no redirect`)
    t.equal(res.body?.status, 'error', name)
    t.match(res.body?.message, message, name)
  }
  const ipv6 = await authorize(cliQuery({ redirect_uri: 'http://[::1]:1/callback' }))
  t.equal(ipv6.status, 302, '[::1] with any port is fine')
  const highPort = await authorize(cliQuery({ redirect_uri: 'http://127.0.0.1:65535/callback' }))
  t.equal(highPort.status, 302)
})

t.test('callback: missing, unknown, replayed and expired state', async (t) => {
  const missing = await fetch(`${url}/auth/github/callback?code=abc`)
  t.equal(missing.status, 400)
  t.same(await missing.json(), { status: 'error', message: 'Missing or empty state' })
  const unknown = await fetch(`${url}/auth/github/callback?code=abc&state=${'A'.repeat(43)}`)
  t.equal(unknown.status, 400)

  const start = await authorize(cliQuery())
  const back = new URL(await github.approve(start.location ?? '', 'octo-analyst'))
  const first = await fetch(`${url}${back.pathname}${back.search}`, { redirect: 'manual' })
  t.equal(first.status, 302)
  const replay = await fetch(`${url}${back.pathname}${back.search}`, { redirect: 'manual' })
  t.equal(replay.status, 400, 'state is single use')
  t.equal(replay.headers.get('location'), null)

  const late = await authorize(cliQuery())
  const lateBack = new URL(await github.approve(late.location ?? '', 'octo-analyst'))
  offset += 11 * 60 * 1000
  t.teardown(() => {
    offset = 0
  })
  const expired = await fetch(`${url}${lateBack.pathname}${lateBack.search}`, { redirect: 'manual' })
  t.equal(expired.status, 400, 'pending logins live 10 minutes')
  offset = 0
})

async function clientCode(query: Record<string, string>, login = 'octo-analyst') {
  const { location } = await browserLogin(url, github, login, query)
  const code = new URL(location).searchParams.get('code')
  if (!code) throw new Error(`no code in ${location}`)
  return code
}

t.test('code redemption: wrong verifier, other client, wrong redirect, expired — each also ends the session', async (t) => {
  const pkce = pkcePair()
  const redirectUri = 'http://127.0.0.1:8000/callback'
  const base = { redirect_uri: redirectUri, client_id: 'insighta-cli' }

  const code1 = await clientCode(cliQuery({ code_challenge: pkce.challenge }))
  const wrongVerifier = await postJson(`${url}/auth/token`, { ...base, code: code1, code_verifier: pkcePair().verifier })
  t.equal(wrongVerifier.status, 400)
  t.match(wrongVerifier.body.message, /code_verifier/)
  const retry = await postJson(`${url}/auth/token`, { ...base, code: code1, code_verifier: pkce.verifier })
  t.equal(retry.status, 400, 'a failed redemption burns the code (no guessing the verifier)')

  const portalPkce = pkcePair()
  const portalCode = await clientCode({
    client_id: 'insighta-portal',
    redirect_uri: PORTAL_REDIRECT,
    state: 'p',
    code_challenge: portalPkce.challenge,
    code_challenge_method: 'S256',
  })
  const stolen = await postJson(`${url}/auth/token`, { ...base, code: portalCode, code_verifier: portalPkce.verifier })
  t.equal(stolen.status, 400, "the portal's code is useless to the CLI client")
  t.match(stolen.body.message, /another client/)
  const portalRedemption = { code: portalCode, code_verifier: portalPkce.verifier, redirect_uri: PORTAL_REDIRECT, client_id: 'insighta-portal' }
  const noSecret = await postJson(`${url}/auth/token`, portalRedemption)
  t.equal(noSecret.status, 401, 'the portal client without its secret')
  const wrongSecret = await postJson(`${url}/auth/token`, { ...portalRedemption, client_secret: 'not-the-portal-secret-0123456789abcdef' })
  t.equal(wrongSecret.status, 401, 'the portal client with a wrong secret')
  const wrongBasic = await postJson(`${url}/auth/token`, { ...portalRedemption, client_id: 'insighta-portal' }, {
    authorization: `Basic ${Buffer.from('insighta-cli:x').toString('base64')}`,
  })
  t.equal(wrongBasic.status, 401, 'HTTP Basic naming another client')
  const real = await postJson(`${url}/auth/token`, { ...portalRedemption, client_secret: PORTAL_SECRET })
  t.equal(real.status, 200, "none of that burned the code: the portal's real redemption still works")
  t.match(real.body, { status: 'success', token_type: 'Bearer', access_token: String, refresh_token: String })
  const replay = await postJson(`${url}/auth/token`, { ...portalRedemption, client_secret: PORTAL_SECRET })
  t.equal(replay.status, 400, 'and the code is single use after that')
  t.equal((await api.app.inject({ method: 'GET', url: '/auth/me', headers: bearer(String(real.body.access_token)) })).statusCode, 401, 'a replayed code revokes what it issued')

  const code2 = await clientCode(cliQuery({ code_challenge: pkce.challenge }))
  const otherRedirect = await postJson(`${url}/auth/token`, { ...base, redirect_uri: 'http://127.0.0.1:9999/callback', code: code2, code_verifier: pkce.verifier })
  t.equal(otherRedirect.status, 400)
  t.match(otherRedirect.body.message, /redirect_uri/)

  const code3 = await clientCode(cliQuery({ code_challenge: pkce.challenge }))
  offset += 61 * 1000
  const expired = await postJson(`${url}/auth/token`, { ...base, code: code3, code_verifier: pkce.verifier })
  offset = 0
  t.equal(expired.status, 400, 'codes live at most 60 seconds')

  const missing = await postJson(`${url}/auth/token`, { client_id: 'insighta-cli' })
  t.equal(missing.status, 400)
  t.same(missing.body, { status: 'error', message: 'Missing or empty code' })
  const wrongType = await postJson(`${url}/auth/token`, { code: 5, code_verifier: 'x', redirect_uri: 'x', client_id: 'insighta-cli' })
  t.equal(wrongType.status, 422)

  const live = await api.db.db
    .selectFrom('sessions')
    .select(['id', 'revoked_reason'])
    .where('client_id', 'in', ['insighta-cli', 'insighta-portal'])
    .execute()
  t.ok(live.length >= 4)
  const unredeemed = live.filter((s) => s.revoked_reason === null)
  t.equal(live.filter((s) => s.revoked_reason === 'code_rejected').length, 3, 'every session behind a rejected code was revoked')
  t.equal(live.filter((s) => s.revoked_reason === 'code_replay').length, 1, "the portal's, on the replay only")
  t.equal(unredeemed.length, live.length - 4)
})

t.test('GitHub says no or breaks', async (t) => {
  const denied = await authorize(cliQuery())
  const deniedBack = new URL(await github.deny(denied.location ?? ''))
  const toClient = await fetch(`${url}${deniedBack.pathname}${deniedBack.search}`, { redirect: 'manual' })
  t.equal(toClient.status, 302)
  const location = new URL(toClient.headers.get('location') ?? '')
  t.equal(location.searchParams.get('error'), 'access_denied')
  t.equal(location.searchParams.get('state'), 'client-state')

  const plain = await authorize({})
  const plainBack = new URL(await github.approve(plain.location ?? '', 'octo-analyst'))
  github.failNextTokenExchange('error')
  const rejected = await fetch(`${url}${plainBack.pathname}${plainBack.search}`, { headers: { cookie: plain.cookie } })
  t.equal(rejected.status, 401)
  t.match(rejected.headers.get('www-authenticate'), /^Bearer realm="insighta"/)

  for (const fault of ['500', 'html'] as const) {
    const again = await authorize({})
    const back = new URL(await github.approve(again.location ?? '', 'octo-analyst'))
    github.failNextTokenExchange(fault)
    const broken = await fetch(`${url}${back.pathname}${back.search}`, { headers: { cookie: again.cookie } })
    t.equal(broken.status, 502, `GitHub ${fault}`)
    t.same(await broken.json(), { status: 'error', message: 'GitHub returned an invalid response' })
  }
})

t.test('tokens of one kind are refused as the other', async (t) => {
  const u = await api.user('analyst')
  const pair = await u.newSessionTokens()
  const refreshAsAccess = await fetch(`${url}/auth/me`, { headers: bearer(pair.refreshToken) })
  t.equal(refreshAsAccess.status, 401)
  t.equal(refreshAsAccess.headers.get('www-authenticate'), 'Bearer realm="insighta", error="invalid_token"')
  const accessAsRefresh = await postJson(`${url}/auth/refresh`, { refresh_token: pair.accessToken })
  t.equal(accessAsRefresh.status, 401)
  const stillFine = await postJson(`${url}/auth/refresh`, { refresh_token: pair.refreshToken })
  t.equal(stillFine.status, 200, 'the failed attempts did not disturb the real token')
})

t.test('GitHub login not configured: 503, still validating the client first', async (t) => {
  const bare = await buildTestApi(t, { db: api.db, env: { PORTAL_CLIENT_SECRET: PORTAL_SECRET } })
  const res = await bare.app.inject({ method: 'GET', url: '/auth/github' })
  t.equal(res.statusCode, 503)
  const bad = await bare.app.inject({ method: 'GET', url: '/auth/github?client_id=insighta-cli&redirect_uri=http://localhost:1/callback' })
  t.equal(bad.statusCode, 400)
  const noPortal = await buildTestApi(t, { db: api.db, env: githubEnv(github, { PORTAL_CLIENT_SECRET: '' }) })
  const portal = await noPortal.app.inject({
    method: 'GET',
    url: `/auth/github?${new URLSearchParams({ ...cliQuery(), client_id: 'insighta-portal', redirect_uri: PORTAL_REDIRECT })}`,
  })
  t.equal(portal.statusCode, 400, 'a portal without a configured secret is not a client')
})
