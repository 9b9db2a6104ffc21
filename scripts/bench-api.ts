/**
 * npm run bench — one table: every API case under autocannon (32 connections, cache off), side by
 * side with a Fastify hello-world served the same way in the same run (the floor of this machine and
 * load tool), the case's SQL alone in Postgres (a pg loop on as many connections as the API's pool,
 * uncached: page and exact count), and Node / Postgres CPU per request read from /proc. Then import
 * (rows/s, peak RSS, ratio to INSERT … SELECT of the same rows on the same schema) and seed.
 */
import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import autocannon from 'autocannon'
import pg from 'pg'
import { PROFILE_COLUMNS } from '../contract/profile.ts'
import { probabilityBand } from '../db/repositories/profiles.ts'
import { deleteImported, sqlImportCeiling, upload, writeCsv } from './bench-import.ts'
import { benchSeed } from './bench-seed.ts'
import { backendPids, BENCH_DATABASE_URL, benchApiEnv, cpuMs, cpuOf, ensureProfiles, machineLine, startChild, sum } from './bench-support.ts'

const CONNECTIONS = 32
const SQL_CONNECTIONS = 16 // the API's DB_POOL_MAX in benchApiEnv

interface HttpResult {
  rps: number
  p50: number
  p99: number
  nodeMs: number
  pgMs: number
  bad: number
}

/** The paths of a case: a fixed list walked in turn, or a new path for every request (`at(i)`). */
type Paths = string[] | { at: (i: number) => string }

async function http(url: string, paths: Paths, headers: Record<string, string>, seconds: number, nodePid: number, pgPids: () => Promise<number[]>): Promise<HttpResult> {
  const pgBefore = cpuOf(await pgPids())
  const nodeBefore = cpuMs(nodePid)
  // One counter across all connections: each request takes the next path, so the requests in
  // flight at once are different ones. (A plain request list would have every connection walk it
  // in step — 32 copies of page 1, then of page 2 — which the API's single flight merges into one
  // query each: that measured the merging, not the requests.)
  let sent = 0
  const at = Array.isArray(paths) ? (i: number) => paths[i % paths.length] : paths.at
  const requests: autocannon.Request[] = [{ method: 'GET', headers, setupRequest: (req) => ({ ...req, path: at(sent++) }) }]
  const r = await autocannon({ url, connections: CONNECTIONS, duration: seconds, requests })
  const nodeMs = cpuMs(nodePid) - nodeBefore
  const pgMs = sum(cpuOf(await pgPids(), pgBefore))
  const n = Math.max(1, r.requests.total)
  return { rps: Math.round(r.requests.average), p50: r.latency.p50, p99: r.latency.p99, nodeMs: nodeMs / n, pgMs: pgMs / n, bad: r.non2xx + r.errors + r.timeouts }
}

type Statement = { text: string; values: (i: number) => unknown[] }
interface SqlResult {
  qps: number
  p50: number
  p99: number
  pgMs: number
}

/** The case's statements, in sequence per iteration, on SQL_CONNECTIONS connections for `seconds`. */
async function sqlAlone(statements: Statement[], seconds: number): Promise<SqlResult> {
  const pool = new pg.Pool({ connectionString: BENCH_DATABASE_URL, max: SQL_CONNECTIONS, application_name: 'insighta-bench-sql' })
  try {
    const clients = await Promise.all(Array.from({ length: SQL_CONNECTIONS }, () => pool.connect()))
    const pids = await Promise.all(clients.map(async (c) => (await c.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0].pid))
    const before = cpuOf(pids)
    const latencies: number[] = []
    const end = performance.now() + seconds * 1000
    let i = 0
    await Promise.all(
      clients.map(async (client) => {
        while (performance.now() < end) {
          const n = i++
          const started = performance.now()
          for (const [k, s] of statements.entries()) await client.query({ name: `bench_${k}_${s.text.length}`, text: s.text, values: s.values(n) })
          latencies.push(performance.now() - started)
        }
      }),
    )
    const pgMs = sum(cpuOf(pids, before))
    for (const c of clients) c.release()
    latencies.sort((a, b) => a - b)
    const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]
    return { qps: Math.round(latencies.length / seconds), p50: at(0.5), p99: at(0.99), pgMs: pgMs / Math.max(1, latencies.length) }
  } finally {
    await pool.end()
  }
}

const FLOOR_SOURCE = `
import Fastify from 'fastify'
const app = Fastify({ logger: false })
app.get('/', { schema: { response: { 200: { type: 'object', properties: { hello: { type: 'string' } } } } } }, async () => ({ hello: 'world' }))
// The floor of a route that reads Postgres: the same named prepared SELECT by id on a pool of the
// API's size, nothing else (no auth, no headers, no logging).
import pg from 'pg'
const pool = new pg.Pool({ connectionString: process.env.FLOOR_DATABASE_URL, max: 16, application_name: 'insighta-bench-floor' })
app.get('/by-id/:id', async (request) => {
  const { rows } = await pool.query({ name: 'by_id', text: process.env.FLOOR_BY_ID, values: [request.params.id] })
  return rows[0]
})
// The floor of a list: the API's one-statement page read (ten rows and the write generation) as a
// named prepared statement, the rows returned under a response schema; no auth, total, links or logging.
const row = { type: 'object', properties: Object.fromEntries(process.env.FLOOR_COLUMNS.split(',').map((c) => [c, {}])) }
app.get('/list/:page', { schema: { response: { 200: { type: 'object', properties: { page: { type: 'integer' }, data: { type: 'array', items: row } } } } } }, async (request) => {
  const page = Number(request.params.page)
  const { rows } = await pool.query({ name: 'list', text: process.env.FLOOR_LIST, values: [(page - 1) * 10] })
  return { page, data: rows }
})
await app.listen({ host: '127.0.0.1', port: 0 })
console.log('listening on http://127.0.0.1:' + app.server.address().port)
`

async function startFloor(): Promise<{ url: string; pid: number; stop(): void }> {
  const child = spawn(process.execPath, ['--input-type=module', '-e', FLOOR_SOURCE], {
    cwd: process.cwd(),
    env: {
      ...process.env,
      FLOOR_DATABASE_URL: BENCH_DATABASE_URL,
      FLOOR_BY_ID: `SELECT ${COLS} FROM profiles WHERE id = $1`,
      FLOOR_LIST: `SELECT ${COLS}, (SELECT generation FROM profile_totals) AS generation FROM profiles ORDER BY id DESC LIMIT 10 OFFSET $1`,
      FLOOR_COLUMNS: [...PROFILE_COLUMNS, 'generation'].join(','),
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const url = await new Promise<string>((resolve, reject) => {
    let out = ''
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString()
      const m = /listening on (\S+)/.exec(out)
      if (m) resolve(m[1])
    })
    child.once('exit', (code) => reject(new Error(`hello-world floor exited with ${code}`)))
  })
  return { url, pid: child.pid!, stop: () => child.kill('SIGTERM') }
}

const COLS = PROFILE_COLUMNS.join(', ')
const page = (where: string, order: string, params: number) =>
  `SELECT ${COLS} FROM profiles ${where} ORDER BY ${order} LIMIT 10 OFFSET $${params + 1}`
const ROLLUP: Statement = { text: 'SELECT total FROM profile_totals', values: () => [] }

/**
 * A threshold never asked before on every request (so the API's totals cache never answers): a
 * permutation of 450,000 distinct values in [0.5, 0.95), most of them inside a band, not on its edge.
 */
const variedThreshold = (i: number) => 0.5 + ((i * 7919) % 450_000) / 1_000_000

/**
 * The total of `gender_probability >= t` as the API computes it (countProfilesByBands; prepared here
 * too): on a band's lower edge the bands from there up; inside band k the bands above k plus band k's
 * rows at or above t, from the index. (The odd varied threshold that is an edge counts its whole
 * band: the same total.)
 */
const edgeTotal = (t: number): Statement => ({
  text: "SELECT (SELECT coalesce(sum(n), 0)::int8 FROM profile_probability_counts WHERE dimension = 'gender' AND band >= $1), (SELECT generation FROM profile_totals)",
  values: () => [probabilityBand(t)],
})
const insideTotal = (threshold: (i: number) => number): Statement => ({
  text: `SELECT (SELECT coalesce(sum(n), 0)::int8 FROM profile_probability_counts WHERE dimension = 'gender' AND band > $1)
    + (SELECT count(*) FROM profiles WHERE gender_probability >= $2 AND gender_probability < $3), (SELECT generation FROM profile_totals)`,
  values: (i) => {
    const t = threshold(i)
    return [probabilityBand(t), t, (probabilityBand(t) + 1) / 100]
  },
})

export async function benchApi(options: { rows?: number; duration?: number; only?: string } = {}) {
  const rows = options.rows ?? 1_000_000
  const seconds = options.duration ?? 10
  console.log(`machine before: ${machineLine()}`)
  const total = await ensureProfiles(rows)
  console.log(`profiles in ${BENCH_DATABASE_URL.replace(/:[^:@/]*@/, ':***@')}: ${total}`)
  const pool = new pg.Pool({ connectionString: BENCH_DATABASE_URL, max: 2, application_name: 'insighta-bench' })
  const floor = await startFloor()
  const api = await startChild('api/server.ts', benchApiEnv())
  const dir = await mkdtemp(path.join(os.tmpdir(), 'insighta-bench-'))
  const table: string[][] = []
  const notes: string[] = []
  try {
    const login = await fetch(`${api.url}/auth/github/callback?code=analyst_test_code`)
    const token = ((await login.json()) as { access_token: string }).access_token
    const headers = { 'x-api-version': '1', authorization: `Bearer ${token}` }
    const ids = (await pool.query<{ id: string }>('SELECT id FROM profiles ORDER BY random() LIMIT 200')).rows.map((r) => r.id)
    const pages = (n: number) => Array.from({ length: n }, (_, i) => i + 1)
    const lastPage = Math.floor(total / 10)
    const deepPage = Math.min(50_000, lastPage)
    const apiPgPids = () => backendPids(pool, 'insighta')
    // A steady table, as after autovacuum: the seed's fresh rows are not all-visible yet.
    await pool.query('VACUUM (ANALYZE) profiles')
    // The cursor that leads to the deep page: the link of the page before it (one slow request).
    const before = (await (await fetch(`${api.url}/api/profiles?page=${deepPage - 1}`, { headers })).json()) as {
      data: { id: string }[]
      links: { next_cursor: string | null }
    }
    if (!before.links.next_cursor) throw new Error(`no next_cursor on page ${deepPage - 1}`)
    const deepCursor = { path: before.links.next_cursor, afterId: before.data[before.data.length - 1].id }

    const cases: { label: string; paths: Paths; sql: Statement[] }[] = [
      { label: 'get by id', paths: ids.map((id) => `/api/profiles/${id}`), sql: [{ text: `SELECT ${COLS} FROM profiles WHERE id = $1`, values: (i) => [ids[i % ids.length]] }] },
      { label: 'list, unfiltered, pages 1–100', paths: pages(100).map((p) => `/api/profiles?page=${p}`), sql: [{ text: page('', 'id DESC', 0), values: (i) => [(i % 100) * 10] }, ROLLUP] },
      {
        label: 'list, 1 filter (country)',
        paths: ['NG', 'KE', 'GH', 'AO'].flatMap((c) => pages(5).map((p) => `/api/profiles?country_id=${c}&page=${p}`)),
        sql: [
          { text: page('WHERE country_id = $1', 'id DESC', 1), values: (i) => [['NG', 'KE', 'GH', 'AO'][i % 4], (i % 5) * 10] },
          { text: 'SELECT sum(n) FROM profile_counts WHERE country_id = $1', values: (i) => [['NG', 'KE', 'GH', 'AO'][i % 4]] },
        ],
      },
      {
        label: 'list, 3 filters',
        paths: pages(5).map((p) => `/api/profiles?gender=male&country_id=NG&min_age=25&page=${p}`),
        sql: [
          { text: page("WHERE gender = 'male' AND country_id = 'NG' AND age >= $1", 'id DESC', 1), values: (i) => [25, (i % 5) * 10] },
          { text: "SELECT sum(n) FROM profile_counts WHERE gender = 'male' AND country_id = 'NG' AND age >= $1", values: () => [25] },
        ],
      },
      ...(['age', 'created_at', 'gender_probability', 'country_probability', 'name'] as const).map((column) => ({
        label: `sort_by=${column} desc, pages 1–20`,
        paths: pages(20).map((p) => `/api/profiles?sort_by=${column}&order=desc&page=${p}`),
        sql: [
          { text: page('', column === 'name' ? 'lower(name) DESC' : column === 'created_at' ? 'id DESC' : `${column} DESC, id DESC`, 0), values: (i: number) => [(i % 20) * 10] },
          ROLLUP,
        ],
      })),
      {
        label: 'probability only (≥ 0.8), pages 1–20',
        paths: pages(20).map((p) => `/api/profiles?min_gender_probability=0.8&page=${p}`),
        sql: [{ text: page('WHERE gender_probability >= $1', 'id DESC', 1), values: (i) => [0.8, (i % 20) * 10] }, edgeTotal(0.8)],
      },
      {
        label: 'probability only, varied thresholds (every total a first request)',
        paths: { at: (i) => `/api/profiles?min_gender_probability=${variedThreshold(i)}` },
        sql: [{ text: page('WHERE gender_probability >= $1', 'id DESC', 1), values: (i) => [variedThreshold(i), 0] }, insideTotal(variedThreshold)],
      },
      {
        label: 'NL "adult females above 30"',
        paths: pages(20).map((p) => `/api/profiles/search?q=${encodeURIComponent('adult females above 30')}&page=${p}`),
        sql: [
          { text: page("WHERE gender = 'female' AND age >= $1 AND age <= $2", 'id DESC', 2), values: (i) => [30, 59, (i % 20) * 10] },
          { text: "SELECT sum(n) FROM profile_counts WHERE gender = 'female' AND age >= $1 AND age <= $2", values: () => [30, 59] },
        ],
      },
      { label: `deep page (page ${deepPage}, offset walk)`, paths: [`/api/profiles?page=${deepPage}`], sql: [{ text: page('', 'id DESC', 0), values: () => [(deepPage - 1) * 10] }, ROLLUP] },
      { label: 'page 1 (for the cursor ratio)', paths: ['/api/profiles?page=1'], sql: [{ text: page('', 'id DESC', 0), values: () => [0] }, ROLLUP] },
      {
        label: `deep page (page ${deepPage}) by cursor`,
        paths: [deepCursor.path],
        sql: [{ text: `SELECT ${COLS} FROM profiles WHERE id < $1 ORDER BY id DESC LIMIT 10`, values: () => [deepCursor.afterId] }, ROLLUP],
      },
      {
        label: 'stats (country filter)',
        paths: ['NG', 'KE', 'GH', 'AO', 'ZA', 'EG'].map((c) => `/api/profiles/stats?country_id=${c}`),
        sql: [{ text: 'SELECT gender, age, country_id, n FROM profile_counts WHERE country_id = $1 AND n > 0', values: (i) => [['NG', 'KE', 'GH', 'AO', 'ZA', 'EG'][i % 6]] }],
      },
    ]

    // Sanity: the totals the API serves are exact.
    for (const c of cases.slice(1, 4)) {
      const body = (await (await fetch(`${api.url}${(c.paths as string[])[0]}`, { headers })).json()) as { total: number }
      const sqlTotal = c.sql[1].text.includes('profile_totals') ? total : Number((await pool.query(c.sql[1].text, c.sql[1].values(0) as unknown[])).rows[0].sum)
      if (body.total !== sqlTotal) throw new Error(`${c.label}: total ${body.total} ≠ ${sqlTotal}`)
    }
    for (const threshold of [0.8, 0.805, 0.999999, 1, variedThreshold(1), variedThreshold(2)]) {
      const body = (await (await fetch(`${api.url}/api/profiles?min_gender_probability=${threshold}`, { headers })).json()) as { total: number }
      const counted = Number((await pool.query('SELECT count(*) AS n FROM profiles WHERE gender_probability >= $1', [threshold])).rows[0].n)
      if (body.total !== counted) throw new Error(`min_gender_probability=${threshold}: total ${body.total} ≠ count(*) ${counted}`)
    }

    // Warm-up: JIT, pool connections, plans.
    await http(api.url, cases[0].paths, headers, 2, api.pid, apiPgPids)
    await http(api.url, cases[1].paths, headers, 2, api.pid, apiPgPids)
    const hello = await http(floor.url, ['/'], {}, seconds, floor.pid, async () => [])
    const fmt = (n: number, d = 2) => n.toFixed(d)
    table.push(['hello-world floor', String(hello.rps), String(hello.p50), String(hello.p99), '100 %', fmt(hello.nodeMs, 3), '–', '–', '–', '–', '–'])
    // The bare Fastify + pg floors: what any route doing the same one-statement read can reach here.
    const bareFloor = async (label: string, paths: string[]) => {
      const floorPgPids = () => backendPids(pool, 'insighta-bench-floor')
      await http(floor.url, paths, {}, 2, floor.pid, floorPgPids)
      const r = await http(floor.url, paths, {}, seconds, floor.pid, floorPgPids)
      table.push([
        label, String(r.rps), String(r.p50), String(r.p99),
        `${((100 * r.rps) / hello.rps).toFixed(1)} %`, fmt(r.nodeMs, 3), fmt(r.pgMs, 3), '–', '–', '–', '–',
      ])
    }
    if (options.only === undefined || 'get by id'.includes(options.only))
      await bareFloor('(floor) bare Fastify + the same SELECT by id', ids.map((id) => `/by-id/${id}`))
    if (options.only === undefined || 'list, unfiltered, pages 1–100'.includes(options.only))
      await bareFloor('(floor) bare Fastify + the same page read, pages 1–100', pages(100).map((p) => `/list/${p}`))
    for (const c of cases) {
      if (options.only !== undefined && !c.label.includes(options.only)) continue
      const r = await http(api.url, c.paths, headers, seconds, api.pid, apiPgPids)
      const s = await sqlAlone(c.sql, Math.max(3, seconds / 2))
      table.push([
        c.label + (r.bad ? ` (${r.bad} non-2xx/errors)` : ''),
        String(r.rps), String(r.p50), String(r.p99), `${((100 * r.rps) / hello.rps).toFixed(1)} %`,
        fmt(r.nodeMs, 3), fmt(r.pgMs, 3), String(s.qps), fmt(s.p50), fmt(s.p99), fmt(s.pgMs, 3),
      ])
      console.log(`  ${table.at(-1)!.join(' | ')}   (API peak RSS so far ${api.peakRssMb().toFixed(0)} MB)`)
    }
    const cachedLabel = 'list, unfiltered, pages 1–100, query cache on (repeated)'
    if (options.only === undefined || cachedLabel.includes(options.only)) {
      // The same list against an API with the query cache on (its default TTL): after the first
      // round every page is a hit, answered without Postgres.
      const cached = await startChild('api/server.ts', benchApiEnv({ CACHE_TTL_SECONDS: '30' }))
      try {
        const cachedLogin = await fetch(`${cached.url}/auth/github/callback?code=analyst_test_code`)
        const cachedHeaders = { ...headers, authorization: `Bearer ${((await cachedLogin.json()) as { access_token: string }).access_token}` }
        const listPaths = pages(100).map((p) => `/api/profiles?page=${p}`)
        const cachedPgPids = () => backendPids(pool, 'insighta')
        await http(cached.url, listPaths, cachedHeaders, 2, cached.pid, cachedPgPids)
        const r = await http(cached.url, listPaths, cachedHeaders, seconds, cached.pid, cachedPgPids)
        table.push([
          cachedLabel + (r.bad ? ` (${r.bad} non-2xx/errors)` : ''),
          String(r.rps), String(r.p50), String(r.p99), `${((100 * r.rps) / hello.rps).toFixed(1)} %`, fmt(r.nodeMs, 3), fmt(r.pgMs, 3), '–', '–', '–', '–',
        ])
        console.log(`  ${table.at(-1)!.join(' | ')}`)
      } finally {
        await cached.stop()
      }
    }
    notes.push(`API peak RSS over the HTTP cases: ${api.peakRssMb().toFixed(0)} MB`)
    const row = (prefix: string) => table.find((r) => r[0].startsWith(prefix))
    const [first, byCursor] = [row('page 1 (for the cursor ratio)'), row(`deep page (page ${deepPage}) by cursor`)]
    if (first && byCursor) {
      const ratio = (i: number) => (Number(byCursor[i]) / Math.max(1, Number(first[i]))).toFixed(2)
      notes.push(`page ${deepPage} by cursor ÷ page 1: p50 ${ratio(2)}×, p99 ${ratio(3)}× (target ≤ 2×)`)
    }
    if (options.only === undefined) {
    // What a first request's total cost before the bands: count(*) of the varied thresholds, alone.
    const counted = await sqlAlone([{ text: 'SELECT count(*) FROM profiles WHERE gender_probability >= $1', values: (i) => [variedThreshold(i)] }], Math.max(3, seconds / 2))
    table.push(['(SQL only) count(*) of a varied threshold, the path before the bands', '–', '–', '–', '–', '–', '–', String(counted.qps), fmt(counted.p50), fmt(counted.p99), fmt(counted.pgMs, 3)])
    console.log(`  ${table.at(-1)!.join(' | ')}`)

    // Import: the API's streamed CSV import vs INSERT … SELECT of as many rows on the same schema.
    const importRows = Math.min(500_000, Math.floor(total / 2))
    await deleteImported(pool)
    const csv = path.join(dir, 'import.csv')
    await writeCsv(csv, importRows, 'X', 101)
    const rssBefore = api.peakRssMb()
    const apiPg = cpuOf(await apiPgPids())
    const nodeBefore = cpuMs(api.pid)
    const imported = await upload(api, await adminToken(api.url), csv)
    if (imported.status !== 200 || imported.body.inserted !== importRows) throw new Error(`import: ${imported.status} ${JSON.stringify(imported.body)}`)
    const importRate = importRows / imported.seconds
    const importNodeUs = ((cpuMs(api.pid) - nodeBefore) * 1000) / importRows
    const importPgUs = (sum(cpuOf(await apiPgPids(), apiPg)) * 1000) / importRows
    const ceiling = await sqlImportCeiling(pool, dir, importRows)
    table.push([
      `import ${importRows} rows into ${total}`, `${Math.round(importRate)} rows/s`, '', '', `${((100 * importRate) / ceiling).toFixed(0)} % of SQL`,
      `${importNodeUs.toFixed(1)} µs/row`, `${importPgUs.toFixed(1)} µs/row`, `${Math.round(ceiling)} rows/s`, '', '', `peak RSS ${api.peakRssMb().toFixed(0)} MB (before ${rssBefore.toFixed(0)})`,
    ])
    await deleteImported(pool)
    }
  } finally {
    await api.stop()
    floor.stop()
    await pool.end()
    await rm(dir, { recursive: true, force: true })
  }
  const seed = options.only === undefined ? await benchSeed({ rows }) : undefined
  if (seed) table.push([`seed ${seed.rows} into an empty table`, `${Math.round(seed.rows / seed.seconds)} rows/s`, '', '', '', '', '', '', '', '', `${seed.seconds.toFixed(1)} s`])

  const head = ['case', 'req/s', 'p50 ms', 'p99 ms', 'share of floor', 'Node ms/req', 'PG ms/req', 'SQL alone q/s', 'SQL p50 ms', 'SQL p99 ms', 'PG ms/q (SQL alone)']
  console.log(`\n${CONNECTIONS} connections, ${seconds} s per case, cache off; SQL alone on ${SQL_CONNECTIONS} connections (uncached page + exact count)\n`)
  console.log(`| ${head.join(' | ')} |\n|${head.map(() => '---').join('|')}|`)
  for (const row of table) console.log(`| ${row.join(' | ')} |`)
  for (const note of notes) console.log(`\n${note}`)
  console.log(`\nmachine after: ${machineLine()}`)
}

async function adminToken(url: string): Promise<string> {
  const login = await fetch(`${url}/auth/github/callback?code=test_code`)
  return ((await login.json()) as { access_token: string }).access_token
}

