/**
 * The whole system for a browser test, on two hosts: the API on 127.0.0.1, the portal on localhost
 * (so cookies really are cross-site), GitHub and the enrichment services replaced by their
 * stand-ins, one seeded database, and a headless Chromium whose page errors (and console errors but
 * the 403/404s the tests provoke) are collected. Everything is closed at the test's teardown.
 */
import { randomBytes } from 'node:crypto'
import { mkdir } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium, type Browser, type BrowserContext, type BrowserContextOptions, type Page } from 'playwright-core'
import { loadApiConfig } from '../../../api/config.ts'
import { startApi } from '../../../api/server.ts'
import { startEnrichmentStubs, type EnrichmentStubs } from '../../../dev/enrichment-stand-in.ts'
import { startGitHubStandIn, type GitHubStandIn } from '../../../dev/github-stand-in.ts'
import { loadPortalConfig } from '../../../portal/config.ts'
import { startPortal } from '../../../portal/server.ts'
import { createTestDatabase, type Teardown, type TestDatabase } from '../../helpers/database.ts'
import { freePort } from '../../helpers/ports.ts'

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..')
/** Screenshots of a run: never inside the repository's tracked folders. */
export const ARTIFACTS = path.join(REPO_ROOT, 'test-artifacts', 'e2e')
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

export interface PortalSystem {
  /** e.g. http://127.0.0.1:41234 */
  api: string
  /** e.g. http://localhost:41235 */
  portal: string
  github: GitHubStandIn
  stubs: EnrichmentStubs
  db: TestDatabase
  context: BrowserContext
  page: Page
  /** page errors and console errors so far: a test ends by expecting none */
  problems: string[]
}

export interface PortalSystemOptions {
  /** configuration beyond the shared one, e.g. { ACCESS_TOKEN_TTL_SECONDS: '10' } */
  apiEnv?: Record<string, string>
  portalEnv?: Record<string, string>
  browserContext?: BrowserContextOptions
}

export async function startPortalSystem(t: Teardown, options: PortalSystemOptions = {}): Promise<PortalSystem> {
  await mkdir(ARTIFACTS, { recursive: true })
  const github = await startGitHubStandIn({ host: '127.0.0.1' })
  t.teardown(() => github.close())
  const stubs = await startEnrichmentStubs({ host: '127.0.0.1' })
  t.teardown(() => stubs.close())
  const db = await createTestDatabase(t, { seed: true })
  const api = `http://127.0.0.1:${await freePort()}`
  const portal = `http://localhost:${await freePort()}`
  const portalSecret = randomBytes(32).toString('base64url')
  const shared = { ...db, embedded: undefined }

  const apiServer = await startApi(
    loadApiConfig({
      DEPLOYMENT_ENV: 'test',
      LOG_LEVEL: 'silent',
      HOST: '127.0.0.1',
      PORT: new URL(api).port,
      API_PUBLIC_URL: api,
      GITHUB_CLIENT_ID: github.clientId,
      GITHUB_CLIENT_SECRET: github.clientSecret,
      GITHUB_OAUTH_URL: github.url,
      GITHUB_API_URL: github.url,
      PORTAL_CLIENT_SECRET: portalSecret,
      PORTAL_REDIRECT_URI: `${portal}/auth/callback`,
      ADMIN_GITHUB_LOGINS: 'octo-admin',
      RATE_LIMIT_API_PER_MINUTE: '100000',
      RATE_LIMIT_AUTH_PER_MINUTE: '1000',
      GENDERIZE_URL: stubs.urls.genderize,
      AGIFY_URL: stubs.urls.agify,
      NATIONALIZE_URL: stubs.urls.nationalize,
      ...options.apiEnv,
    }),
    shared,
  )
  t.teardown(() => apiServer.close())
  const portalServer = await startPortal(
    loadPortalConfig({
      DEPLOYMENT_ENV: 'test',
      LOG_LEVEL: 'silent',
      PORTAL_HOST: '127.0.0.1',
      PORTAL_PORT: new URL(portal).port,
      PORTAL_PUBLIC_URL: portal,
      API_URL: api,
      PORTAL_CLIENT_SECRET: portalSecret,
      PORTAL_SESSION_KEY: randomBytes(32).toString('hex'),
      ...options.portalEnv,
    }),
    shared,
  )
  t.teardown(() => portalServer.close())

  const browser: Browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  })
  t.teardown(() => browser.close())
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, ...options.browserContext })
  const page = await context.newPage()
  const problems: string[] = []
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`))
  page.on('console', (message) => {
    if (message.type() === 'error' && !/status of 40[34]/.test(message.text())) problems.push(`console: ${message.text()}`)
  })
  return { api, portal, github, stubs, db, context, page, problems }
}

/**
 * From the portal's login page: "Continue with GitHub", then the stand-in's sign-in as `login`.
 * `atGitHub` runs on the stand-in's page before the login is chosen (assertions, a screenshot).
 * Returns once the browser has left the stand-in; the caller waits for where it expects to land.
 */
export async function signInWithGitHub(page: Page, login: string, atGitHub?: () => Promise<void>): Promise<void> {
  await page.getByRole('button', { name: 'Continue with GitHub' }).click()
  await page.waitForURL(/\/login\/oauth\/authorize/)
  await atGitHub?.()
  await page.locator(`button[name="login"][value="${login}"]`).click()
}
