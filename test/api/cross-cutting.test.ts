import { PassThrough } from 'node:stream'
import t from 'tap'
import { buildApiApp } from '../../api/app.ts'
import { loadApiConfig } from '../../api/config.ts'
import { createDb } from '../../db/index.ts'
import { authHeaders, buildTestApi, TEST_ENV } from '../helpers/api.ts'
import { createTestDatabase } from '../helpers/database.ts'
import { startTcpProxy } from '../helpers/tcp-proxy.ts'

const api = await buildTestApi(t, { seed: true })
const analyst = await api.headers('analyst')

t.test('unknown paths are JSON 404s; known paths with a wrong method are 405 with Allow', async (t) => {
  const unknown = await api.app.inject({ method: 'GET', url: '/nope' })
  t.equal(unknown.statusCode, 404)
  t.same(unknown.json(), { status: 'error', message: 'Not found' })
  t.equal(unknown.headers['access-control-allow-origin'], '*')
  const v1 = await api.app.inject({ method: 'GET', url: '/api/v1/profiles', headers: analyst })
  t.equal(v1.statusCode, 404, 'paths are unversioned')
  const cases: [string, string, string][] = [
    ['PUT', '/api/profiles', 'GET, HEAD, POST'],
    ['PATCH', '/api/profiles/0190a000-0000-7000-8000-000000000000', 'DELETE, GET, HEAD'],
    ['POST', '/api/profiles/search', 'GET, HEAD'],
    ['DELETE', '/api/profiles/export', 'GET, HEAD'],
    ['POST', '/health', 'GET, HEAD'],
  ]
  for (const [method, url, allow] of cases) {
    const res = await api.app.inject({ method: method as 'PUT', url, headers: analyst })
    t.equal(res.statusCode, 405, `${method} ${url}`)
    t.same(res.json(), { status: 'error', message: 'Method not allowed' })
    t.equal(res.headers.allow, allow)
  }
})

t.test('CORS: * on answers, errors and preflights, never credentials', async (t) => {
  const pre = await api.app.inject({
    method: 'OPTIONS',
    url: '/api/profiles',
    headers: { origin: 'https://elsewhere.example', 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization,x-api-version' },
  })
  t.equal(pre.statusCode, 204)
  t.equal(pre.headers['access-control-allow-origin'], '*')
  t.match(String(pre.headers['access-control-allow-headers']), /X-API-Version/i)
  t.notOk(pre.headers['access-control-allow-credentials'])
  const err = await api.app.inject({ method: 'GET', url: '/api/profiles', headers: { origin: 'https://x.example' } })
  t.equal(err.statusCode, 400)
  t.equal(err.headers['access-control-allow-origin'], '*')
  t.notOk(err.headers['access-control-allow-credentials'])
})

t.test('health, liveness and readiness', async (t) => {
  for (const url of ['/health', '/healthz', '/readyz']) {
    const res = await api.app.inject({ method: 'GET', url })
    t.equal(res.statusCode, 200, url)
    t.same(res.json(), { status: 'ok' })
    t.equal(res.headers['x-api-version'], '1')
  }
})

t.test('OpenAPI at /docs is generated from the route schemas', async (t) => {
  const ui = await api.app.inject({ method: 'GET', url: '/docs' })
  t.ok([200, 302].includes(ui.statusCode))
  const doc = (await api.app.inject({ method: 'GET', url: '/docs/json' })).json()
  t.equal(doc.openapi, '3.1.0')
  for (const path of ['/api/profiles', '/api/profiles/search', '/api/profiles/export', '/api/profiles/stats', '/api/profiles/{id}']) {
    t.ok(doc.paths[path], path)
  }
  const params = doc.paths['/api/profiles'].get.parameters.map((p: { name: string }) => p.name)
  t.ok(params.includes('min_gender_probability'))
})

t.test('request ids: generated, or taken from a sane X-Request-Id', async (t) => {
  const a = await api.app.inject({ method: 'GET', url: '/healthz' })
  t.match(a.headers['x-request-id'], /^[0-9a-f-]{36}$/)
  const b = await api.app.inject({ method: 'GET', url: '/healthz', headers: { 'x-request-id': 'trace-abc-12345' } })
  t.equal(b.headers['x-request-id'], 'trace-abc-12345')
  const c = await api.app.inject({ method: 'GET', url: '/healthz', headers: { 'x-request-id': 'bad id\nwith newline' } })
  t.not(c.headers['x-request-id'], 'bad id\nwith newline')
})

t.test('one structured log line per request, secrets redacted from URLs', async (t) => {
  const stream = new PassThrough()
  const lines: Record<string, unknown>[] = []
  stream.on('data', (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n')) if (line.trim()) lines.push(JSON.parse(line))
  })
  const config = loadApiConfig({ ...TEST_ENV, LOG_LEVEL: 'info' })
  const app = await buildApiApp({ config, db: api.db, logStream: stream })
  t.teardown(() => app.close())
  await app.inject({
    method: 'GET',
    url: '/api/profiles?gender=male&code=SECRETCODE&state=SECRETSTATE&refresh_token=SECRETRT',
    headers: { ...analyst, authorization: 'Bearer SECRETBEARER', cookie: 'sid=SECRETCOOKIE' },
  })
  await new Promise((r) => setImmediate(r))
  const requestLines = lines.filter((l) => l.msg === 'request')
  t.equal(requestLines.length, 1)
  t.match(requestLines[0], { method: 'GET', route: '/api/profiles', status: Number, ms: Number, reqId: String })
  const all = JSON.stringify(lines)
  for (const secret of ['SECRETCODE', 'SECRETSTATE', 'SECRETRT', 'SECRETBEARER', 'SECRETCOOKIE']) t.notOk(all.includes(secret), secret)
  t.match(String(requestLines[0].url), /gender=male/)
})

t.test('the database going away mid-request: 503 in the envelope, the process stays up, and it recovers', async (t) => {
  const target = await createTestDatabase(t, { seed: true })
  const url = new URL(target.url)
  const proxy = await startTcpProxy(url.hostname, Number(url.port))
  t.teardown(() => proxy.close())
  url.port = String(proxy.port)
  const db = createDb({ databaseUrl: url.toString(), poolMax: 2, connectionTimeoutMs: 1000 })
  t.teardown(() => db.close())
  const config = loadApiConfig({ ...TEST_ENV, CACHE_TTL_SECONDS: '0' })
  const app = await buildApiApp({ config, db, logger: false })
  t.teardown(() => app.close())
  const analyst = await authHeaders(app, 'analyst')

  const ok = await app.inject({ method: 'GET', url: '/api/profiles', headers: analyst })
  t.equal(ok.statusCode, 200)
  // A request in flight when the connection drops.
  const inflight = app.inject({ method: 'GET', url: '/api/profiles?min_gender_probability=0.1&sort_by=name', headers: analyst })
  await proxy.cut()
  const cutRes = await inflight
  t.ok([200, 503].includes(cutRes.statusCode), `in-flight request finished or failed cleanly (${cutRes.statusCode})`)
  const started = Date.now()
  const down = await app.inject({ method: 'GET', url: '/api/profiles?gender=female', headers: analyst })
  t.equal(down.statusCode, 503)
  t.equal(down.json().status, 'error')
  t.match(down.json().message, /unavailable/i)
  t.ok(down.json().request_id, '5xx carries the request id')
  t.notMatch(down.body, /ECONNREFUSED|stack|at /, 'no internals leak')
  t.ok(down.headers['retry-after'])
  t.ok(Date.now() - started < 3000, 'fails fast, never hangs')
  const ready = await app.inject({ method: 'GET', url: '/readyz' })
  t.equal(ready.statusCode, 503)
  const live = await app.inject({ method: 'GET', url: '/healthz' })
  t.equal(live.statusCode, 200, 'liveness is unaffected')

  await proxy.restore()
  let back = 0
  for (let i = 0; i < 20 && back !== 200; i++) {
    back = (await app.inject({ method: 'GET', url: '/api/profiles?gender=female', headers: analyst })).statusCode
    if (back !== 200) await new Promise((r) => setTimeout(r, 100))
  }
  t.equal(back, 200, 'recovers when the database is back')
})
