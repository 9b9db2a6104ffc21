/**
 * npm run bench -- abuse — the API under slow clients and a stampede, on real Postgres
 * (BENCH_DATABASE_URL, N profiles: --rows, default 1M): while a list load runs at a fixed rate,
 * 2× the export cap of slow readers (1 KB every 0.5 s) and a burst of 500 connections asking one
 * stats query at once. Prints the errors the list load saw (target 0), its p99 during the abuse ÷
 * idle (target ≤ 2), the pool connections still in use once it is over (target 0), the API's peak
 * RSS; then a full export's rows/s next to psql's `COPY … TO STDOUT` of the same statement in the
 * same run (target ≥ 80 %) and the peak RSS after it (target ≤ 200 MB).
 */
import { spawn } from 'node:child_process'
import net from 'node:net'
import autocannon from 'autocannon'
import pg from 'pg'
import { Kysely, PostgresDialect } from 'kysely'
import type { Database } from '../db/types.ts'
import { profilesCopySql } from '../db/repositories/profiles.ts'
import { BENCH_DATABASE_URL, benchApiEnv, ensureProfiles, machineLine, startChild } from './bench-support.ts'

const LIST_CONNECTIONS = 8
const LIST_RATE = 50
const EXPORT_CAP = 4
const BURST = 500
const SLOW_READ_BYTES = 1024
const SLOW_READ_EVERY_MS = 500

function listLoad(url: string, headers: Record<string, string>, seconds: number): Promise<autocannon.Result> {
  const countries = ['NG', 'KE', 'GH', 'ZA', 'ET', 'AO', 'TZ', 'UG', 'EG', 'BJ']
  const sorts = ['age', 'created_at', 'gender_probability', 'name']
  const requests = countries.flatMap((c, i) => [
    { method: 'GET' as const, path: `/api/profiles?gender=male&country_id=${c}&sort_by=${sorts[i % 4]}&order=desc`, headers },
    { method: 'GET' as const, path: `/api/profiles?age_group=adult&country_id=${c}&sort_by=age&page=3`, headers },
  ])
  return new Promise((resolve, reject) => {
    autocannon({ url, connections: LIST_CONNECTIONS, overallRate: LIST_RATE, duration: seconds, requests }, (err: unknown, r) =>
      err ? reject(err) : resolve(r),
    )
  })
}

/** A download read 1 KB every 0.5 s; resolves its status; close() ends it. */
function slowReader(url: string, path: string, headers: Record<string, string>) {
  const u = new URL(url)
  const socket = net.connect(Number(u.port), u.hostname)
  socket.on('error', () => {})
  socket.write(
    `GET ${path} HTTP/1.1\r\nHost: ${u.host}\r\nConnection: close\r\n${Object.entries(headers)
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join('')}\r\n`,
  )
  const status = new Promise<number>((resolve) => {
    socket.once('readable', () => {
      const chunk = (socket.read(SLOW_READ_BYTES) ?? socket.read()) as Buffer | null
      resolve(chunk ? Number(/^HTTP\/1\.1 (\d{3})/.exec(chunk.toString('latin1', 0, 20))?.[1] ?? 0) : 0)
    })
    socket.once('close', () => resolve(0))
  })
  const timer = setInterval(() => socket.read(SLOW_READ_BYTES) ?? socket.read(), SLOW_READ_EVERY_MS)
  return {
    status,
    close() {
      clearInterval(timer)
      socket.destroy()
    },
  }
}

function burst(url: string, path: string, headers: Record<string, string>): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    autocannon({ url, connections: BURST, amount: BURST, requests: [{ method: 'GET', path, headers }], timeout: 30 }, (err: unknown, r) =>
      err ? reject(err) : resolve(r),
    )
  })
}

/** Backends of the API's pools that are not idle: checked out of a pool (or leaked). */
async function connectionsInUse(admin: pg.Client): Promise<{ main: number; exports: number; idle: number }> {
  const { rows } = await admin.query<{ app: string; busy: number; idle: number }>(
    `SELECT application_name AS app, count(*) FILTER (WHERE state <> 'idle')::int AS busy, count(*) FILTER (WHERE state = 'idle')::int AS idle
       FROM pg_stat_activity WHERE datname = current_database() AND application_name IN ('insighta', 'insighta-export')
      GROUP BY application_name`,
  )
  const of = (app: string) => rows.find((r) => r.app === app)
  return { main: of('insighta')?.busy ?? 0, exports: of('insighta-export')?.busy ?? 0, idle: rows.reduce((s, r) => s + r.idle, 0) }
}

async function countCsv(stream: AsyncIterable<Uint8Array>): Promise<{ lines: number; bytes: number }> {
  let lines = 0
  let bytes = 0
  for await (const chunk of stream) {
    bytes += chunk.length
    for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) lines++
  }
  return { lines, bytes }
}

export async function benchAbuse(options: { rows?: number; duration?: number } = {}) {
  const rows = options.rows ?? 1_000_000
  const seconds = options.duration ?? 10
  console.log(`machine: ${machineLine()}`)
  const total = await ensureProfiles(rows)
  console.log(`profiles in ${BENCH_DATABASE_URL.replace(/:[^:@/]*@/, ':***@')}: ${total}`)
  const api = await startChild(
    'api/server.ts',
    benchApiEnv({ EXPORT_MAX_CONCURRENT: String(EXPORT_CAP), EXPORT_MAX_PER_USER: String(EXPORT_CAP), EXPORT_POOL_MAX: String(EXPORT_CAP) }),
  )
  const admin = new pg.Client({ connectionString: BENCH_DATABASE_URL })
  await admin.connect()
  try {
    const tokens: string[] = []
    for (const code of ['analyst_test_code', 'test_code']) {
      const login = await fetch(`${api.url}/auth/github/callback?code=${code}`)
      tokens.push(((await login.json()) as { access_token: string }).access_token)
    }
    const headersOf = (i: number) => ({ authorization: `Bearer ${tokens[i % tokens.length]}`, 'x-api-version': '1' })
    const headers = headersOf(0)

    await listLoad(api.url, headers, 3) // warm-up: JIT, pool, plans
    const idle = await listLoad(api.url, headers, seconds)
    console.log(`\nidle list load: ${LIST_RATE} req/s over ${LIST_CONNECTIONS} connections for ${seconds} s, cache off`)

    // The abuse: the list load runs throughout; the slow readers start with it, the burst a second in.
    const during = listLoad(api.url, headers, seconds)
    const readers = Array.from({ length: 2 * EXPORT_CAP }, (_, i) => slowReader(api.url, '/api/profiles/export?format=csv', headersOf(i)))
    const readerStatuses = await Promise.all(readers.map((r) => r.status))
    await new Promise((r) => setTimeout(r, 1000))
    const stampede = await burst(api.url, '/api/profiles/stats?min_gender_probability=0.6', headersOf(1))
    const abused = await during
    const rssAbuse = api.peakRssMb()
    for (const r of readers) r.close()
    await new Promise((r) => setTimeout(r, 2000))
    const inUse = await connectionsInUse(admin)

    const statusCounts = (list: number[]) =>
      [...list.reduce((m, s) => m.set(s, (m.get(s) ?? 0) + 1), new Map<number, number>())].map(([s, n]) => `${n}× ${s}`).join(', ')
    const listErrors = (r: autocannon.Result) => r.non2xx + r.errors + r.timeouts
    const ratio = abused.latency.p99 / Math.max(1, idle.latency.p99)

    // Export rows/s, next to psql's COPY of the very statement the API runs.
    const rssBeforeExport = api.peakRssMb()
    let started = performance.now()
    const res = await fetch(`${api.url}/api/profiles/export?format=csv`, { headers })
    const exported = await countCsv(res.body as unknown as AsyncIterable<Uint8Array>)
    const apiSeconds = (performance.now() - started) / 1000
    const apiRows = exported.lines - 1
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: BENCH_DATABASE_URL, max: 1 }) }) })
    const copy = profilesCopySql(db, {}, { column: 'created_at', direction: 'desc' }, { neutraliseFormulas: false })
    await db.destroy()
    started = performance.now()
    const psql = spawn('psql', [BENCH_DATABASE_URL, '-X', '-q', '-c', copy], { stdio: ['ignore', 'pipe', 'inherit'] })
    const copied = await countCsv(psql.stdout)
    await new Promise((r) => psql.once('close', r))
    const psqlSeconds = (performance.now() - started) / 1000
    const rssExport = api.peakRssMb()

    const rowsPerSecond = (n: number, s: number) => Math.round(n / s)
    const table: [string, string, string][] = [
      ['list load errors during the abuse', String(listErrors(abused)), '0'],
      ['list p99 idle → during (ms)', `${idle.latency.p99} → ${abused.latency.p99}`, ''],
      ['list p99 during ÷ idle', ratio.toFixed(2), '≤ 2'],
      ['list req/s idle / during', `${Math.round(idle.requests.average)} / ${Math.round(abused.requests.average)}`, `${LIST_RATE}`],
      [`${2 * EXPORT_CAP} slow readers (cap ${EXPORT_CAP})`, statusCounts(readerStatuses), `${EXPORT_CAP}× 200, rest busy`],
      [`stats burst: ${BURST} connections`, `${stampede['2xx']}× 2xx, ${stampede.non2xx} non-2xx, ${stampede.errors + stampede.timeouts} errors; p99 ${stampede.latency.p99} ms`, 'no 5xx'],
      ['pool connections in use after (main / export)', `${inUse.main} / ${inUse.exports}`, '0 / 0'],
      ['API peak RSS during the abuse (MB)', rssAbuse.toFixed(0), ''],
      ['export rows/s (API, HTTP)', `${rowsPerSecond(apiRows, apiSeconds)} (${apiRows} rows, ${(exported.bytes / 2 ** 20).toFixed(0)} MiB)`, ''],
      ['psql COPY … TO STDOUT rows/s', `${rowsPerSecond(copied.lines, psqlSeconds)} (${copied.lines} rows)`, ''],
      ['export ÷ psql', `${((100 * rowsPerSecond(apiRows, apiSeconds)) / rowsPerSecond(copied.lines, psqlSeconds)).toFixed(0)} %`, '≥ 80 %'],
      ['API peak RSS after the export (MB)', `${rssExport.toFixed(0)} (before ${rssBeforeExport.toFixed(0)})`, '≤ 200'],
    ]
    console.log('')
    console.log(`| measure | value | target |\n|---|---|---|\n${table.map((r) => `| ${r.join(' | ')} |`).join('\n')}`)
    console.log(`\nload average at the end: ${machineLine().replace(/.*load avg /, '')}`)
    if (apiRows !== total) throw new Error(`export had ${apiRows} rows, expected ${total}`)
  } finally {
    await admin.end()
    await api.stop()
  }
}
