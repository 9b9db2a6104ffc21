/** Contract §5 rate limits: /auth/* per address and route, the rest per user, Retry-After, proxies, the portal, Redis. */
import t from 'tap'
import { addressBucket } from '../../api/plugins/address-bucket.ts'
import { buildTestApi } from '../helpers/api.ts'
import { bearer, createTestUser, PORTAL_SECRET } from '../helpers/auth.ts'
import { createTestDatabase } from '../helpers/database.ts'
import { startTestRedis } from '../helpers/redis.ts'

const LIMITS = {
  RATE_LIMIT_AUTH_PER_MINUTE: '10',
  RATE_LIMIT_API_PER_MINUTE: '60',
  // a GitHub that is never called: /auth/github only needs to build the redirect
  GITHUB_CLIENT_ID: 'gh-client',
  GITHUB_CLIENT_SECRET: 'gh-secret',
  GITHUB_OAUTH_URL: 'http://127.0.0.1:9',
  GITHUB_API_URL: 'http://127.0.0.1:9',
  PORTAL_CLIENT_SECRET: PORTAL_SECRET,
}

// One database for the file (each app keeps its own in-process counters).
const db = await createTestDatabase(t)
let offset = 0
const clock = () => Date.now() + offset

type Inject = { remoteAddress?: string; headers?: Record<string, string> }

t.test('/auth/*: 10 per minute per address and route; the 11th is a 429 with Retry-After; then it resets', async (t) => {
  const api = await buildTestApi(t, { env: LIMITS, clock, db })
  const start = (o: Inject = {}) => api.app.inject({ method: 'GET', url: '/auth/github', ...o })
  // other /auth routes from the same address do not use up /auth/github's budget
  for (let i = 0; i < 9; i++) await api.app.inject({ method: 'POST', url: '/auth/refresh', payload: { refresh_token: 'x' } })
  for (let i = 1; i <= 10; i++) t.equal((await start()).statusCode, 302, `request ${i}`)
  const limited = await start()
  t.equal(limited.statusCode, 429, 'the 11th GET /auth/github is the first 429')
  t.same(limited.json(), { status: 'error', message: 'Too many requests: rate limit exceeded, try again later' })
  t.ok(Number(limited.headers['retry-after']) >= 1 && Number(limited.headers['retry-after']) <= 60, `Retry-After ${limited.headers['retry-after']}`)
  t.equal(limited.headers['x-ratelimit-remaining'], '0')
  t.equal(limited.headers['access-control-allow-origin'], '*')

  const spoofed = await start({ headers: { 'x-forwarded-for': '198.51.100.7' } })
  t.equal(spoofed.statusCode, 429, 'a spoofed X-Forwarded-For without a trusted proxy mints no new bucket')
  const portalClaim = await start({ headers: { 'x-portal-client-secret': 'wrong', 'x-insighta-end-user-ip': '198.51.100.8' } })
  t.equal(portalClaim.statusCode, 429, 'nor does an end-user address without the portal secret')
  t.equal((await start({ remoteAddress: '192.0.2.50' })).statusCode, 302, 'another address has its own budget')
  t.equal((await api.app.inject({ method: 'POST', url: '/auth/refresh', payload: { refresh_token: 'x' } })).statusCode, 401, '10th refresh still allowed')

  offset += 61 * 1000
  t.teardown(() => {
    offset = 0
  })
  t.equal((await start()).statusCode, 302, 'the window resets')
  offset = 0
})

t.test('address buckets: IPv4 per address, IPv6 per /64, IPv4-mapped IPv6 as IPv4', async (t) => {
  const cases: [string, string][] = [
    ['192.0.2.1', '192.0.2.1'],
    ['2001:db8:1:2::1', '2001:db8:1:2::/64'],
    ['2001:0db8:0001:0002:ffff:ffff:ffff:ffff', '2001:db8:1:2::/64'],
    ['2001:DB8:1:2:3:4:5:6', '2001:db8:1:2::/64'],
    ['2001:db8::1', '2001:db8:0:0::/64'],
    ['::1', '0:0:0:0::/64'],
    ['fe80::1%eth0', 'fe80:0:0:0::/64'],
    ['::ffff:192.0.2.1', '192.0.2.1'],
    ['::ffff:c000:201', '192.0.2.1'],
    ['64:ff9b::192.0.2.1', '64:ff9b:0:0::/64'],
    ['not-an-address', 'not-an-address'],
  ]
  for (const [address, bucket] of cases) t.equal(addressBucket(address), bucket, address)
})

t.test('IPv6 clients share one budget per /64; IPv4-mapped clients count as their IPv4 address', async (t) => {
  const api = await buildTestApi(t, { env: LIMITS, db })
  const start = (remoteAddress: string) => api.app.inject({ method: 'GET', url: '/auth/github', remoteAddress })
  for (let i = 1; i <= 10; i++) t.equal((await start(`2001:db8:aa:bb::${i.toString(16)}`)).statusCode, 302)
  t.equal((await start('2001:db8:aa:bb:ffff:1:2:3')).statusCode, 429, 'another address of the same /64 is the 11th request')
  t.equal((await start('2001:db8:aa:bc::1')).statusCode, 302, 'the neighbouring /64 has its own budget')
  for (let i = 0; i < 10; i++) await start('198.51.100.20')
  t.equal((await start('::ffff:198.51.100.20')).statusCode, 429, 'IPv4-mapped is the same client as IPv4')
  t.equal((await start('198.51.100.21')).statusCode, 302, 'IPv4 stays per address')
})

t.test('behind a trusted proxy, X-Forwarded-For names the client', async (t) => {
  const api = await buildTestApi(t, { env: { ...LIMITS, TRUST_PROXY: '127.0.0.1' }, db })
  const start = (ip: string) => api.app.inject({ method: 'GET', url: '/auth/github', headers: { 'x-forwarded-for': ip } })
  for (let i = 0; i < 10; i++) await start('203.0.113.1')
  t.equal((await start('203.0.113.1')).statusCode, 429)
  t.equal((await start('203.0.113.2')).statusCode, 302)
  const untrusted = await api.app.inject({ method: 'GET', url: '/auth/github', remoteAddress: '192.0.2.9', headers: { 'x-forwarded-for': '203.0.113.3' } })
  t.equal(untrusted.statusCode, 302)
  for (let i = 0; i < 10; i++) {
    await api.app.inject({ method: 'GET', url: '/auth/github', remoteAddress: '192.0.2.9', headers: { 'x-forwarded-for': `203.0.113.${100 + i}` } })
  }
  const stillLimited = await api.app.inject({ method: 'GET', url: '/auth/github', remoteAddress: '192.0.2.9', headers: { 'x-forwarded-for': '203.0.113.200' } })
  t.equal(stillLimited.statusCode, 429, 'an untrusted peer cannot rotate X-Forwarded-For to escape')
})

t.test("the portal's server-to-server calls are counted per end user", async (t) => {
  const api = await buildTestApi(t, { env: LIMITS, db })
  const portal = (endUser: string) =>
    api.app.inject({
      method: 'POST',
      url: '/auth/refresh',
      remoteAddress: '10.1.2.3',
      headers: { 'x-portal-client-secret': PORTAL_SECRET, 'x-insighta-end-user-ip': endUser },
      payload: { refresh_token: 'x' },
    })
  for (let i = 0; i < 10; i++) t.equal((await portal('198.51.100.1')).statusCode, 401)
  t.equal((await portal('198.51.100.1')).statusCode, 429, 'one end user is limited')
  t.equal((await portal('198.51.100.2')).statusCode, 401, 'another end user behind the same portal is not')
  const viaXff = await api.app.inject({
    method: 'POST',
    url: '/auth/refresh',
    remoteAddress: '10.1.2.3',
    headers: { 'x-portal-client-secret': PORTAL_SECRET, 'x-forwarded-for': '198.51.100.3' },
    payload: { refresh_token: 'x' },
  })
  t.equal(viaXff.statusCode, 401, 'X-Forwarded-For is accepted from the authenticated portal too')
})

t.test('everything else: 60 per minute per user, per address when anonymous; probes unlimited', async (t) => {
  const api = await buildTestApi(t, { env: LIMITS, clock, db })
  const alice = await createTestUser(api.app, 'analyst')
  const bob = await createTestUser(api.app, 'analyst')
  const aliceToken = await alice.accessToken()
  for (let i = 0; i < 60; i++) {
    const res = await api.app.inject({ method: 'GET', url: '/api/users/me', headers: bearer(aliceToken) })
    if (res.statusCode !== 200) t.fail(`request ${i + 1}: ${res.statusCode}`)
  }
  const limited = await api.app.inject({ method: 'GET', url: '/api/users/me', headers: bearer(await alice.accessToken()) })
  t.equal(limited.statusCode, 429, 'the 61st request of a user, whatever the token')
  t.ok(limited.headers['retry-after'])
  t.equal((await api.app.inject({ method: 'GET', url: '/api/users/me', headers: bearer(await bob.accessToken()) })).statusCode, 200, 'another user from the same address')
  for (let i = 0; i < 60; i++) await api.app.inject({ method: 'GET', url: '/api/users/me', remoteAddress: '192.0.2.77' })
  t.equal((await api.app.inject({ method: 'GET', url: '/api/users/me', remoteAddress: '192.0.2.77' })).statusCode, 429, 'anonymous: per address')
  for (let i = 0; i < 70; i++) {
    const res = await api.app.inject({ method: 'GET', url: '/healthz', remoteAddress: '192.0.2.77' })
    if (res.statusCode !== 200) t.fail('probes are never limited')
  }
  offset += 61 * 1000
  t.equal((await api.app.inject({ method: 'GET', url: '/api/users/me', headers: bearer(await alice.accessToken()) })).statusCode, 200, 'resets')
  offset = 0
})

t.test('Redis store: shared by instances; down → /auth/* fails closed, the rest stays up', async (t) => {
  const dead = await buildTestApi(t, { env: { ...LIMITS, REDIS_URL: 'redis://127.0.0.1:9/0' }, db })
  const auth = await dead.app.inject({ method: 'GET', url: '/auth/github' })
  t.equal(auth.statusCode, 503, 'fail closed on /auth/*')
  t.equal(auth.json().status, 'error')
  t.ok(auth.headers['retry-after'])
  const me = await dead.app.inject({ method: 'GET', url: '/api/users/me', headers: await dead.headers('analyst') })
  t.equal(me.statusCode, 200, 'fail open elsewhere')

  const redis = await startTestRedis(t)
  const env = { ...LIMITS, REDIS_URL: redis.url }
  const a = await buildTestApi(t, { env, db })
  const b = await buildTestApi(t, { env, db })
  const address = `192.0.2.${Math.floor(Math.random() * 200) + 1}`
  for (let i = 0; i < 5; i++) await a.app.inject({ method: 'GET', url: '/auth/github', remoteAddress: address })
  for (let i = 0; i < 5; i++) t.equal((await b.app.inject({ method: 'GET', url: '/auth/github', remoteAddress: address })).statusCode, 302)
  const eleventh = await a.app.inject({ method: 'GET', url: '/auth/github', remoteAddress: address })
  t.equal(eleventh.statusCode, 429, 'the two instances count together')
  t.ok(Number(eleventh.headers['retry-after']) >= 1)
})
