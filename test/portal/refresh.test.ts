/**
 * Transparent refresh under the "row lock" (a lease taken by one atomic UPDATE): concurrent
 * requests in one process and in two processes present the refresh token once; a dead API session
 * ends on the login page; an unreachable API does not throw away a still-valid token.
 */
import { randomBytes } from 'node:crypto'
import t from 'tap'
import { sql } from 'kysely'
import { createTestDatabase } from '../helpers/database.ts'
import { startFakeApi } from './fake-api.ts'
import { buildFakePortal, cookieHeaderFrom, type FakePortal } from './helpers.ts'

// Real HTTP and a real database on a shared CI machine: allow more than the default 120 s.
t.setTimeout(300_000)

const db = await createTestDatabase(t)
const fake = await startFakeApi()
t.teardown(() => fake.close())
const sessionKey = randomBytes(32).toString('hex')
const clock = { now: new Date() }
const portal = await buildFakePortal(t, { db, fake, sessionKey, clock })
// A second portal process on the same database (same key, same clock), as behind a load balancer.
const sibling = await buildFakePortal(t, { db, fake, sessionKey, clock })

function expireSoon(p: FakePortal) {
  // 5 s before expiry: inside the 20 s refresh margin.
  p.clock.now = new Date(Date.now() + (fake.options.expiresIn - 5) * 1000)
}

t.afterEach(async () => {
  clock.now = new Date()
  fake.options.refreshDelayMs = 0
  fake.options.refreshFailure = undefined
})

t.test('a token about to expire is refreshed once, and the new pair is stored encrypted', async (t) => {
  const who = await portal.signIn('octo-analyst')
  fake.calls.length = 0
  t.equal((await portal.get('/profiles', who)).statusCode, 200)
  t.equal(fake.count('POST /auth/refresh'), 0, 'no refresh while the token is fresh')
  expireSoon(portal)
  t.equal((await portal.get('/profiles', who)).statusCode, 200)
  t.equal(fake.count('POST /auth/refresh'), 1)
  t.match(fake.lastHeaders.get('/api/profiles')?.authorization, /^Bearer access-\d+-/, 'the new token is used')
  t.not(fake.lastHeaders.get('/api/profiles')?.authorization, `Bearer ${who.session.cachedAccessToken()}`)
  const { rows } = await sql<{ lease: Date | null; expires: Date; r: Buffer }>`
    SELECT refresh_lease_until AS lease, access_expires_at AS expires, refresh_token_enc AS r FROM portal_sessions WHERE id = ${who.session.id}`.execute(db.db)
  t.equal(rows[0].lease, null, 'the lease is released')
  t.ok(rows[0].expires.getTime() > clock.now.getTime() + 60_000, 'the new expiry is stored')
  t.notMatch(rows[0].r.toString('latin1'), /refresh-/, 'still encrypted')
  t.equal((await portal.get('/profiles', who)).statusCode, 200)
  t.equal(fake.count('POST /auth/refresh'), 1, 'the stored token is used afterwards')
})

t.test('parallel requests in one process share one refresh', async (t) => {
  const who = await portal.signIn('octo-analyst')
  fake.calls.length = 0
  fake.options.refreshDelayMs = 300
  expireSoon(portal)
  const results = await Promise.all(['/', '/profiles', '/profiles?gender=female', '/search?q=women', '/profiles/export', '/'].map((url) => portal.get(url, who)))
  t.same(results.map((r) => r.statusCode), [200, 200, 200, 200, 200, 200])
  t.equal(fake.count('POST /auth/refresh'), 1, 'one refresh for six requests (a page and a CSV download included)')
  t.equal(fake.revokedSessions.has(who.sessionId), false, 'the API saw no reuse')
})

t.test('two portal processes refreshing the same session at once: one refresh, no logout', async (t) => {
  const who = await portal.signIn('octo-analyst')
  fake.calls.length = 0
  fake.options.refreshDelayMs = 400
  expireSoon(portal)
  const results = await Promise.all([
    portal.get('/profiles', who),
    sibling.get('/profiles', who),
    sibling.get('/', who),
    portal.get('/search?q=men', who),
  ])
  t.same(results.map((r) => r.statusCode), [200, 200, 200, 200])
  t.equal(fake.count('POST /auth/refresh'), 1, 'the lease let exactly one process refresh')
  t.equal(fake.revokedSessions.has(who.sessionId), false)
})

t.test('an abandoned lease (a crashed process) is taken over once it lapses', async (t) => {
  const who = await portal.signIn('octo-analyst')
  await sql`UPDATE portal_sessions SET refresh_lease_until = now() - interval '1 second' WHERE id = ${who.session.id}`.execute(db.db)
  fake.calls.length = 0
  expireSoon(portal)
  t.equal((await portal.get('/profiles', who)).statusCode, 200)
  t.equal(fake.count('POST /auth/refresh'), 1)
})

t.test('while another holder refreshes, a waiter keeps using a token that has not yet expired', async (t) => {
  const who = await portal.signIn('octo-analyst')
  await sql`UPDATE portal_sessions SET refresh_lease_until = now() + interval '30 seconds' WHERE id = ${who.session.id}`.execute(db.db)
  fake.calls.length = 0
  expireSoon(portal)
  const started = Date.now()
  t.equal((await portal.get('/profiles', who)).statusCode, 200)
  t.ok(Date.now() - started >= 4000, 'it waited for the holder first')
  t.equal(fake.count('POST /auth/refresh'), 0)
})

t.test('a dead API session sends the visitor to the login page with a message', async (t) => {
  const who = await portal.signIn('octo-analyst')
  fake.revokedSessions.add(who.sessionId)
  expireSoon(portal)
  const res = await portal.get('/profiles?gender=male', who)
  t.equal(res.statusCode, 303)
  t.equal(res.headers.location, '/login?next=%2Fprofiles%3Fgender%3Dmale')
  const login = await portal.get(String(res.headers.location), undefined, { cookie: cookieHeaderFrom(res, who) })
  t.equal(login.statusCode, 200)
  t.match(login.body, /Your session has ended. Please sign in again./)
  const { rows } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM portal_sessions WHERE id = ${who.session.id}`.execute(db.db)
  t.equal(rows[0].n, 0, 'the portal session is gone')
})

t.test('a refresh token that lapsed while the visitor was away: "signed out after N minutes without activity", then back to the same page and filters', async (t) => {
  const who = await portal.signIn('octo-analyst')
  fake.options.refreshFailure = 401
  fake.options.refreshFailureMessage = 'Refresh token expired; log in again'
  t.teardown(() => {
    fake.options.refreshFailureMessage = undefined
  })
  clock.now = new Date(clock.now.getTime() + 12 * 60_000)
  const res = await portal.get('/profiles?gender=female&country_id=NG&sort_by=age&page=2', who)
  t.equal(res.statusCode, 303)
  const location = String(res.headers.location)
  t.equal(location, `/login?next=${encodeURIComponent('/profiles?gender=female&country_id=NG&sort_by=age&page=2')}`)
  const login = await portal.get(location, undefined, { cookie: cookieHeaderFrom(res, who) })
  t.equal(login.statusCode, 200)
  t.match(login.body, /You were signed out after 12 minutes without activity\./, 'says why, and how long')
  t.notMatch(login.body, /Your session has ended/)
  t.match(login.body, /<input type="hidden" name="next" value="\/profiles\?gender=female&amp;country_id=NG&amp;sort_by=age&amp;page=2">/, 'the sign-in form carries the page to return to')
  const start = await portal.post('/auth/login', { next: '/profiles?gender=female&country_id=NG&sort_by=age&page=2' })
  const attemptCookie = String(start.headers['set-cookie']).split(';')[0].split('=').slice(1).join('=')
  const attempt = portal.app.portal.box.openJson('login-attempt', attemptCookie) as { next: string }
  t.equal(attempt.next, '/profiles?gender=female&country_id=NG&sort_by=age&page=2', 'after signing in, back to that page')

  // a form post that finds the session gone returns to the page the form was on (same origin only)
  const again = await portal.signIn('octo-analyst')
  clock.now = new Date(clock.now.getTime() + 12 * 60_000)
  const posted = await portal.post('/account/sessions/abc/revoke', {}, again, { headers: { referer: 'http://localhost:3001/profiles?country_id=KE' } })
  t.equal(posted.statusCode, 303)
  t.equal(posted.headers.location, `/login?next=${encodeURIComponent('/profiles?country_id=KE')}`)
  const third = await portal.signIn('octo-analyst')
  clock.now = new Date(clock.now.getTime() + 12 * 60_000)
  const foreign = await portal.post('/account/sessions/abc/revoke', {}, third, { headers: { referer: 'https://evil.example/profiles' } })
  t.equal(foreign.headers.location, '/login', 'another site as referrer: no return path')
  for (const next of ['//evil.example/x', 'https://evil.example', '/\\evil.example', '/login?next=/x']) {
    const page = await portal.get(`/login?next=${encodeURIComponent(next)}`)
    t.match(page.body, /<input type="hidden" name="next" value="\/">/, `no open redirect: ${next}`)
  }
})

t.test('an access token the API refuses early (revoked, clock skew) is refreshed and the call retried', async (t) => {
  const who = await portal.signIn('octo-analyst')
  fake.calls.length = 0
  const token = who.session.cachedAccessToken()
  if (token) fake.accessTokens.delete(token)
  const res = await portal.get('/profiles', who)
  t.equal(res.statusCode, 200)
  t.equal(fake.count('POST /auth/refresh'), 1)
  t.equal(fake.count('GET /api/profiles'), 2, 'refused once, then retried with the new token')
})

t.test('sign-out elsewhere: the next page view goes to the login page', async (t) => {
  const who = await portal.signIn('octo-analyst')
  fake.revokedSessions.add(who.sessionId)
  const res = await portal.get('/', who)
  t.equal(res.statusCode, 303)
  t.match(res.headers.location, /^\/login/)
})

t.test('a suspended account is told so', async (t) => {
  const who = await portal.signIn('octo-analyst')
  fake.options.refreshFailure = 403
  expireSoon(portal)
  const res = await portal.get('/', who)
  t.equal(res.statusCode, 303)
  const login = await portal.get('/login', undefined, { cookie: cookieHeaderFrom(res, who) })
  t.match(login.body, /suspended/)
})

t.test('the API unreachable during a refresh: a still-valid token keeps working; an expired one is a 503 page', async (t) => {
  const who = await portal.signIn('octo-analyst')
  fake.options.refreshFailure = 503
  expireSoon(portal)
  t.equal((await portal.get('/profiles', who)).statusCode, 200, 'served with the old token')
  const { rows } = await sql<{ lease: Date | null }>`SELECT refresh_lease_until AS lease FROM portal_sessions WHERE id = ${who.session.id}`.execute(db.db)
  t.equal(rows[0].lease, null, 'lease released for the next try')
  clock.now = new Date(Date.now() + (fake.options.expiresIn + 60) * 1000)
  const expired = await portal.get('/profiles', who)
  t.equal(expired.statusCode, 503, 'the API answered 503: the page says the data service is unavailable')
  t.equal(expired.headers['retry-after'], '30', 'with Retry-After, as the API does')
  t.match(expired.body, /data service is unavailable/)
  fake.options.refreshFailure = undefined
  t.equal((await portal.get('/profiles', who)).statusCode, 200, 'and it recovers with the same session')
})

t.test('an API that cannot be reached at all is a 503 page, not a crash', async (t) => {
  const down = await startFakeApi()
  const p = await buildFakePortal(t, { fake: down })
  const who = await p.signIn('octo-analyst')
  await down.close()
  const res = await p.get('/profiles', who)
  t.equal(res.statusCode, 503)
  t.match(res.body, /cannot be reached/)
  t.match(res.body, /class="site-header"/)
})

t.test('a portal restarted with another key cannot read old sessions: sign in again', async (t) => {
  const who = await portal.signIn('octo-analyst')
  const rekeyed = await buildFakePortal(t, { db, fake, clock })
  const res = await rekeyed.get('/profiles', who)
  t.equal(res.statusCode, 303)
  t.match(res.headers.location, /^\/login/)
})

t.test('idle sessions expire; activity slides the expiry up to the absolute limit', async (t) => {
  const p = await buildFakePortal(t, { db, fake, env: { PORTAL_SESSION_IDLE_MINUTES: '30', PORTAL_SESSION_ABSOLUTE_HOURS: '1' } })
  const who = await p.signIn('octo-analyst')
  p.clock.now = new Date(Date.now() + 20 * 60_000)
  t.equal((await p.get('/', who)).statusCode, 200, 'after 20 idle minutes')
  p.clock.now = new Date(Date.now() + 45 * 60_000)
  t.equal((await p.get('/', who)).statusCode, 200, '25 minutes after the last visit: slid')
  p.clock.now = new Date(Date.now() + 61 * 60_000)
  t.equal((await p.get('/', who)).statusCode, 303, 'past the absolute lifetime')
})
