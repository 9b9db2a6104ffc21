/**
 * Identical concurrent misses run one query (single flight), and "busy" is told apart from "down"
 * (issue 11 §4, contract §6): a pool whose connections stay taken answers 503 busy with Retry-After
 * and logs a warning; an unreachable database answers 503 "database unavailable".
 */
import { Writable } from 'node:stream'
import type pg from 'pg'
import t from 'tap'
import { buildApiApp } from '../../api/app.ts'
import { loadApiConfig } from '../../api/config.ts'
import { SingleFlight } from '../../api/services/query-cache.ts'
import { createDb } from '../../db/index.ts'
import { authHeaders, buildTestApi, TEST_ENV } from '../helpers/api.ts'
import { createTestDatabase } from '../helpers/database.ts'
import { startTcpProxy } from '../helpers/tcp-proxy.ts'

const db = await createTestDatabase(t, { seed: true, poolMax: 2 })

/** Counts the statements that read profiles, as the pool hands clients out. */
function countProfileQueries(pool: pg.Pool): { count: () => number } {
  let n = 0
  const wrapped = new WeakSet<object>()
  pool.on('acquire', (client) => {
    if (wrapped.has(client)) return
    wrapped.add(client)
    const query = client.query.bind(client) as (...args: unknown[]) => unknown
    ;(client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
      const text = typeof args[0] === 'string' ? args[0] : (args[0] as { text?: string } | undefined)?.text
      if (text && /from "profile(s|_counts)"/.test(text)) n++
      return query(...args)
    }
  })
  return { count: () => n }
}

t.test('400 concurrent identical stats misses on a pool of 2: one query, no 503', async (t) => {
  // The session check is cached for AUTH_CACHE_TTL_MS (its own concern): at its longest, and warmed
  // before each burst, so the burst measures the stats path.
  const api = await buildTestApi(t, { db, env: { AUTH_CACHE_TTL_MS: '5000' } })
  const url = await api.app.listen({ host: '127.0.0.1', port: 0 })
  const headers = await api.headers('analyst')
  const counter = countProfileQueries(api.db.pool)
  for (const query of ['gender=female', 'min_gender_probability=0.7&country_id=NG']) {
    t.equal((await fetch(`${url}/api/users/me`, { headers })).status, 200)
    const before = counter.count()
    const answers = await Promise.all(
      Array.from({ length: 400 }, () => fetch(`${url}/api/profiles/stats?${query}`, { headers }).then(async (r) => [r.status, await r.text()] as const)),
    )
    const statuses = new Map<number, number>()
    for (const [status] of answers) statuses.set(status, (statuses.get(status) ?? 0) + 1)
    const odd = answers.find(([status]) => status !== 200)
    t.same([...statuses], [[200, 400]], `${query}: every request 200${odd ? ` (e.g. ${odd[0]} ${odd[1]})` : ''}`)
    t.equal(new Set(answers.map(([, body]) => body)).size, 1, 'the same answer for all')
    t.equal(counter.count() - before, 1, `${query}: one query for the whole burst`)
  }
})

t.test('single flight never joins a flight from before a write', async (t) => {
  const flights = new SingleFlight()
  let calls = 0
  let finish!: (v: string) => void
  const first = flights.run('k', () => {
    calls++
    return new Promise<string>((resolve) => (finish = resolve))
  })
  const joined = flights.run('k', async () => {
    calls++
    return 'second'
  })
  t.equal(calls, 1, 'a concurrent call of the same key joins')
  flights.newEpoch()
  const after = flights.run('k', async () => {
    calls++
    return 'after the write'
  })
  t.equal(calls, 2, 'after a write, a new flight')
  finish('before the write')
  t.same(await Promise.all([first, joined, after]), ['before the write', 'before the write', 'after the write'])
  t.equal(flights.size, 0, 'finished flights are forgotten')
  const failing = flights.run('e', async () => {
    throw new Error('boom')
  })
  await t.rejects(failing, /boom/)
  t.equal(await flights.run('e', async () => 'retried'), 'retried', 'a failed flight is not cached')
})

t.test('a write invalidates: the burst after it sees the new total', async (t) => {
  const api = await buildTestApi(t, { db })
  const headers = await api.headers('admin')
  const total = async () => (await api.app.inject({ method: 'GET', url: '/api/profiles/stats', headers })).json().data.total as number
  const before = await total()
  const del = (await api.app.inject({ method: 'GET', url: '/api/profiles?limit=1', headers })).json().data[0].id as string
  t.equal((await api.app.inject({ method: 'DELETE', url: `/api/profiles/${del}`, headers })).statusCode, 204)
  const after = await Promise.all(Array.from({ length: 20 }, total))
  t.same(new Set(after), new Set([before - 1]))
})

function logLines() {
  const lines: Record<string, unknown>[] = []
  const stream = new Writable({
    write(chunk: Buffer, _e, done) {
      for (const l of chunk.toString().split('\n')) if (l.trim()) lines.push(JSON.parse(l) as Record<string, unknown>)
      done()
    },
  })
  return { lines, stream }
}

t.test('every pooled connection taken: 503 busy with Retry-After, a warning in the log', async (t) => {
  const small = createDb({ databaseUrl: db.url, poolMax: 1, connectionTimeoutMs: 300 })
  t.teardown(() => small.close())
  const log = logLines()
  const config = loadApiConfig({ ...TEST_ENV, LOG_LEVEL: 'warn', CACHE_TTL_SECONDS: '0', BUSY_RETRY_AFTER_SECONDS: '3' })
  const app = await buildApiApp({ config, db: small, logStream: log.stream })
  t.teardown(() => app.close())
  const headers = await authHeaders(app, 'analyst')
  t.equal((await app.inject({ method: 'GET', url: '/api/profiles?gender=male', headers })).statusCode, 200)

  const held = await small.pool.connect() // a long query holding the only connection
  const busy = await app.inject({ method: 'GET', url: '/api/profiles?gender=female&min_age=40', headers })
  held.release()
  t.equal(busy.statusCode, 503)
  t.equal(busy.headers['retry-after'], '3')
  const body = busy.json()
  t.match(body, { status: 'error', message: /busy/i, request_id: String })
  t.notMatch(body.message, /unavailable|cannot be reached/i)
  const warning = log.lines.find((l) => typeof l.msg === 'string' && /database busy/.test(l.msg))
  t.ok(warning, 'logged as busy')
  t.equal(warning?.level, 40, 'at warn level, not error')
  t.notOk(log.lines.some((l) => l.msg === 'database unavailable'), 'not logged as unavailable')

  t.equal((await app.inject({ method: 'GET', url: '/api/profiles?gender=female&min_age=40', headers })).statusCode, 200, 'fine once free')
})

t.test('an unreachable database is "database unavailable", not busy', async (t) => {
  const target = new URL(db.url)
  const proxy = await startTcpProxy(target.hostname, Number(target.port))
  t.teardown(() => proxy.close())
  const via = new URL(db.url)
  via.port = String(proxy.port)
  const cut = createDb({ databaseUrl: via.toString(), poolMax: 1, connectionTimeoutMs: 300 })
  t.teardown(() => cut.close())
  const log = logLines()
  const config = loadApiConfig({ ...TEST_ENV, LOG_LEVEL: 'warn', CACHE_TTL_SECONDS: '0' })
  const app = await buildApiApp({ config, db: cut, logStream: log.stream })
  t.teardown(() => app.close())
  const headers = await authHeaders(app, 'analyst')
  await proxy.cut()
  const down = await app.inject({ method: 'GET', url: '/api/profiles?gender=female&min_age=41', headers })
  t.equal(down.statusCode, 503)
  t.match(down.json(), { status: 'error', message: 'database unavailable' })
  t.notMatch(down.json().message, /busy/i)
  t.ok(log.lines.some((l) => l.msg === 'database unavailable'))
  t.notOk(log.lines.some((l) => typeof l.msg === 'string' && /database busy/.test(l.msg)))
})
