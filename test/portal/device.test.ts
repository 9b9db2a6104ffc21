/**
 * The portal's /device page (RFC 8628 verification, issue 14) against the scriptable fake API:
 * enter or confirm a code, see what is asking, approve or deny with CSRF; wrong, expired and
 * malformed codes, the wrong-code limit, and the way back after signing in.
 */
import t from 'tap'
import { PORTAL_CLIENT_HEADERS } from '../../contract/headers.ts'
import { buildFakePortal, cookieHeaderFrom } from './helpers.ts'
import type { FakeDevice } from './fake-api.ts'

t.setTimeout(300_000)

const portal = await buildFakePortal(t)

async function flashAfter(res: Awaited<ReturnType<typeof portal.get>>, who: { cookie: string }): Promise<string> {
  const page = await portal.get(String(res.headers.location), undefined, { cookie: cookieHeaderFrom(res, who) })
  return /<div class="flash flash--(\w+)"[^>]*>\s*<p>([^<]*)<\/p>/.exec(page.body)?.slice(1).join(': ') ?? '(no flash)'
}

function pending(code: string, overrides: Partial<FakeDevice> = {}): FakeDevice {
  const device: FakeDevice = {
    user_code: `${code.slice(0, 4)}-${code.slice(4)}`,
    client_id: 'insighta-cli',
    client_name: 'Insighta CLI',
    created_at: '2026-12-02T06:00:00Z',
    expires_at: '2026-12-02T06:10:00Z',
    ip: '203.0.113.7',
    user_agent: 'insighta-cli/1.0 <script>alert(1)</script>',
    ...overrides,
  }
  portal.fake.devices.set(code, device)
  return device
}

t.beforeEach(() => {
  portal.fake.deviceFailures = 0
})

t.test('not signed in: the login page, and back to /device?user_code=… afterwards', async (t) => {
  const res = await portal.get('/device?user_code=WDJB-MJHT')
  t.equal(res.statusCode, 303)
  const location = new URL(String(res.headers.location), 'http://x')
  t.equal(location.pathname, '/login')
  t.equal(location.searchParams.get('next'), '/device?user_code=WDJB-MJHT', 'the code survives the sign-in')
  const login = await portal.get(String(res.headers.location))
  t.match(login.body, /name="next" value="\/device\?user_code=WDJB-MJHT"/, 'the login form carries the way back')
})

t.test('without a code: a form to type it in', async (t) => {
  const who = await portal.signIn('octo-analyst')
  const res = await portal.get('/device', who)
  t.equal(res.statusCode, 200)
  t.match(res.body, /<form method="get" action="\/device"/)
  t.match(res.body, /id="user_code" name="user_code" type="text" value=""/)
  t.equal(portal.fake.count('GET /auth/device/lookup'), 0, 'nothing asked of the API')
})

t.test('a prefilled code: what is asking, escaped, and approve / deny forms with CSRF', async (t) => {
  pending('BCDFGHJK')
  const who = await portal.signIn('octo-analyst')
  const res = await portal.get('/device?user_code=bcdf+ghjk', who)
  t.equal(res.statusCode, 200)
  t.match(portal.fake.lastUrls.get('/auth/device/lookup'), /user_code=BCDFGHJK$/, 'looked up in canonical form')
  t.match(res.body, /Sign in Insighta CLI as octo-analyst\?/)
  t.match(res.body, /id="device-code">BCDF-GHJK</)
  t.match(res.body, /203\.0\.113\.7/)
  t.match(res.body, /insighta-cli\/1\.0 &lt;script&gt;alert\(1\)&lt;\/script&gt;/, 'the user agent is escaped')
  t.notMatch(res.body, /<script>alert/)
  for (const action of ['approve', 'deny']) {
    t.match(res.body, new RegExp(`action="/device/${action}"[^>]*>\\s*<input type="hidden" name="_csrf" value="${who.csrf}">\\s*<input type="hidden" name="user_code" value="BCDF-GHJK">`))
  }
})

t.test('approve: POST → redirect → flash, sent to the API with the user token', async (t) => {
  const device = pending('LMNPQRST')
  const who = await portal.signIn('octo-analyst')
  const res = await portal.post('/device/approve', { user_code: 'LMNP-QRST' }, who)
  t.equal(res.statusCode, 303)
  t.equal(res.headers.location, '/device')
  t.match(await flashAfter(res, who), /success: Device approved \(code LMNP-QRST\)/)
  t.equal(device.decision, 'approve')
  t.equal(device.decidedBy, who.user.id)
  t.match(portal.fake.lastHeaders.get('/auth/device/approve')?.authorization, /^Bearer access-/)
  t.equal(portal.fake.lastHeaders.get('/auth/device/approve')?.[PORTAL_CLIENT_HEADERS.endUserIp], '127.0.0.1', 'the end user’s address goes along')
  const again = await portal.post('/device/approve', { user_code: 'LMNP-QRST' }, who)
  t.match(await flashAfter(again, who), /error: That code is not valid or has expired/, 'single use')
})

t.test('deny', async (t) => {
  const device = pending('VWXZBCDF')
  const who = await portal.signIn('octo-admin')
  const res = await portal.post('/device/deny', { user_code: 'vwxzbcdf' }, who)
  t.match(await flashAfter(res, who), /info: Device denied \(code VWXZ-BCDF\)\. It was not signed in\./)
  t.equal(device.decision, 'deny')
})

t.test('CSRF: missing, wrong or cross-site → 403 and nothing decided', async (t) => {
  const device = pending('GHJKLMNP')
  const who = await portal.signIn('octo-analyst')
  t.equal((await portal.post('/device/approve', { user_code: 'GHJK-LMNP' }, who, { csrf: null })).statusCode, 403)
  t.equal((await portal.post('/device/approve', { user_code: 'GHJK-LMNP' }, who, { csrf: 'forged' })).statusCode, 403)
  t.equal((await portal.post('/device/approve', { user_code: 'GHJK-LMNP' }, who, { headers: { origin: 'https://evil.example' } })).statusCode, 403)
  t.equal(device.decision, undefined)
})

t.test('wrong, expired, malformed and hostile codes get a clear message', async (t) => {
  const who = await portal.signIn('octo-analyst')
  const wrong = await portal.get('/device?user_code=ZZZZ-ZZZZ', who)
  t.equal(wrong.statusCode, 404)
  t.match(wrong.body, /That code is not valid or has expired/)
  t.match(wrong.body, /value="ZZZZ-ZZZZ"/, 'what was typed is kept to correct')
  for (const bad of ['1234', 'ABCD-EFGH', 'x'.repeat(64), '<script>']) {
    const res = await portal.get(`/device?user_code=${encodeURIComponent(bad)}`, who)
    t.equal(res.statusCode, 400, `malformed ${bad.slice(0, 10)}`)
    t.match(res.body, /A code is 8 letters, shown like WDJB-MJHT/)
    t.notMatch(res.body, /<script>/)
  }
  for (const hostile of ['BCDF%00GHJK', 'x'.repeat(65), 'BCDF%07GHJK']) {
    const res = await portal.get(`/device?user_code=${hostile}`, who)
    t.equal(res.statusCode, 400, 'control characters and oversized input are refused by the schema')
  }
  const empty = await portal.post('/device/approve', { user_code: '' }, who)
  t.match(await flashAfter(empty, who), /error: A code is 8 letters/)
  const nul = await portal.post('/device/approve', { user_code: 'BCDF\u0000GHJK' }, who)
  t.match(await flashAfter(nul, who), /error: A code is 8 letters/)
  t.equal((await portal.post('/device/steal', { user_code: 'BCDF-GHJK' }, who)).statusCode, 404, 'only approve and deny')
})

t.test('too many wrong codes: 429 with Retry-After, in words', async (t) => {
  portal.fake.deviceFailures = portal.fake.deviceFailureLimit
  pending('KLMNPQRS')
  const who = await portal.signIn('octo-analyst')
  const res = await portal.get('/device?user_code=KLMN-PQRS', who)
  t.equal(res.statusCode, 429)
  t.equal(res.headers['retry-after'], '60')
  t.match(res.body, /Too many wrong codes\. Try again in 60 seconds\./)
  const post = await portal.post('/device/approve', { user_code: 'KLMN-PQRS' }, who)
  t.match(await flashAfter(post, who), /error: Too many wrong codes/)
  t.equal(portal.fake.devices.get('KLMNPQRS')?.decision, undefined)
})
