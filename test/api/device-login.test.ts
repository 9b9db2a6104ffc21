/**
 * Device login (RFC 8628) over real HTTP on loopback: the CLI's side (device code, polling
 * POST /auth/token) and the portal's side (lookup, approve, deny, called server to server with the
 * signed-in user's access token), on an injected clock.
 */
import { PassThrough } from 'node:stream'
import t from 'tap'
import { buildApiApp } from '../../api/app.ts'
import { loadApiConfig } from '../../api/config.ts'
import { listAuditEvents } from '../../db/repositories/audit.ts'
import { buildTestApi, TEST_ENV } from '../helpers/api.ts'
import { bearer, createTestUser, listen, PORTAL_SECRET, postJson } from '../helpers/auth.ts'

let now = Date.parse('2026-12-02T06:00:00Z')
/** Added to `now` on every read of the clock (0: time stands still unless a test moves it). */
let tick = 0
const clock = () => (now += tick)
const VERIFICATION_URI = 'http://localhost:3001/device'
const api = await buildTestApi(t, {
  clock,
  env: {
    DEVICE_VERIFICATION_URI: VERIFICATION_URI,
    DEVICE_CODE_MAX_FAILURES: '3',
    DEVICE_CODE_FAILURE_WINDOW_SECONDS: '600',
    PORTAL_CLIENT_SECRET: PORTAL_SECRET,
  },
})
const base = await listen(api.app)
const GRANT = 'urn:ietf:params:oauth:grant-type:device_code'
const CLI_AGENT = 'insighta-cli/1.0 (device test)'
const USER_CODE = /^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/

interface DeviceCode {
  device_code: string
  user_code: string
  verification_uri: string
  verification_uri_complete: string
  expires_in: number
  interval: number
}

async function deviceCode(): Promise<DeviceCode> {
  const res = await fetch(`${base}/auth/device/code`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'user-agent': CLI_AGENT },
    body: 'client_id=insighta-cli',
  })
  if (res.status !== 200) throw new Error(`device code: ${res.status} ${await res.text()}`)
  return (await res.json()) as DeviceCode
}

function poll(code: string, clientId = 'insighta-cli') {
  return postJson(`${base}/auth/token`, { grant_type: GRANT, device_code: code, client_id: clientId }, { 'user-agent': CLI_AGENT })
}

/** The portal's server-to-server call on behalf of a signed-in user at `endUserIp`. */
function portalHeaders(accessToken: string, endUserIp = '198.51.100.7'): Record<string, string> {
  return { ...bearer(accessToken), 'x-portal-client-secret': PORTAL_SECRET, 'x-insighta-end-user-ip': endUserIp }
}

async function portalCall(method: 'GET' | 'POST', path: string, accessToken: string, body?: unknown, endUserIp?: string) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { ...portalHeaders(accessToken, endUserIp), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  const text = await res.text()
  return { status: res.status, headers: res.headers, body: (text ? JSON.parse(text) : {}) as Record<string, unknown> }
}

t.test('the whole flow: code, pending, slow_down, portal lookup and approval, tokens once, a listed session', async (t) => {
  const alice = await createTestUser(api.app, 'analyst')
  const started = await deviceCode()
  t.same(Object.keys(started).sort(), ['device_code', 'expires_in', 'interval', 'status', 'user_code', 'verification_uri', 'verification_uri_complete'])
  t.match(started.user_code, USER_CODE, 'WDJB-MJHT style')
  t.equal(started.verification_uri, VERIFICATION_URI)
  t.equal(started.verification_uri_complete, `${VERIFICATION_URI}?user_code=${started.user_code}`)
  t.equal(started.expires_in, 600)
  t.equal(started.interval, 10)
  t.ok(started.device_code.length >= 43, 'a 256-bit device code')

  const first = await poll(started.device_code)
  t.equal(first.status, 400)
  t.match(first.body, { status: 'error', error: 'authorization_pending', message: String, error_description: String })
  t.equal(first.headers.get('cache-control'), 'no-store')

  now += 3000
  const fast = await poll(started.device_code)
  t.match(fast.body, { error: 'slow_down', message: /15 seconds/ }, 'polled within the interval: +5 s')
  now += 12_000
  t.match((await poll(started.device_code)).body, { error: 'slow_down', message: /20 seconds/ }, 'still inside the grown interval')
  now += 20_000
  t.match((await poll(started.device_code)).body, { error: 'authorization_pending' }, 'waiting the interval is fine')

  // The portal: the user typed the code in lower case without the dash.
  const typed = started.user_code.replace('-', '').toLowerCase()
  const lookup = await portalCall('GET', `/auth/device/lookup?user_code=${typed}`, await alice.accessToken())
  t.equal(lookup.status, 200)
  t.match(lookup.body.data, { user_code: started.user_code, client_id: 'insighta-cli', client_name: 'Insighta CLI', ip: '127.0.0.1', user_agent: CLI_AGENT, created_at: /Z$/, expires_at: /Z$/ })

  const approved = await portalCall('POST', '/auth/device/approve', await alice.accessToken(), { user_code: ` ${started.user_code.toLowerCase()} ` })
  t.equal(approved.status, 200)
  t.match(approved.body, { status: 'success', message: /approved/, data: { user_code: started.user_code } })
  t.equal((await portalCall('POST', '/auth/device/approve', await alice.accessToken(), { user_code: started.user_code })).status, 404, 'decided once')

  now += 20_000
  const tokens = await poll(started.device_code)
  t.equal(tokens.status, 200)
  t.match(tokens.body, { status: 'success', access_token: String, refresh_token: String, token_type: 'Bearer', expires_in: 180, user: { id: alice.row.id, role: 'analyst' } })
  t.equal(tokens.headers.get('cache-control'), 'no-store')
  const access = String(tokens.body.access_token)
  const me = await fetch(`${base}/auth/me`, { headers: bearer(access) })
  t.equal(me.status, 200)
  t.equal(((await me.json()) as { data: { id: string } }).data.id, alice.row.id)

  const sessions = await fetch(`${base}/api/sessions`, { headers: bearer(access) })
  const listed = ((await sessions.json()) as { data: { client_id: string; user_agent: string; ip: string; current: boolean }[] }).data
  t.match(listed.find((s) => s.current), { client_id: 'insighta-cli', user_agent: CLI_AGENT, ip: '127.0.0.1' }, 'the device’s session, listed')

  const refreshed = await postJson(`${base}/auth/refresh`, { refresh_token: tokens.body.refresh_token })
  t.equal(refreshed.status, 200, 'a session like any login: it refreshes')
  const newAccess = String(refreshed.body.access_token)

  const again = await poll(started.device_code)
  t.match(again.body, { error: 'invalid_grant' }, 'tokens come once')
  t.equal((await fetch(`${base}/auth/me`, { headers: bearer(newAccess) })).status, 401, 'a replayed device code ends the session it issued')

  const events = (await listAuditEvents(api.db.db, { subjectId: alice.row.id })).map((e) => e.event)
  for (const event of ['device.approve', 'login.success', 'device.replay']) t.ok(events.includes(event), event)
})

t.test('the session’s last use and its first refresh token’s idle end are one instant, even when the clock moves between reads', async (t) => {
  const bob = await createTestUser(api.app, 'analyst')
  const started = await deviceCode()
  t.equal((await portalCall('POST', '/auth/device/approve', await bob.accessToken(), { user_code: started.user_code })).status, 200)
  now += 20_000
  tick = 1000 // every read of the clock is a new second while the tokens are redeemed
  const tokens = await poll(started.device_code)
  tick = 0
  t.equal(tokens.status, 200)
  const sessions = await fetch(`${base}/api/sessions`, { headers: bearer(String(tokens.body.access_token)) })
  const current = ((await sessions.json()) as { data: { current: boolean; last_used_at: string; idle_expires_at: string; expires_at: string }[] }).data.find(
    (s) => s.current,
  )
  t.ok(current, 'the device’s session, listed')
  const idle = Date.parse(current!.idle_expires_at) - Date.parse(current!.last_used_at)
  t.equal(idle, api.config.auth.refreshTokenIdleSeconds * 1000, 'idle end = last use + the idle lifetime')
})

t.test('the session is labelled by the CLI that redeems it, never by the browser that approved it', async (t) => {
  const erin = await createTestUser(api.app, 'analyst')
  const browser = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36'
  const redeemer = 'insighta/0.1.0 (build-box; linux)'
  const started = await deviceCode()
  const approved = await fetch(`${base}/auth/device/approve`, {
    method: 'POST',
    headers: { ...portalHeaders(await erin.accessToken()), 'content-type': 'application/json', 'user-agent': browser },
    body: JSON.stringify({ user_code: started.user_code }),
  })
  t.equal(approved.status, 200)
  now += 20_000
  const tokens = await postJson(`${base}/auth/token`, { grant_type: GRANT, device_code: started.device_code, client_id: 'insighta-cli' }, { 'user-agent': redeemer })
  t.equal(tokens.status, 200)
  const listed = await api.app.inject({ method: 'GET', url: '/api/sessions', headers: bearer(String(tokens.body.access_token)) })
  const mine = (listed.json().data as { client_id: string; user_agent: string; ip: string; current: boolean }[]).find((s) => s.current)
  t.match(mine, { client_id: 'insighta-cli', user_agent: redeemer, ip: '127.0.0.1' }, 'the redeeming request’s user agent and address')
  t.not(mine?.user_agent, browser, 'not the approving browser’s')
})

t.test('a JSON body works too; a revoked pending session yields access_denied', async (t) => {
  const res = await postJson(`${base}/auth/device/code`, { client_id: 'insighta-cli' })
  t.equal(res.status, 200)
  t.match(res.body.user_code, USER_CODE)
  const bob = await createTestUser(api.app, 'analyst')
  t.equal((await portalCall('POST', '/auth/device/approve', await bob.accessToken(), { user_code: res.body.user_code })).status, 200)
  const listed = await api.app.inject({ method: 'GET', url: '/api/sessions', headers: bearer(await bob.accessToken()) })
  const pending = (listed.json().data as { id: string; client_id: string }[]).find((s) => s.client_id === 'insighta-cli')
  t.ok(pending, 'the approved device shows in the session list at once')
  await api.app.inject({ method: 'DELETE', url: `/api/sessions/${pending?.id}`, headers: bearer(await bob.accessToken()) })
  t.match((await poll(String(res.body.device_code))).body, { error: 'access_denied' }, 'revoked before redemption')
})

t.test('denial: access_denied, and the code cannot be approved afterwards', async (t) => {
  const carol = await createTestUser(api.app, 'admin')
  const started = await deviceCode()
  const denied = await portalCall('POST', '/auth/device/deny', await carol.accessToken(), { user_code: started.user_code })
  t.equal(denied.status, 200)
  t.match(denied.body, { status: 'success', message: 'Device denied' })
  t.match((await poll(started.device_code)).body, { status: 'error', error: 'access_denied' })
  t.equal((await portalCall('POST', '/auth/device/approve', await carol.accessToken(), { user_code: started.user_code })).status, 404)
  t.match((await poll(started.device_code)).body, { error: 'access_denied' }, 'stays denied')
  const events = await listAuditEvents(api.db.db, { subjectId: carol.row.id, event: 'device.deny' })
  t.equal(events.length, 1)
})

t.test('expiry on the injected clock: expired_token, and the code is no longer found', async (t) => {
  const dave = await createTestUser(api.app, 'analyst')
  const started = await deviceCode()
  now += 600_000
  t.match((await poll(started.device_code)).body, { error: 'expired_token' })
  const lookup = await portalCall('GET', `/auth/device/lookup?user_code=${started.user_code}`, await dave.accessToken())
  t.equal(lookup.status, 404)
  t.same(lookup.body, { status: 'error', message: 'Invalid or expired code' })

  // Approved but not redeemed in time: the device code expired with it.
  const late = await deviceCode()
  t.equal((await portalCall('POST', '/auth/device/approve', await dave.accessToken(), { user_code: late.user_code }, '198.51.100.70')).status, 200)
  now += 601_000
  t.match((await poll(late.device_code)).body, { error: 'expired_token' })
})

t.test('bad input: the RFC error shapes and the contract envelope', async (t) => {
  const none = await postJson(`${base}/auth/device/code`, {})
  t.equal(none.status, 400)
  t.match(none.body, { status: 'error', error: 'invalid_request', message: /client_id/ })
  const empty = await fetch(`${base}/auth/device/code`, { method: 'POST' })
  t.equal(empty.status, 400, 'no body at all')
  t.match((await postJson(`${base}/auth/device/code`, { client_id: 'insighta-portal' })).body, { error: 'invalid_client' })
  const control = await postJson(`${base}/auth/device/code`, { client_id: 'evil\u0000' })
  t.equal(control.status, 422, 'control characters are refused by schema, like every text input')
  t.match(control.body, { status: 'error', message: /control characters/ })
  t.equal((await postJson(`${base}/auth/device/code`, { client_id: 7 })).status, 422)

  t.match((await postJson(`${base}/auth/token`, { grant_type: GRANT, client_id: 'insighta-cli' })).body, { error: 'invalid_request', message: /device_code/ })
  t.match((await postJson(`${base}/auth/token`, { grant_type: GRANT, device_code: 'x' })).body, { error: 'invalid_request', message: /client_id/ })
  t.match((await poll('not-a-device-code')).body, { status: 'error', error: 'invalid_grant' })
  t.match((await poll('x'.repeat(5000))).body, { error: 'invalid_grant' }, 'oversized')
  const started = await deviceCode()
  t.match((await poll(started.device_code, 'insighta-portal')).body, { error: 'invalid_client' })
  t.equal((await postJson(`${base}/auth/token`, { grant_type: GRANT, device_code: 5, client_id: 'insighta-cli' })).status, 422)

  const erin = await createTestUser(api.app, 'analyst')
  const token = await erin.accessToken()
  t.same((await portalCall('GET', '/auth/device/lookup', token, undefined, '203.0.113.99')).body, { status: 'error', message: 'Missing or empty user_code' })
  t.equal((await portalCall('POST', '/auth/device/approve', token, {}, '203.0.113.99')).status, 400)
  t.equal((await portalCall('POST', '/auth/device/approve', token, { user_code: 12345678 }, '203.0.113.99')).status, 422)
  const anonymous = await fetch(`${base}/auth/device/lookup?user_code=${started.user_code}`)
  t.equal(anonymous.status, 401)
  t.match(anonymous.headers.get('www-authenticate'), /^Bearer realm="insighta"/)
  const expired = await erin.accessToken()
  now += 200_000
  const stale = await fetch(`${base}/auth/device/approve`, {
    method: 'POST',
    headers: { ...bearer(expired), 'content-type': 'application/json' },
    body: JSON.stringify({ user_code: started.user_code }),
  })
  t.equal(stale.status, 401, 'an expired access token cannot approve')
})

t.test('a personal access token cannot look up, approve or deny', async (t) => {
  const frank = await createTestUser(api.app, 'admin')
  const created = await api.app.inject({
    method: 'POST',
    url: '/api/users/me/tokens',
    headers: bearer(await frank.accessToken()),
    payload: { name: 'ci', scopes: ['read', 'admin'] },
  })
  t.equal(created.statusCode, 201)
  const pat = String(created.json().token)
  const started = await deviceCode()
  for (const [method, path, body] of [
    ['GET', `/auth/device/lookup?user_code=${started.user_code}`, undefined],
    ['POST', '/auth/device/approve', { user_code: started.user_code }],
    ['POST', '/auth/device/deny', { user_code: started.user_code }],
  ] as const) {
    const res = await portalCall(method, path, pat, body, '203.0.113.5')
    t.equal(res.status, 403, `${method} ${path}`)
    t.match(res.body, { status: 'error', message: /personal access token/ })
  }
  t.match((await poll(started.device_code)).body, { error: 'authorization_pending' }, 'nothing was decided')
})

t.test('brute force of user codes: limited per user and per address, the right code included, until the window passes', async (t) => {
  const mallory = await createTestUser(api.app, 'analyst')
  const trent = await createTestUser(api.app, 'analyst')
  const started = await deviceCode()
  const guess = async (user: typeof mallory, code: string, ip: string) =>
    portalCall('POST', '/auth/device/approve', await user.accessToken(), { user_code: code }, ip)
  t.equal((await guess(mallory, 'x\u0000y', '192.0.2.1')).status, 422, 'a control character is refused by schema')
  for (const code of ['BBBB-BBBB', 'aaaa-aaaa', 'CCCC-DDDD']) t.equal((await guess(mallory, code, '192.0.2.1')).status, 404, code)
  const blocked = await guess(mallory, started.user_code, '192.0.2.1')
  t.equal(blocked.status, 429, 'the right code too, once the budget is spent')
  t.ok(Number(blocked.headers.get('retry-after')) > 0)
  t.match(blocked.body, { status: 'error', message: /Too many/ })
  t.equal((await guess(mallory, started.user_code, '192.0.2.2')).status, 429, 'per user: another address does not help')
  t.equal((await guess(trent, started.user_code, '192.0.2.1')).status, 429, 'per address: another user does not help')
  const lookupBlocked = await portalCall('GET', `/auth/device/lookup?user_code=${started.user_code}`, await mallory.accessToken(), undefined, '192.0.2.3')
  t.equal(lookupBlocked.status, 429, 'lookup shares the budget')
  t.match((await poll(started.device_code)).body, { error: 'authorization_pending' }, 'nothing approved')
  now += 601_000
  const fresh = await deviceCode()
  t.equal((await guess(mallory, fresh.user_code, '192.0.2.1')).status, 200, 'after the window')
})

t.test('two racing polls after approval: exactly one gets tokens', async (t) => {
  const grace = await createTestUser(api.app, 'analyst')
  const started = await deviceCode()
  t.equal((await portalCall('POST', '/auth/device/approve', await grace.accessToken(), { user_code: started.user_code }, '198.51.100.9')).status, 200)
  const answers = await Promise.all([poll(started.device_code), poll(started.device_code), poll(started.device_code)])
  t.same(answers.map((a) => a.status).sort(), [200, 400, 400])
  t.same(answers.filter((a) => a.status === 400).map((a) => a.body.error), ['invalid_grant', 'invalid_grant'])
})

t.test('secrets never reach the log: device and user codes, PATs, tokens (captured log stream, trace level)', async (t) => {
  const stream = new PassThrough()
  const chunks: string[] = []
  stream.on('data', (chunk: Buffer) => chunks.push(chunk.toString()))
  const config = loadApiConfig({ ...TEST_ENV, LOG_LEVEL: 'trace', PORTAL_CLIENT_SECRET: PORTAL_SECRET, DEVICE_VERIFICATION_URI: VERIFICATION_URI })
  const logged = await buildApiApp({ config, db: api.db, logStream: stream, clock })
  t.teardown(() => logged.close())
  const url = await listen(logged)
  const user = await createTestUser(logged, 'admin')

  const codeRes = await fetch(`${url}/auth/device/code`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'client_id=insighta-cli' })
  const started = (await codeRes.json()) as DeviceCode
  const grant = { grant_type: GRANT, device_code: started.device_code, client_id: 'insighta-cli' }
  await postJson(`${url}/auth/token`, grant)
  await fetch(`${url}/auth/token?device_code=${started.device_code}`, { method: 'POST' })
  const headers = { ...bearer(await user.accessToken()), 'x-portal-client-secret': PORTAL_SECRET, 'x-insighta-end-user-ip': '198.51.100.200' }
  for (const typed of [started.user_code, started.user_code.replace('-', '').toLowerCase()]) {
    t.equal((await fetch(`${url}/auth/device/lookup?user_code=${encodeURIComponent(typed)}`, { headers })).status, 200)
  }
  await fetch(`${url}/auth/device/lookup?user_code=WRONGCODE1`, { headers })
  t.equal((await postJson(`${url}/auth/device/approve`, { user_code: started.user_code }, headers)).status, 200)
  now += 60_000
  const tokens = await postJson(`${url}/auth/token`, grant)
  t.equal(tokens.status, 200)
  const refreshed = await postJson(`${url}/auth/refresh`, { refresh_token: tokens.body.refresh_token })
  t.equal(refreshed.status, 200)

  const created = await postJson(`${url}/api/users/me/tokens`, { name: 'log test', scopes: ['admin'] }, bearer(String(refreshed.body.access_token)))
  t.equal(created.status, 201)
  const pat = String(created.body.token)
  t.equal((await fetch(`${url}/api/users/me`, { headers: bearer(pat) })).status, 200)
  t.equal((await fetch(`${url}/api/users/me?token=${pat}`)).status, 401)
  t.equal((await fetch(`${url}/api/users/me`, { headers: bearer(`${pat}x`) })).status, 401)
  t.equal((await postJson(`${url}/auth/refresh`, { refresh_token: pat })).status, 401)
  await new Promise((resolve) => setTimeout(resolve, 50))

  const text = chunks.join('')
  const lines = text.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as Record<string, unknown>)
  const lookups = lines.filter((l) => l.msg === 'request' && l.route === '/auth/device/lookup')
  t.equal(lookups.length, 3, 'the lookups were logged')
  t.ok(lookups.every((l) => String(l.url).includes('user_code=%5BREDACTED%5D')), 'with the code redacted from the URL')
  const secrets = {
    device_code: started.device_code,
    user_code: started.user_code,
    user_code_typed: started.user_code.replace('-', '').toLowerCase(),
    pat,
    pat_body: pat.slice('insighta_pat_'.length),
    access_token: String(tokens.body.access_token),
    refresh_token: String(tokens.body.refresh_token),
    refreshed: String(refreshed.body.refresh_token),
  }
  for (const [name, secret] of Object.entries(secrets)) t.notOk(text.toLowerCase().includes(secret.toLowerCase()), `${name} is not in the log`)
  t.ok(lines.filter((l) => l.msg === 'request').length >= 12, 'every request left its line')
})
