/**
 * A database outage or a vanished client during an export (issue 11 §2): the export settles, the
 * client sees a truncated transfer (never a CSV that looks complete), the connection is discarded,
 * and the export pool is whole again for the next export. The exports' pool reaches the database
 * through a TCP proxy the test cuts; the main pool connects directly.
 */
import { sql } from 'kysely'
import t from 'tap'
import { buildApiApp } from '../../api/app.ts'
import { loadApiConfig } from '../../api/config.ts'
import { newId } from '../../contract/ids.ts'
import { createPool } from '../../db/index.ts'
import { insertProfilesBatch } from '../../db/repositories/profiles.ts'
import { authHeaders, TEST_ENV } from '../helpers/api.ts'
import { createTestDatabase } from '../helpers/database.ts'
import { eventually, slowGet } from '../helpers/slow-client.ts'
import { startTcpProxy } from '../helpers/tcp-proxy.ts'

const EXTRA_ROWS = 40_000
const db = await createTestDatabase(t, { seed: true })
for (let b = 0; b < EXTRA_ROWS / 5000; b++) {
  await insertProfilesBatch(
    db.db,
    Array.from({ length: 5000 }, (_, i) => ({
      id: newId(),
      name: `Long ${b}-${i} ${'y'.repeat(180)}`,
      gender: 'female' as const,
      gender_probability: 0.75,
      age: 41,
      age_group: 'adult' as const,
      country_id: 'GH',
      country_name: 'Ghana',
      country_probability: 0.25,
    })),
  )
}
const TOTAL = 2026 + EXTRA_ROWS

const target = new URL(db.url)
const proxy = await startTcpProxy(target.hostname, Number(target.port))
t.teardown(() => proxy.close())
const viaProxy = new URL(db.url)
viaProxy.port = String(proxy.port)
const exportPool = createPool({ databaseUrl: viaProxy.toString(), poolMax: 2, connectionTimeoutMs: 1000, applicationName: 'insighta-export-test' })
t.teardown(() => exportPool.end())
const config = loadApiConfig({ ...TEST_ENV, EXPORT_IDLE_TIMEOUT_MS: '1500', EXPORT_MAX_PER_USER: '2', EXPORT_MAX_CONCURRENT: '2' })
const app = await buildApiApp({ config, db, logger: false, exportPool })
t.teardown(() => app.close())
const url = await app.listen({ host: '127.0.0.1', port: 0 })
const analyst = await authHeaders(app, 'analyst')
const EXPORT = '/api/profiles/export?format=csv&sort_by=name'

const poolWhole = () => {
  const s = app.exports.state()
  return s.active === 0 && s.total === s.idle && s.waiting === 0
}

async function completeExport(): Promise<number> {
  const res = await fetch(`${url}${EXPORT}`, { headers: analyst })
  if (res.status !== 200) return -res.status
  return (await res.text()).split('\r\n').length - 2
}

t.test('the database connection dies under a paused export', async (t) => {
  const client = slowGet(url, EXPORT, analyst)
  t.equal(await client.status, 200)
  client.pause()
  t.ok(await eventually(() => exportPool.totalCount - exportPool.idleCount === 1), 'the export holds a connection')
  await proxy.cut()
  client.resume()
  const { complete, text } = await client.done
  t.notOk(complete, 'no final chunk: the transfer is visibly truncated')
  t.ok(text.split('\r\n').length < TOTAL, 'not every row arrived')
  t.ok(await eventually(poolWhole), `export pool whole: ${JSON.stringify(app.exports.state())}`)
  t.equal(exportPool.totalCount, 0, 'the broken connection was discarded, not returned')

  await proxy.restore()
  t.equal(await completeExport(), TOTAL, 'the next export is complete')
  t.ok(await eventually(poolWhole), 'and returns its connection')
})

t.test('the database dies while the client stays paused: the idle cut settles it', async (t) => {
  const client = slowGet(url, EXPORT, analyst)
  t.equal(await client.status, 200)
  client.pause()
  t.ok(await eventually(() => app.exports.state().active === 1), 'export running')
  await proxy.cut()
  t.ok(await eventually(poolWhole, 20_000), `export pool whole without the client reading: ${JSON.stringify(app.exports.state())}`)
  client.resume()
  t.notOk((await client.done).complete, 'truncated')
  await proxy.restore()
  t.equal(await completeExport(), TOTAL, 'the next export is complete')
})

t.test('the client goes away under a paused export: the connection and the backend are freed', async (t) => {
  const client = slowGet(url, EXPORT, analyst)
  t.equal(await client.status, 200)
  client.pause()
  t.ok(await eventually(() => exportPool.totalCount - exportPool.idleCount === 1), 'the export holds a connection')
  client.destroy()
  t.ok(await eventually(poolWhole), `export pool whole: ${JSON.stringify(app.exports.state())}`)
  if (db.kind === 'server') {
    // On the real server the COPY's backend must end too, not stay blocked on its full socket.
    const gone = await eventually(async () => {
      const { rows } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM pg_stat_activity
        WHERE application_name = 'insighta-export-test' AND state = 'active'`.execute(db.db)
      return rows[0].n === 0
    })
    t.ok(gone, 'no export backend left running on the server')
  } else {
    t.comment('embedded database: one backend session, nothing to count')
  }
  t.equal(await completeExport(), TOTAL, 'the next export is complete')
  // Everything else kept working throughout (the main pool never went through the proxy).
  const list = await app.inject({ method: 'GET', url: '/api/profiles?country_id=GH', headers: analyst })
  t.equal(list.statusCode, 200)
  t.equal(list.json().total, EXTRA_ROWS + (await ghanaSeed()), 'list totals intact')
})

async function ghanaSeed(): Promise<number> {
  const { rows } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM profiles WHERE country_id = 'GH' AND name NOT LIKE 'Long %'`.execute(db.db)
  return rows[0].n
}
