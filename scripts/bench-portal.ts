/**
 * npm run bench -- portal — the portal's Profiles page rendered for 16 concurrent signed-in users
 * against 1M profiles in a real Postgres: the API and the portal each run as a child process, the
 * portal session is a real one (tokens from the API's test-code login), and every request goes the
 * whole way: cookie → portal session → API (token, rate limit, query) → EJS → HTML.
 * Target: p99 ≤ 50 ms. Two rounds: the API as deployed (its query cache on) and with the cache off.
 */
import { randomBytes } from 'node:crypto'
import { createDb } from '../db/index.ts'
import { ApiClient, type TokenPair } from '../portal/api-client.ts'
import { SecretBox } from '../portal/secrets.ts'
import { SessionStore } from '../portal/session-store.ts'
import { BENCH_DATABASE_URL, ensureProfiles, load, machineLine, startChild, type ChildApp } from './bench-support.ts'

const TARGET_P99_MS = 50
const CONNECTIONS = 16

/** A mix of what analysts do on the Profiles page: first pages, filters, sorts, paging, page sizes. */
function profilePagePaths(): string[] {
  const countries = ['NG', 'KE', 'GH', 'ZA', 'ET', 'AO', 'TZ', 'UG']
  const paths = ['/profiles', '/profiles?page=2', '/profiles?page=7&limit=20', '/profiles?sort_by=name&order=asc']
  countries.forEach((c, i) => {
    paths.push(`/profiles?country_id=${c}&gender=${i % 2 ? 'male' : 'female'}&sort_by=age&order=desc`)
    paths.push(`/profiles?age_group=adult&country_id=${c}&page=${(i % 4) + 1}`)
    paths.push(`/profiles?gender=female&min_age=${20 + i}&max_age=${40 + i}&limit=50`)
  })
  return paths
}

async function signedInCookie(api: ChildApp, databaseUrl: string, sessionKey: Buffer, clientSecret: string): Promise<string> {
  const login = await fetch(`${api.url}/auth/github/callback?code=analyst_test_code`)
  if (!login.ok) throw new Error(`test-code login failed: ${login.status} ${await login.text()}`)
  const tokens = (await login.json()) as TokenPair
  const client = new ApiClient({ baseUrl: api.url, clientId: 'insighta-portal', clientSecret, timeoutMs: 10_000 })
  const user = await client.me({ token: tokens.access_token })
  const db = createDb({ databaseUrl, poolMax: 1 })
  try {
    const store = new SessionStore({
      db: db.db,
      box: new SecretBox(sessionKey),
      api: client,
      idleMs: 3_600_000,
      absoluteMs: 3_600_000,
      refreshMarginMs: 20_000,
    })
    const { cookieValue } = await store.create(tokens, user, 'bench')
    return `insighta_session=${cookieValue}`
  } finally {
    await db.close()
  }
}

async function round(label: string, apiEnv: Record<string, string>, portalEnv: Record<string, string>, options: { total: number; duration: number; sessionKey: Buffer; secret: string }) {
  const api = await startChild('api/server.ts', apiEnv)
  let portal: ChildApp | undefined
  try {
    portal = await startChild('portal/server.ts', { ...portalEnv, API_URL: api.url })
    const cookie = await signedInCookie(api, BENCH_DATABASE_URL, options.sessionKey, options.secret)
    const check = await fetch(`${portal.url}/profiles`, { headers: { cookie }, redirect: 'manual' })
    const html = await check.text()
    const shown = /of ([\d,]+) profiles/.exec(html)?.[1]
    if (check.status !== 200 || Number(shown?.replace(/,/g, '')) !== options.total) {
      throw new Error(`sanity check failed: ${check.status}, page shows ${shown ?? 'no total'} (expected ${options.total})`)
    }
    const requests = profilePagePaths().map((path) => ({ path, headers: { cookie } }))
    // Warm-up (10 s): templates compiled, connections pooled, the JIT settled — steady state is measured.
    await load(`${label} (warm-up)`, portal.url, requests, { connections: CONNECTIONS, duration: 10 })
    const result = await load(label, portal.url, requests, { connections: CONNECTIONS, duration: options.duration })
    console.log(`  portal peak RSS ${portal.peakRssMb().toFixed(0)} MB, API peak RSS ${api.peakRssMb().toFixed(0)} MB`)
    return result
  } finally {
    await portal?.stop()
    await api.stop()
  }
}

export async function benchPortal(options: { rows?: number; duration?: number } = {}) {
  const rows = options.rows ?? 1_000_000
  const duration = options.duration ?? 10
  console.log(`machine: ${machineLine()}`)
  const total = await ensureProfiles(rows)
  console.log(`profiles in ${BENCH_DATABASE_URL.replace(/:[^:@/]*@/, ':***@')}: ${total}`)

  const secret = randomBytes(32).toString('base64url')
  const sessionKey = randomBytes(32)
  const apiEnv = {
    DATABASE_URL: BENCH_DATABASE_URL,
    PORT: '0',
    DB_POOL_MAX: '16',
    DEPLOYMENT_ENV: 'development',
    JWT_SECRET: randomBytes(32).toString('base64url'),
    AUTH_TEST_CODE_ENABLED: 'true',
    ACCESS_TOKEN_TTL_SECONDS: '3600',
    PORTAL_CLIENT_SECRET: secret,
    // The benchmark measures page rendering, not the per-user rate limit.
    RATE_LIMIT_API_PER_MINUTE: '100000000',
    RATE_LIMIT_AUTH_PER_MINUTE: '1000',
  }
  const portalEnv = {
    DATABASE_URL: BENCH_DATABASE_URL,
    PORTAL_HOST: '127.0.0.1',
    PORTAL_PORT: '0',
    PORTAL_PUBLIC_URL: 'http://localhost:3001',
    PORTAL_CLIENT_SECRET: secret,
    PORTAL_SESSION_KEY: sessionKey.toString('hex'),
    DB_POOL_MAX: '8',
    DEPLOYMENT_ENV: 'development',
  }

  console.log(`\nGET /profiles (${profilePagePaths().length} URLs: filters, sorts, pages), ${CONNECTIONS} concurrent users, ${duration} s:`)
  const deployed = await round('portal /profiles, API cache on', apiEnv, portalEnv, { total, duration, sessionKey, secret })
  const cold = await round('portal /profiles, API cache off', { ...apiEnv, CACHE_TTL_SECONDS: '0' }, portalEnv, { total, duration, sessionKey, secret })

  console.log(`\np50 ${deployed.p50} ms, p99 ${deployed.p99} ms as deployed; p50 ${cold.p50} ms, p99 ${cold.p99} ms with every total computed`)
  const met = deployed.p99 <= TARGET_P99_MS
  console.log(`target p99 ≤ ${TARGET_P99_MS} ms at ${CONNECTIONS} users: ${met ? 'met' : 'NOT met'}`)
  if (deployed.non2xx || deployed.errors || cold.non2xx || cold.errors) {
    console.log('some requests failed (see the non-2xx / error counts above)')
    process.exitCode = 1
  }
}

// Run directly: `tsx scripts/bench-portal.ts [rows] [duration]`
if (import.meta.url === `file://${process.argv[1]}`) {
  await benchPortal({ rows: process.argv[2] ? Number(process.argv[2]) : undefined, duration: process.argv[3] ? Number(process.argv[3]) : undefined })
}
