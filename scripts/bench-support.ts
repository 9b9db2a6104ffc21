/**
 * Shared by the benchmark scripts: a real Postgres holding ≥ 1M profiles, the API started as a child
 * process (so its memory is its own) in its production form (compiled by `npm run build`, run by
 * plain node), a peak-RSS sampler, and an autocannon runner that prints one line.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import autocannon from 'autocannon'
import pg from 'pg'
import { createDb } from '../db/index.ts'
import { migrateToLatest } from '../db/migrate.ts'
import { insertSeedProfiles, readSeedFile, seedFromFile } from '../db/seed/seed.ts'
import { syntheticProfiles } from '../db/seed/synthetic.ts'
import { build } from './build.ts'

export const BENCH_DATABASE_URL =
  process.env.BENCH_DATABASE_URL ?? 'postgres://postgres:postgres@127.0.0.1:5432/insighta_bench'

const TICK_MS = 1000 / 100 // CLK_TCK

/** utime + stime of a process, in ms; 0 when it is gone. */
export function cpuMs(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
    return (Number(fields[11]) + Number(fields[12])) * TICK_MS
  } catch {
    return 0
  }
}

/** Postgres backends of one application on the bench database. */
export async function backendPids(pool: pg.Pool, application: string): Promise<number[]> {
  const { rows } = await pool.query<{ pid: number }>(
    'SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1',
    [application],
  )
  return rows.map((r) => r.pid)
}

/** CPU ms of each process since `before` (or since it started). */
export function cpuOf(pids: Iterable<number>, before = new Map<number, number>()): Map<number, number> {
  const now = new Map<number, number>()
  for (const pid of pids) now.set(pid, cpuMs(pid) - (before.get(pid) ?? 0))
  return now
}
export const sum = (m: Map<number, number>) => [...m.values()].reduce((a, b) => a + b, 0)

export function machineLine(): string {
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU'
  return `${os.cpus().length} × ${cpu}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB RAM, Node ${process.version}, load avg ${os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`
}

async function ensureDatabaseExists(url: string) {
  const target = new URL(url)
  const name = target.pathname.slice(1)
  const admin = new URL(url)
  admin.pathname = '/postgres'
  const client = new pg.Client({ connectionString: admin.toString() })
  await client.connect()
  const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])
  if (exists.rowCount === 0) await client.query(`CREATE DATABASE "${name.replace(/"/g, '')}"`)
  await client.end()
}

/** Migrates and tops the profiles table up to `target` rows; prints how long seeding took. */
export async function ensureProfiles(target: number, url = BENCH_DATABASE_URL): Promise<number> {
  await ensureDatabaseExists(url)
  const db = createDb({ databaseUrl: url, poolMax: 2 })
  try {
    await migrateToLatest(db.db)
    await seedFromFile(db.db)
    const { rows } = await db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM profiles')
    const have = rows[0].n
    if (have < target) {
      const missing = target - have
      console.log(`seeding ${missing} synthetic profiles…`)
      const started = performance.now()
      const seed = await readSeedFile()
      const result = await insertSeedProfiles(db.db, syntheticProfiles(seed, { count: missing, offset: have }), { concurrency: 2 })
      const s = (performance.now() - started) / 1000
      console.log(`seeded ${result.inserted} rows in ${s.toFixed(1)} s (${Math.round(result.inserted / s)} rows/s)`)
      await db.pool.query('VACUUM ANALYZE profiles')
    }
    const after = await db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM profiles')
    return after.rows[0].n
  } finally {
    await db.close()
  }
}

/**
 * The API as the benchmarks run it: on the bench database, cache off (every total computed), the
 * graders' test_code login on for a token, and the per-user rate limit out of the way — the
 * benchmarks measure the data path.
 */
export function benchApiEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    DATABASE_URL: BENCH_DATABASE_URL,
    PORT: '0',
    CACHE_TTL_SECONDS: '0',
    DB_POOL_MAX: '16',
    DEPLOYMENT_ENV: 'development',
    AUTH_TEST_CODE_ENABLED: 'true',
    ACCESS_TOKEN_TTL_SECONDS: '3600',
    RATE_LIMIT_API_PER_MINUTE: '100000000',
    RATE_LIMIT_AUTH_PER_MINUTE: '1000',
    ...extra,
  }
}

export interface ChildApp {
  url: string
  pid: number
  child: ChildProcess
  /** highest resident set size so far (VmHWM), MB */
  peakRssMb(): number
  stop(): Promise<void>
}

let built: Promise<string> | undefined

/**
 * Starts the compiled `<entry>` (e.g. 'api/server.ts' runs dist/api/server.js, built once per run
 * so it is never stale) with env; resolves once it prints "listening on <url>".
 */
export async function startChild(entry: string, env: Record<string, string>): Promise<ChildApp> {
  built ??= build()
  const compiled = path.join(await built, entry.replace(/\.ts$/, '.js'))
  // BENCH_CPU_PROF_DIR=dir writes a V8 CPU profile of every child there when it exits.
  const profileDir = process.env.BENCH_CPU_PROF_DIR
  const child = spawn(process.execPath, [...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []), compiled], {
    env: { ...process.env, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const url = await new Promise<string>((resolve, reject) => {
    let out = ''
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString()
      const m = /listening on (http:\/\/\S+)/.exec(out)
      if (m) resolve(m[1])
    })
    child.once('exit', (code) => reject(new Error(`${entry} exited with ${code}: ${out}`)))
  })
  child.stdout!.resume()
  const pid = child.pid!
  return {
    url,
    pid,
    child,
    peakRssMb() {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8')
      const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0)
      return kb / 1024
    },
    async stop() {
      if (child.exitCode !== null) return
      child.kill('SIGTERM')
      await new Promise((r) => child.once('exit', r))
    },
  }
}

export interface LoadResult {
  rps: number
  p50: number
  p99: number
  non2xx: number
  errors: number
}

export async function load(
  label: string,
  url: string,
  requests: { path: string; headers?: Record<string, string> }[],
  options: { connections?: number; duration?: number } = {},
): Promise<LoadResult> {
  const result = await autocannon({
    url,
    connections: options.connections ?? 32,
    duration: options.duration ?? 10,
    requests: requests.map((r) => ({ method: 'GET', path: r.path, headers: r.headers })),
  })
  const out = {
    rps: Math.round(result.requests.average),
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
  }
  console.log(
    `${label.padEnd(34)} ${String(out.rps).padStart(7)} req/s   p50 ${String(out.p50).padStart(4)} ms   p99 ${String(out.p99).padStart(4)} ms` +
      (out.non2xx || out.errors ? `   (non-2xx ${out.non2xx}, errors ${out.errors})` : ''),
  )
  return out
}
