/**
 * npm run bench -- import — POST /api/profiles/import on real Postgres: a generated CSV (500,000 rows
 * by default, --rows N) uploaded as a stream into a table that already holds 1M profiles, while a
 * second client runs the list benchmark. Prints rows/s, the API's peak RSS and the list p99 idle vs
 * during the import (and of /healthz, which needs only the event loop); then two concurrent imports of two different 50k-row files and both reports.
 * --duration S sets the idle list measurement (default 5 s). The imported rows are deleted afterwards
 * so the bench database stays at its 1M profiles.
 */
import { once } from 'node:events'
import { createReadStream, createWriteStream } from 'node:fs'
import { mkdtemp, rm, stat } from 'node:fs/promises'
import http from 'node:http'
import os from 'node:os'
import path from 'node:path'
import { pipeline } from 'node:stream/promises'
import autocannon from 'autocannon'
import pg from 'pg'
import { from as copyFrom } from 'pg-copy-streams'
import type { ImportReport } from '../contract/import-report.ts'
import { csvLine } from '../api/services/csv.ts'
import { readSeedFile } from '../db/seed/seed.ts'
import { syntheticProfiles } from '../db/seed/synthetic.ts'
import { backendPids, BENCH_DATABASE_URL, benchApiEnv, cpuMs, cpuOf, ensureProfiles, machineLine, startChild, sum, type ChildApp } from './bench-support.ts'

const TABLE_ROWS = 1_000_000
const CONCURRENT_ROWS = 50_000
const LIST_CONNECTIONS = 8
/**
 * The list load runs at a fixed rate (analysts at work), not flat out: a closed loop that saturates
 * two cores measures queueing, and would leave the import whatever CPU it does not take.
 */
const LIST_RATE = 50
/**
 * Beside it, /healthz at a fixed rate on one connection: a request that needs nothing but the API's
 * event loop, so its latency is how long the import keeps the loop from other requests.
 */
const PROBE_RATE = 100
export const IMPORT_COLUMNS = ['name', 'gender', 'age', 'country_id', 'country_name', 'gender_probability', 'country_probability'] as const
/**
 * Generated names carry two initials ("Amara K. X. Okafor"); the seed and the synthetic 1M carry one,
 * so every imported name is new, and the rows are easy to find and delete afterwards.
 */
const IMPORTED_NAME = String.raw`^\S+ [A-Z]\. [A-Z]\. \S+$`

/** Streams `count` realistic, unique profiles to a CSV file; `initial` keeps files disjoint. */
export async function writeCsv(file: string, count: number, initial: string, seed: number): Promise<number> {
  const profiles = await readSeedFile()
  const out = createWriteStream(file)
  let chunk = csvLine(IMPORT_COLUMNS)
  let n = 0
  for (const p of syntheticProfiles(profiles, { count, seed })) {
    const name = p.name.replace(/ (\S+)$/, ` ${initial}. $1`)
    chunk += csvLine([name, p.gender, p.age, p.country_id, p.country_name, p.gender_probability, p.country_probability])
    if (++n % 10_000 === 0) {
      if (!out.write(chunk)) await once(out, 'drain')
      chunk = ''
    }
  }
  out.end(chunk)
  await once(out, 'finish')
  return (await stat(file)).size
}

/** Uploads the file as multipart/form-data, streamed from disk with a Content-Length, as curl does. */
export async function upload(api: ChildApp, token: string, file: string): Promise<{ status: number; body: ImportReport; seconds: number }> {
  const boundary = `----insighta-bench-${process.pid}`
  const head = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${path.basename(file)}"\r\nContent-Type: text/csv\r\n\r\n`,
  )
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`)
  const size = (await stat(file)).size
  const url = new URL('/api/profiles/import', api.url)
  const started = performance.now()
  const req = http.request(url, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      'x-api-version': '1',
      'content-type': `multipart/form-data; boundary=${boundary}`,
      'content-length': String(head.length + size + tail.length),
    },
  })
  const response = new Promise<{ status: number; text: string }>((resolve, reject) => {
    req.on('error', reject)
    req.on('response', (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (d: string) => (text += d))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }))
    })
  })
  req.write(head)
  const stream = createReadStream(file, { highWaterMark: 256 * 1024 })
  stream.pipe(req, { end: false })
  await once(stream, 'end')
  req.end(tail)
  const { status, text } = await response
  return { status, body: JSON.parse(text) as ImportReport, seconds: (performance.now() - started) / 1000 }
}

interface Load {
  /** the result, when the load has run its course */
  done: Promise<autocannon.Result>
  /** stops the load now and gives its result */
  stop(): Promise<autocannon.Result>
}

/** An autocannon load at a fixed rate, until stopped. */
function fixedRateLoad(options: autocannon.Options): Load {
  let instance: autocannon.Instance | undefined
  const done = new Promise<autocannon.Result>((resolve, reject) => {
    instance = autocannon(options, (err: unknown, result) => (err ? reject(err) : resolve(result)))
  })
  return {
    done,
    stop() {
      instance?.stop()
      return done
    },
  }
}

/** The list benchmark's requests (bench-api "list (2 filters + sort)") at LIST_RATE. */
function listLoad(url: string, token: string, seconds?: number): Load {
  const headers = { authorization: `Bearer ${token}`, 'x-api-version': '1' }
  const countries = ['NG', 'KE', 'GH', 'ZA', 'ET', 'AO', 'TZ', 'UG', 'EG', 'BJ']
  const sorts = ['age', 'created_at', 'gender_probability', 'name']
  const requests = countries.flatMap((c, i) => [
    { method: 'GET' as const, path: `/api/profiles?gender=male&country_id=${c}&sort_by=${sorts[i % 4]}&order=desc`, headers },
    { method: 'GET' as const, path: `/api/profiles?age_group=adult&country_id=${c}&sort_by=age&page=3`, headers },
  ])
  return fixedRateLoad({ url, connections: LIST_CONNECTIONS, overallRate: LIST_RATE, duration: seconds ?? 3600, requests })
}

/** /healthz at PROBE_RATE on one connection. */
function probeLoad(url: string): Load {
  return fixedRateLoad({ url: `${url}/healthz`, connections: 1, overallRate: PROBE_RATE, duration: 3600 })
}

function latencyLine(label: string, r: autocannon.Result): string {
  const problems = r.non2xx || r.errors || r.timeouts ? `   (non-2xx ${r.non2xx}, errors ${r.errors + r.timeouts})` : ''
  return `${label.padEnd(26)} ${String(Math.round(r.requests.average)).padStart(6)} req/s   p50 ${String(r.latency.p50).padStart(4)} ms   p99 ${String(r.latency.p99).padStart(4)} ms${problems}`
}

function reportLine(r: ImportReport): string {
  const reasons = Object.entries(r.reasons)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${k} ${n}`)
  return `total_rows ${r.total_rows}, inserted ${r.inserted}, skipped ${r.skipped}${reasons.length ? ` (${reasons.join(', ')})` : ''}`
}

export async function deleteImported(pool: pg.Pool): Promise<number> {
  const { rowCount } = await pool.query(`DELETE FROM profiles WHERE name ~ $1`, [IMPORTED_NAME])
  if (rowCount) {
    // Every run starts from the same table: deleting 600k of 1.6M rows leaves the indexes 3–4× their
    // packed size (measured), and the next run would then import into a table no one would have.
    await pool.query('REINDEX TABLE profiles')
    await pool.query('VACUUM ANALYZE profiles')
  }
  return rowCount ?? 0
}

export async function benchImport(options: { rows?: number; duration?: number } = {}) {
  const rows = options.rows ?? 500_000
  const idleSeconds = options.duration ?? 5
  console.log(`machine: ${machineLine()}`)
  const pool = new pg.Pool({ connectionString: BENCH_DATABASE_URL, max: 2 })
  const dir = await mkdtemp(path.join(os.tmpdir(), 'insighta-import-bench-'))
  let api: ChildApp | undefined
  try {
    await ensureProfiles(TABLE_ROWS)
    const leftovers = await deleteImported(pool)
    if (leftovers) console.log(`removed ${leftovers} rows left by an earlier run`)
    const { rows: countRows } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM profiles')
    const before = countRows[0].n
    console.log(`profiles in ${BENCH_DATABASE_URL.replace(/:[^:@/]*@/, ':***@')}: ${before}`)

    const big = path.join(dir, 'import-big.csv')
    const smallA = path.join(dir, 'import-a.csv')
    const smallB = path.join(dir, 'import-b.csv')
    const generated = performance.now()
    const bigBytes = await writeCsv(big, rows, 'X', 101)
    await writeCsv(smallA, CONCURRENT_ROWS, 'Y', 202)
    await writeCsv(smallB, CONCURRENT_ROWS, 'Z', 303)
    console.log(
      `generated ${rows} rows (${(bigBytes / 2 ** 20).toFixed(1)} MiB) + 2 × ${CONCURRENT_ROWS} rows in ${((performance.now() - generated) / 1000).toFixed(1)} s`,
    )

    api = await startChild('api/server.ts', benchApiEnv({ IMPORT_MAX_ROWS: String(Math.max(rows, 500_000)) }))
    const login = await fetch(`${api.url}/auth/github/callback?code=test_code`)
    if (!login.ok) throw new Error(`test_code login failed: ${login.status}`)
    const token = ((await login.json()) as { access_token: string }).access_token

    console.log(`\nlist benchmark (bench-api's list requests), ${LIST_RATE} req/s over ${LIST_CONNECTIONS} connections, cache off:`)
    // warm-up first: the first seconds of a fresh API (JIT, pool, plans) are not its idle latency
    await listLoad(api.url, token, 2).done
    const idleLoad = listLoad(api.url, token)
    const idleProbe = probeLoad(api.url)
    await new Promise((r) => setTimeout(r, idleSeconds * 1000))
    const idle = await idleLoad.stop()
    const probeIdle = await idleProbe.stop()
    console.log(latencyLine('idle', idle))
    const rssBefore = api.peakRssMb()

    const duringLoad = listLoad(api.url, token)
    const duringProbe = probeLoad(api.url)
    await new Promise((r) => setTimeout(r, 500))
    const apiPid = api.pid
    const nodeBefore = cpuMs(apiPid)
    const pgBefore = cpuOf(await backendPids(pool, 'insighta'))
    const result = await upload(api, token, big)
    const nodeCpu = (cpuMs(apiPid) - nodeBefore) / 1000
    const pgCpu = sum(cpuOf(await backendPids(pool, 'insighta'), pgBefore)) / 1000
    const during = await duringLoad.stop()
    const probeDuring = await duringProbe.stop()
    console.log(latencyLine('during the import', during))
    console.log(`/healthz (${PROBE_RATE} req/s, event loop only): p99 ${probeIdle.latency.p99} ms idle, ${probeDuring.latency.p99} ms during the import (max ${probeIdle.latency.max} / ${probeDuring.latency.max} ms)`)
    if (result.status !== 200) throw new Error(`import answered ${result.status}: ${JSON.stringify(result.body)}`)
    const rate = Math.round(rows / result.seconds)
    console.log(`\nimport of ${rows} rows: ${result.seconds.toFixed(1)} s, ${rate} rows/s — ${reportLine(result.body)}`)
    console.log(`API peak RSS: ${api.peakRssMb().toFixed(0)} MB (before the import ${rssBefore.toFixed(0)} MB)`)
    // Where the import's time goes (the list load's share included, small at its fixed rate).
    console.log(
      `CPU over the import: API (Node) ${nodeCpu.toFixed(1)} s = ${((1e6 * nodeCpu) / rows).toFixed(1)} µs/row, ` +
        `its Postgres backends ${pgCpu.toFixed(1)} s = ${((1e6 * pgCpu) / rows).toFixed(1)} µs/row, over ${result.seconds.toFixed(1)} s on ${os.cpus().length} cores`,
    )
    if (result.body.inserted !== rows) throw new Error(`expected ${rows} rows inserted`)

    console.log(`\ntwo concurrent imports of ${CONCURRENT_ROWS} rows each (different files):`)
    const started = performance.now()
    const [a, b] = await Promise.all([upload(api, token, smallA), upload(api, token, smallB)])
    const wall = (performance.now() - started) / 1000
    for (const [label, r] of [['A', a], ['B', b]] as const) {
      console.log(`  ${label}: ${r.status} in ${r.seconds.toFixed(1)} s — ${reportLine(r.body)}`)
      if (r.status !== 200 || r.body.inserted !== CONCURRENT_ROWS) throw new Error(`import ${label} did not insert every row`)
    }
    console.log(`  both done in ${wall.toFixed(1)} s (${Math.round((2 * CONCURRENT_ROWS) / wall)} rows/s together)`)

    // The same number of rows by INSERT … SELECT alone, on the same schema, API idle.
    await deleteImported(pool)
    const ceiling = await sqlImportCeiling(pool, dir, rows)
    console.log(`\npure-SQL ceiling (COPY-staged rows, INSERT … SELECT … ON CONFLICT on 2 connections): ${Math.round(ceiling)} rows/s`)

    const ratio = during.latency.p99 / Math.max(1, idle.latency.p99)
    console.log('\ntargets: ≥ 50,000 rows/s and ≥ 80 % of the SQL ceiling, peak RSS ≤ 250 MB, list p99 during the import ≤ 2× idle')
    console.log(
      `          ${rate} rows/s (${((100 * rate) / ceiling).toFixed(0)} % of ${Math.round(ceiling)}), RSS ${api.peakRssMb().toFixed(0)} MB, list p99 ${during.latency.p99} ms vs ${idle.latency.p99} ms idle (${ratio.toFixed(2)}×)`,
    )
    console.log(`machine after: ${machineLine()}`)
  } finally {
    await api?.stop()
    const removed = await deleteImported(pool).catch(() => 0)
    if (removed) console.log(`cleaned up: deleted the ${removed} imported rows`)
    await pool.end()
    await rm(dir, { recursive: true, force: true })
  }
}

/**
 * The pure-SQL ceiling of an import on the same schema (indexes, triggers, ON CONFLICT): the same
 * number of rows with ids, staged by COPY (not timed), then INSERT … SELECT … ON CONFLICT DO NOTHING
 * in two halves at once (the API writes with two connections too). Rows/s of the INSERTs.
 */
export async function sqlImportCeiling(pool: pg.Pool, dir: string, count: number): Promise<number> {
  const csv = path.join(dir, 'ceiling.csv')
  await writeCsv(csv, count, 'W', 707)
  const client = new pg.Client({ connectionString: BENCH_DATABASE_URL })
  await client.connect()
  try {
    const cols = IMPORT_COLUMNS.join(', ')
    await client.query(`DROP TABLE IF EXISTS bench_import_stage`)
    await client.query(`CREATE UNLOGGED TABLE bench_import_stage (${IMPORT_COLUMNS.map((c) => `${c} ${c === 'age' ? 'int' : c.endsWith('probability') ? 'float8' : 'text'}`).join(', ')})`)
    await pipeline(createReadStream(csv), client.query(copyFrom(`COPY bench_import_stage (${cols}) FROM STDIN WITH (FORMAT csv, HEADER true)`)))
    // v7 ids made here from the row number, so the staging is not part of the timed insert.
    await client.query(`ALTER TABLE bench_import_stage ADD COLUMN id uuid, ADD COLUMN part int`)
    const base = Date.now()
    await client.query(`UPDATE bench_import_stage s SET id = v.id, part = v.rn % 2 FROM (
      SELECT ctid, row_number() OVER () AS rn,
        (lpad(to_hex(${base}::bigint + row_number() OVER ()), 12, '0') || '7' || substr(md5(random()::text), 1, 3) || '8' || substr(md5(random()::text), 1, 15))::uuid AS id
      FROM bench_import_stage) v WHERE s.ctid = v.ctid`)
    await client.query('VACUUM ANALYZE bench_import_stage')
  } finally {
    await client.end()
  }
  const insert = (part: number) =>
    pool.query(`INSERT INTO profiles (id, name, gender, gender_probability, age, age_group, country_id, country_name, country_probability)
      SELECT id, name, gender, gender_probability, age,
        CASE WHEN age <= 12 THEN 'child' WHEN age <= 19 THEN 'teenager' WHEN age <= 59 THEN 'adult' ELSE 'senior' END,
        country_id, country_name, country_probability FROM bench_import_stage WHERE part = ${part}
      ON CONFLICT (lower(name)) DO NOTHING`)
  const started = performance.now()
  const results = await Promise.all([insert(0), insert(1)])
  const secondsTaken = (performance.now() - started) / 1000
  const inserted = results.reduce((a, r) => a + (r.rowCount ?? 0), 0)
  await pool.query('DROP TABLE IF EXISTS bench_import_stage')
  if (inserted !== count) throw new Error(`SQL ceiling inserted ${inserted} of ${count}`)
  return inserted / secondsTaken
}
