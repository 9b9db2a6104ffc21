/**
 * npm start — the whole system on one machine, offline: the database (embedded unless DATABASE_URL is
 * set, migrated, seeded when empty), the API on 127.0.0.1, the portal on localhost (two hosts, so the
 * portal's cookie and the API really are on different sites), a local stand-in for GitHub when no
 * OAuth app is configured and for the enrichment services when their URLs are not set.
 *
 * Start-up order, for speed: the database is opened first and, while PGlite loads its WebAssembly
 * and files, the apps' modules load and the stand-ins start; the apps listen once the database is
 * migrated and seeded. (A first start's initdb is CPU-bound: measured, a worker thread for it, an
 * in-memory initdb copied to disk and relaxed durability were no faster.)
 */
import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { loadApiConfig } from '../api/config.ts'
import { openDatabase, type OpenDatabase } from '../db/connect.ts'
import { loadPortalConfig } from '../portal/config.ts'
import { loadDotEnv } from '../platform/dotenv.ts'

const env: Record<string, string | undefined> = { ...process.env }
const dotEnv = loadDotEnv(env)
const apiPort = Number(env.PORT ?? 3000)
const portalPort = Number(env.PORTAL_PORT ?? 3001)
const dataDir = env.DATA_DIR || '.data'
const production = env.DEPLOYMENT_ENV === 'production'
const say = (line: string) => console.log(line)
const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`

/** The stand-in's users and the role each gets under npm start (admin through the allowlist below). */
const STAND_IN_ADMIN_LOGIN = 'octo-admin'

/**
 * Development secrets, made once and kept in .data/ (0600) so that sessions and tokens survive a
 * restart. Production must configure its own: config.ts refuses to start without them there.
 */
function developmentSecrets(): Record<string, string> {
  mkdirSync(dataDir, { recursive: true })
  const file = join(dataDir, 'dev-secrets.json')
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>
  const secrets = {
    JWT_SECRET: randomBytes(32).toString('base64url'),
    PORTAL_CLIENT_SECRET: randomBytes(32).toString('base64url'),
    PORTAL_SESSION_KEY: randomBytes(32).toString('hex'),
  }
  writeFileSync(file, JSON.stringify(secrets, null, 2), { mode: 0o600 })
  return secrets
}

if (dotEnv) say(`Configuration: read ${dotEnv.path} (variables already in the environment win)`)
if (!production) {
  for (const [key, value] of Object.entries(developmentSecrets())) env[key] ??= value
  // Request logs after the banner: one readable line each in development, JSON in production.
  env.LOG_FORMAT ??= 'pretty'
}
env.API_PUBLIC_URL ??= `http://127.0.0.1:${apiPort}`
env.API_URL ??= `http://127.0.0.1:${apiPort}`
env.PORTAL_PUBLIC_URL ??= `http://localhost:${portalPort}`
env.PORTAL_REDIRECT_URI ??= `${env.PORTAL_PUBLIC_URL}/auth/callback`
const useGitHubStandIn = !env.GITHUB_CLIENT_ID
const useEnrichmentStandIn = !env.GENDERIZE_URL && !env.AGIFY_URL && !env.NATIONALIZE_URL
if (useGitHubStandIn && production) {
  console.error('GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET are required in production')
  process.exit(1)
}

// 1. The database, at once (its settings do not depend on the stand-ins).
const dbConfig = loadApiConfig(env)
const databaseStarted = performance.now()
const opening: Promise<OpenDatabase> = openDatabase({
  databaseUrl: dbConfig.databaseUrl,
  dataDir: dbConfig.dataDir,
  poolMax: dbConfig.databaseUrl ? dbConfig.dbPoolMax : 4,
  statementTimeoutMs: dbConfig.dbStatementTimeoutMs,
  seedIfEmpty: true,
  log: (m) => say(`[db] ${m}`),
})
opening.catch(() => {}) // awaited below; this only keeps an early failure from being "unhandled"

// 2. Meanwhile: the apps' modules and the stand-ins.
const [{ startApi }, { startPortal }, { startGitHubStandIn, DEFAULT_STAND_IN_USERS }, { startEnrichmentStubs }, { default: closeWithGrace }] =
  await Promise.all([
    import('../api/server.ts'),
    import('../portal/server.ts'),
    import('../dev/github-stand-in.ts'),
    import('../dev/enrichment-stand-in.ts'),
    import('close-with-grace'),
  ])
const closers: (() => Promise<void>)[] = []
const roles: string[] = []

if (useGitHubStandIn) {
  // The stand-in's admin is admin here through the development allowlist, by GitHub id (stable; a
  // login can be typed by anyone). Only with the stand-in: a real GitHub's id 1001 is someone else.
  const admin = DEFAULT_STAND_IN_USERS.find((u) => u.login === STAND_IN_ADMIN_LOGIN)
  if (!admin) throw new Error(`the GitHub stand-in has no ${STAND_IN_ADMIN_LOGIN}`)
  env.ADMIN_GITHUB_IDS = [env.ADMIN_GITHUB_IDS, String(admin.id)].filter(Boolean).join(',')
  const adminIds = new Set(env.ADMIN_GITHUB_IDS.split(',').map((id) => Number(id.trim())))
  const adminLogins = new Set((env.ADMIN_GITHUB_LOGINS ?? '').split(',').map((l) => l.trim().toLowerCase()))
  const roleOf = (u: { id: number; login: string }) => (adminIds.has(u.id) || adminLogins.has(u.login.toLowerCase()) ? 'admin' : 'analyst')
  const users = DEFAULT_STAND_IN_USERS.map((u) => ({ ...u, note: `${roleOf(u)} in this development start` }))
  const github = await startGitHubStandIn({
    host: '127.0.0.1',
    port: Number(env.GITHUB_STAND_IN_PORT ?? 4001),
    users,
    otherLoginsNote: 'Any other login signs in as analyst (unless listed in ADMIN_GITHUB_LOGINS).',
  })
  closers.push(() => github.close())
  env.GITHUB_CLIENT_ID = github.clientId
  env.GITHUB_CLIENT_SECRET = github.clientSecret
  env.GITHUB_OAUTH_URL = github.url
  env.GITHUB_API_URL = github.url
  say(`GitHub: no OAuth app configured → using the local GitHub STAND-IN at ${github.url} (development only)`)
  for (const u of users) roles.push(`${u.login.padEnd(16)} ${roleOf(u)}`)
  roles.push(`${'any other login'.padEnd(16)} analyst`)
}

if (useEnrichmentStandIn && !production) {
  const stubs = await startEnrichmentStubs({ host: '127.0.0.1', port: Number(env.ENRICHMENT_STAND_IN_PORT ?? 4002) })
  closers.push(() => stubs.close())
  env.GENDERIZE_URL = stubs.urls.genderize
  env.AGIFY_URL = stubs.urls.agify
  env.NATIONALIZE_URL = stubs.urls.nationalize
  say(`Enrichment: GENDERIZE_URL/AGIFY_URL/NATIONALIZE_URL not set → local stand-ins at ${stubs.url} (deterministic answers)`)
}

const apiConfig = loadApiConfig(env)
const portalConfig = loadPortalConfig(env)
const modulesLoaded = performance.now()

// 3. The apps, on the ready database.
let database: OpenDatabase
try {
  database = await opening
} catch (error) {
  for (const close of closers) await close().catch(() => {})
  console.error(`npm start: ${error instanceof Error ? error.message : String(error)}`)
  process.exit(1)
}
const databaseReady = performance.now()
const appsStarted = Math.max(databaseReady, modulesLoaded)
closers.unshift(() => database.close())
const api = await startApi(apiConfig, database)
closers.unshift(() => api.close())
const portal = await startPortal(portalConfig, database)
closers.unshift(() => portal.close())

const first = database.embedded?.created ? ', first start: database initialised' : ''
say('')
say(`  Portal   ${portal.publicUrl}        ← open this in your browser`)
say(`  API      ${api.url}   (OpenAPI docs: ${api.url}/docs)`)
say(`  CLI      npm link && insighta login --api-url ${api.url}`)
if (roles.length > 0) {
  say('')
  say('  Sign in with "Continue with GitHub" on the stand-in as:')
  for (const line of roles) say(`    ${line}`)
  say('  Roles later: npm run users -- promote|demote <login> (works while this runs)')
}
say('')
// From the process's start: Node and the first imports, then the database beside the apps' modules
// and the stand-ins, then the apps' plugins and listening.
say(
  `ready in ${s(performance.now())}: node and imports ${s(databaseStarted)}, then database ${s(databaseReady - databaseStarted)}` +
    ` beside modules and stand-ins ${s(modulesLoaded - databaseStarted)}, then apps ${s(performance.now() - appsStarted)}${first}`,
)

closeWithGrace({ delay: 10_000 }, async ({ err, signal }) => {
  if (err) console.error(err)
  say(`shutting down (${signal ?? 'error'})…`)
  for (const close of closers) await close().catch((e: unknown) => console.error(e))
})
