/**
 * Exports never take the connections the rest of the API needs (issue 11 §1): they run on their own
 * small pool under caps in total and per user, the excess is told "busy" (429/503 with
 * Retry-After), and a client that stops reading is cut off and its connection returned. The main
 * pool here has 2 connections, fewer than the exports held open: if an export took one of them,
 * the list, login, refresh and readiness requests below would wait for it and fail.
 */
import t from 'tap'
import { newId } from '../../contract/ids.ts'
import { insertProfilesBatch } from '../../db/repositories/profiles.ts'
import { buildTestApi } from '../helpers/api.ts'
import { createTestDatabase } from '../helpers/database.ts'
import { eventually, slowGet, type SlowClient } from '../helpers/slow-client.ts'

/**
 * Enough CSV (~12 MB: 40k rows with long names) that a client that stops reading fills every socket
 * buffer on the way and the server has to wait for it.
 */
const EXTRA_ROWS = 40_000
const db = await createTestDatabase(t, { seed: true, poolMax: 2 })
for (let b = 0; b < EXTRA_ROWS / 5000; b++) {
  await insertProfilesBatch(
    db.db,
    Array.from({ length: 5000 }, (_, i) => ({
      id: newId(),
      name: `Long ${b}-${i} ${'x'.repeat(180)}`,
      gender: 'male' as const,
      gender_probability: 0.5,
      age: 30,
      age_group: 'adult' as const,
      country_id: 'NG',
      country_name: 'Nigeria',
      country_probability: 0.5,
    })),
  )
}
const TOTAL = 2026 + EXTRA_ROWS

const CAPS = {
  EXPORT_POOL_MAX: '3',
  EXPORT_MAX_CONCURRENT: '3',
  EXPORT_MAX_PER_USER: '2',
  AUTH_TEST_CODE_ENABLED: 'true',
  CACHE_TTL_SECONDS: '0',
  DB_ACQUIRE_TIMEOUT_MS: '3000',
}

async function listen(app: Awaited<ReturnType<typeof buildTestApi>>['app']): Promise<string> {
  return app.listen({ host: '127.0.0.1', port: 0 })
}

const EXPORT = '/api/profiles/export?format=csv&sort_by=name'

t.test('more slow exports than the caps: the excess is busy, and everything else stays up', async (t) => {
  const api = await buildTestApi(t, { db, env: { ...CAPS, EXPORT_IDLE_TIMEOUT_MS: '120000' } })
  const url = await listen(api.app)
  const analyst = await api.headers('analyst')
  const admin = await api.headers('admin')
  const slow: SlowClient[] = []
  t.teardown(() => slow.forEach((c) => c.destroy()))

  // Two exports for the analyst and one for the admin: every slot taken, each reader stalled.
  for (const headers of [analyst, analyst, admin]) {
    const client = slowGet(url, EXPORT, headers)
    slow.push(client)
    t.equal(await client.status, 200)
    client.pause()
  }
  t.same(api.app.exports.state().active, 3, 'three exports hold their slots')

  const third = await fetch(`${url}${EXPORT}`, { headers: analyst })
  t.equal(third.status, 429, "the analyst's third export: per-user cap")
  t.ok(Number(third.headers.get('retry-after')) > 0, 'Retry-After')
  t.match(await third.json(), { status: 'error', message: /busy/i })

  const second = await fetch(`${url}${EXPORT}`, { headers: admin })
  t.equal(second.status, 503, "the admin's second export: total cap")
  t.ok(Number(second.headers.get('retry-after')) > 0, 'Retry-After')
  const body = await second.json()
  t.match(body, { status: 'error', message: /busy/i })
  t.notMatch(body.message, /unavailable|cannot be reached/i, 'busy, not down')

  // Meanwhile the rest of the API answers, on a main pool of 2 with 3 exports open.
  const started = performance.now()
  const refreshToken = (await (await api.user('analyst')).newSessionTokens()).refreshToken
  const answers = await Promise.all([
    ...['gender=male', 'country_id=NG&sort_by=age', 'min_gender_probability=0.9', 'age_group=senior&page=3'].map((q) =>
      fetch(`${url}/api/profiles?${q}`, { headers: analyst }).then((r) => ['list', r.status] as const),
    ),
    fetch(`${url}/api/profiles/stats?gender=female`, { headers: admin }).then((r) => ['stats', r.status] as const),
    fetch(`${url}/readyz`).then((r) => ['readyz', r.status] as const),
    fetch(`${url}/auth/github/callback`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ code: 'analyst_test_code' }),
    }).then((r) => ['login', r.status] as const),
    fetch(`${url}/auth/refresh`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ refresh_token: refreshToken }),
    }).then((r) => ['refresh', r.status] as const),
  ])
  for (const [what, status] of answers) t.equal(status, 200, `${what} answers while the exports stall`)
  t.comment(`${answers.length} requests during the stalled exports took ${Math.round(performance.now() - started)} ms in all`)
  t.equal(api.app.exports.state().active, 3, 'the stalled exports are still open')

  // The readers go away: every slot and every export connection comes back.
  for (const c of slow) c.destroy()
  t.ok(await eventually(() => api.app.exports.state().active === 0), 'slots released')
  t.ok(
    await eventually(() => {
      const s = api.app.exports.state()
      return s.total === s.idle && s.waiting === 0
    }),
    `no export connection checked out: ${JSON.stringify(api.app.exports.state())}`,
  )
  const again = await fetch(`${url}${EXPORT}`, { headers: admin })
  t.equal(again.status, 200, 'a new export works once a slot is free')
  t.equal((await again.text()).split('\r\n').length - 2, TOTAL, 'complete')
})

t.test('a client that stops reading is cut off after the idle time; its connection returns', async (t) => {
  const api = await buildTestApi(t, { db, env: { ...CAPS, EXPORT_IDLE_TIMEOUT_MS: '1000' } })
  const url = await listen(api.app)
  const analyst = await api.headers('analyst')

  const stalled = slowGet(url, EXPORT, analyst)
  t.equal(await stalled.status, 200)
  stalled.pause()
  // The server cuts the stalled one: when it reads again, the transfer ends truncated.
  t.equal(api.app.exports.state().active, 1, 'the export is running')
  t.ok(await eventually(() => api.app.exports.state().active === 0, 20_000), 'the idle export was cut')
  stalled.resume()
  const cut = await stalled.done
  t.notOk(cut.complete, 'no final chunk: the client sees a truncated transfer')
  t.ok(cut.text.split('\r\n').length < TOTAL, 'and not every row')
  t.ok(
    await eventually(() => {
      const s = api.app.exports.state()
      return s.active === 0 && s.total === s.idle && s.waiting === 0
    }),
    `export pool whole: ${JSON.stringify(api.app.exports.state())}`,
  )
  const next = await fetch(`${url}${EXPORT}`, { headers: analyst })
  t.equal((await next.text()).split('\r\n').length - 2, TOTAL, 'the next export is complete')
})

t.test('the export pool full (fewer connections than slots): 503 busy after the acquire timeout', async (t) => {
  const api = await buildTestApi(t, {
    db,
    env: { ...CAPS, EXPORT_POOL_MAX: '1', EXPORT_ACQUIRE_TIMEOUT_MS: '300', EXPORT_IDLE_TIMEOUT_MS: '120000', BUSY_RETRY_AFTER_SECONDS: '7' },
  })
  const url = await listen(api.app)
  const analyst = await api.headers('analyst')
  const holder = slowGet(url, EXPORT, analyst)
  t.teardown(() => holder.destroy())
  t.equal(await holder.status, 200)
  holder.pause()
  t.ok(await eventually(() => api.app.exports.pool.totalCount === 1 && api.app.exports.pool.idleCount === 0), 'its one connection is taken')
  const admin = await api.headers('admin')
  const res = await fetch(`${url}${EXPORT}`, { headers: admin })
  t.equal(res.status, 503)
  t.equal(res.headers.get('retry-after'), '7')
  t.match(await res.json(), { status: 'error', message: /busy/i })
  t.equal(api.app.exports.state().active, 1, "the refused export's slot was given back")
  holder.destroy()
  t.ok(await eventually(() => api.app.exports.state().active === 0 && api.app.exports.pool.idleCount === api.app.exports.pool.totalCount))
  const again = await fetch(`${url}${EXPORT}`, { headers: admin })
  t.equal(again.status, 200, 'and exports work again')
  t.equal((await again.text()).split('\r\n').length - 2, TOTAL, 'complete')
})

t.test('caps and timeouts are configuration, checked at startup', async (t) => {
  const { loadApiConfig } = await import('../../api/config.ts')
  t.throws(() => loadApiConfig({ EXPORT_MAX_PER_USER: '5', EXPORT_MAX_CONCURRENT: '2' }), /EXPORT_MAX_PER_USER/)
  t.throws(() => loadApiConfig({ EXPORT_POOL_MAX: '0' }), /EXPORT_POOL_MAX/)
  t.throws(() => loadApiConfig({ EXPORT_IDLE_TIMEOUT_MS: 'soon' }), /EXPORT_IDLE_TIMEOUT_MS/)
  t.throws(() => loadApiConfig({ HTTP_HEADERS_TIMEOUT_MS: '60000', HTTP_REQUEST_TIMEOUT_MS: '30000' }), /HTTP_HEADERS_TIMEOUT_MS/)
  const c = loadApiConfig({})
  t.same(c.exports, { poolMax: 4, maxConcurrent: 4, maxPerUser: 2, idleTimeoutMs: 30000, acquireTimeoutMs: 2000 })
})
