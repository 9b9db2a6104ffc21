/**
 * npm start — the whole system on one machine, offline: the database (embedded unless DATABASE_URL is
 * set, migrated, seeded when empty), the API on 127.0.0.1, the portal on localhost (two hosts, so the
 * portal's cookie and the API really are on different sites), a local stand-in for GitHub when no
 * OAuth app is configured and for the enrichment services when their URLs are not set.
 */
import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import closeWithGrace from 'close-with-grace'
import { loadApiConfig } from '../api/config.ts'
import { startApi } from '../api/server.ts'
import { openDatabase } from '../db/connect.ts'
import { loadPortalConfig } from '../portal/config.ts'
import { startPortal } from '../portal/server.ts'
import { startEnrichmentStubs } from '../dev/enrichment-stand-in.ts'
import { startGitHubStandIn } from '../dev/github-stand-in.ts'

const env: Record<string, string | undefined> = { ...process.env }
const apiPort = Number(env.PORT ?? 3000)
const portalPort = Number(env.PORTAL_PORT ?? 3001)
const dataDir = env.DATA_DIR ?? '.data'
const production = env.DEPLOYMENT_ENV === 'production'
const say = (line: string) => console.log(line)

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

if (!production) {
  for (const [key, value] of Object.entries(developmentSecrets())) env[key] ??= value
}
env.API_PUBLIC_URL ??= `http://127.0.0.1:${apiPort}`
env.API_URL ??= `http://127.0.0.1:${apiPort}`
env.PORTAL_PUBLIC_URL ??= `http://localhost:${portalPort}`
env.PORTAL_REDIRECT_URI ??= `${env.PORTAL_PUBLIC_URL}/auth/callback`

const closers: (() => Promise<void>)[] = []

if (!env.GITHUB_CLIENT_ID) {
  if (production) throw new Error('GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET are required in production')
  const github = await startGitHubStandIn({ host: '127.0.0.1', port: Number(env.GITHUB_STAND_IN_PORT ?? 4001) })
  closers.push(() => github.close())
  env.GITHUB_CLIENT_ID = github.clientId
  env.GITHUB_CLIENT_SECRET = github.clientSecret
  env.GITHUB_OAUTH_URL = github.url
  env.GITHUB_API_URL = github.url
  say(`GitHub: no OAuth app configured → using the local GitHub STAND-IN at ${github.url} (development only)`)
}

if (!env.GENDERIZE_URL && !env.AGIFY_URL && !env.NATIONALIZE_URL && !production) {
  const stubs = await startEnrichmentStubs({ host: '127.0.0.1', port: Number(env.ENRICHMENT_STAND_IN_PORT ?? 4002) })
  closers.push(() => stubs.close())
  env.GENDERIZE_URL = stubs.urls.genderize
  env.AGIFY_URL = stubs.urls.agify
  env.NATIONALIZE_URL = stubs.urls.nationalize
  say(`Enrichment: GENDERIZE_URL/AGIFY_URL/NATIONALIZE_URL not set → local stand-ins at ${stubs.url} (deterministic answers)`)
}

const apiConfig = loadApiConfig(env)
const portalConfig = loadPortalConfig(env)
const database = await openDatabase({
  databaseUrl: apiConfig.databaseUrl,
  dataDir: apiConfig.dataDir,
  poolMax: apiConfig.databaseUrl ? apiConfig.dbPoolMax : 4,
  statementTimeoutMs: apiConfig.dbStatementTimeoutMs,
  seedIfEmpty: true,
  log: (m) => say(`[db] ${m}`),
})
closers.unshift(() => database.close())
const api = await startApi(apiConfig, database)
closers.unshift(() => api.close())
const portal = await startPortal(portalConfig, database)
closers.unshift(() => portal.close())

say('')
say(`  Portal   ${portal.publicUrl}        ← open this in your browser`)
say(`  API      ${api.url}   (OpenAPI docs: ${api.url}/docs)`)
say(`  CLI      npm link && insighta login --api-url ${api.url}`)
say('')

closeWithGrace({ delay: 10_000 }, async ({ err, signal }) => {
  if (err) console.error(err)
  say(`shutting down (${signal ?? 'error'})…`)
  for (const close of closers) await close().catch((e: unknown) => console.error(e))
})
