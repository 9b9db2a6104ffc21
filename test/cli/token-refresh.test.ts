/**
 * Refresh, retry, cross-process locking and logout against a stand-in that enforces the contract's
 * token rules (single-use refresh tokens; reuse revokes the session), so every refresh is counted.
 */
import { readdir, readFile, stat, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import t from 'tap'
import { credentialsPath, writeCredentials, type Credentials } from '../../cli/credentials.ts'
import { ExitCode } from '../../cli/errors.ts'
import { startFakeAuthApi } from './helpers/fake-auth-api.ts'
import { closedPortUrl, expectExit, runCli, tempDir } from './helpers/run-cli.ts'

// Each case starts real CLI processes (~0.4 s each on an idle machine); leave room on a busy one.
t.setTimeout(300_000)

async function setup(t: Tap, options: Parameters<typeof startFakeAuthApi>[0] = {}) {
  const api = await startFakeAuthApi(options)
  t.teardown(() => api.close())
  const home = await tempDir(t)
  return { api, home }
}
type Tap = { teardown(fn: () => unknown): void }

async function saved(home: string): Promise<Credentials> {
  return JSON.parse(await readFile(credentialsPath(home), 'utf8')) as Credentials
}

async function save(home: string, credentials: Credentials) {
  await writeCredentials(home, credentials, () => {})
}

t.test('a token close to expiry is refreshed before the request, silently', async (t) => {
  const { api, home } = await setup(t)
  const before = api.credentials({ expiredLocally: true })
  await save(home, before)
  const result = await runCli(['profiles', 'list', '--json'], { home })
  expectExit(t, result, 0)
  t.equal(result.stderr, '', 'nothing about the refresh is printed')
  t.equal(api.refreshes, 1)
  const after = await saved(home)
  t.not(after.access_token, before.access_token)
  t.not(after.refresh_token, before.refresh_token)
  t.ok(Date.parse(after.expires_at) > Date.now(), 'new expiry in the future')
  t.equal((await stat(credentialsPath(home))).mode & 0o777, 0o600)
  t.same(await readdir(home), ['credentials.json'], 'lock released, no temporary file')
  const profileCall = api.requests.find((r) => r.path === '/api/profiles')
  t.equal(profileCall?.authorization, `Bearer ${after.access_token}`)
  t.ok(api.requests.every((r) => r.version === '1'), 'every request carries X-API-Version: 1')
})

t.test('a 401 invalid_token is answered by one refresh and one retry', async (t) => {
  const { api, home } = await setup(t)
  await save(home, api.credentials())
  api.expireAccessTokens() // the server says no although the local clock says the token is fine
  const result = await runCli(['profiles', 'list'], { home })
  expectExit(t, result, 0)
  t.equal(api.refreshes, 1)
  t.same(
    api.requests.map((r) => `${r.method} ${r.path}`),
    ['GET /api/profiles', 'POST /auth/refresh', 'GET /api/profiles'],
  )
  t.match(result.stderr, /page 1 of 1, total 0/)
})

t.test('when the refresh fails: "Session expired: run insighta login", exit 3', async (t) => {
  const { api, home } = await setup(t)
  await save(home, api.credentials({ expiredLocally: true }))
  api.session.revoked = true
  const result = await runCli(['profiles', 'list'], { home })
  t.equal(result.code, ExitCode.auth)
  t.match(result.stderr, /^error: Session expired: run insighta login\n$/)
})

t.test('a request rejected again after a refresh is not retried forever', async (t) => {
  const { api, home } = await setup(t)
  await save(home, api.credentials())
  api.rejectAllAccessTokens = true // even the refreshed token is refused
  const result = await runCli(['profiles', 'list'], { home })
  t.equal(result.code, ExitCode.auth)
  t.match(result.stderr, /Session expired: run insighta login/)
  t.equal(api.requests.filter((r) => r.path === '/api/profiles').length, 2, 'one retry only')
})

t.test('processes refreshing at once spend the refresh token once and all succeed', async (t) => {
  // A slow refresh endpoint makes the processes overlap for sure.
  const { api, home } = await setup(t, { refreshDelayMs: 400 })
  await save(home, api.credentials({ expiredLocally: true }))
  const results = await Promise.all(Array.from({ length: 4 }, () => runCli(['profiles', 'list', '--json'], { home })))
  for (const r of results) expectExit(t, r, 0)
  t.equal(api.refreshes, 1, 'one refresh for four processes')
  t.equal(api.reuseDetected, false, 'no refresh token was presented twice')
  t.equal(api.session.revoked, false, 'the session is alive')
  const again = await runCli(['profiles', 'list'], { home })
  t.equal(again.code, 0, 'and keeps working afterwards')
})

t.test('a lock left behind by a crashed process does not block the refresh', async (t) => {
  const { api, home } = await setup(t)
  await save(home, api.credentials({ expiredLocally: true }))
  // pid 2^22+1 is above Linux's pid_max default: no such process.
  await writeFile(path.join(home, 'credentials.lock'), JSON.stringify({ pid: 4194305, host: os.hostname(), created_at: Date.now(), nonce: 'x' }))
  const result = await runCli(['profiles', 'list'], { home, timeoutMs: 10_000 })
  expectExit(t, result, 0)
  t.equal(api.refreshes, 1)
})

t.test('logout revokes on the server first, then deletes the file', async (t) => {
  const { api, home } = await setup(t)
  const credentials = api.credentials()
  await save(home, credentials)
  const result = await runCli(['logout'], { home })
  expectExit(t, result, 0)
  t.match(result.stdout, /Logged out: ended the session on the server and removed the local credentials\./)
  t.equal(api.session.revoked, true)
  const logout = api.requests.find((r) => r.path === '/auth/logout')
  t.equal(logout?.authorization, `Bearer ${credentials.access_token}`)
  await t.rejects(stat(credentialsPath(home)), { code: 'ENOENT' })
  const after = await runCli(['whoami'], { home })
  t.equal(after.code, ExitCode.auth)
  t.match(after.stderr, /You are not logged in: run insighta login/)
  const twice = await runCli(['logout'], { home })
  t.equal(twice.code, 0)
  t.match(twice.stdout, /You are not logged in\./)
})

t.test('logout with an unreachable API still deletes the file, and says so', async (t) => {
  const { api, home } = await setup(t)
  const down = await closedPortUrl()
  await save(home, { ...api.credentials(), api_url: down })
  const result = await runCli(['logout'], { home })
  t.equal(result.code, ExitCode.network)
  t.match(result.stderr, `Could not end the session on the server: Could not reach the API at ${down} (connection refused; is it running?). The local credentials were removed anyway`)
  await t.rejects(stat(credentialsPath(home)), { code: 'ENOENT' })
})

t.test('logout of a session that had already ended removes the file without an error', async (t) => {
  const { api, home } = await setup(t)
  await save(home, api.credentials())
  api.session.revoked = true
  const result = await runCli(['logout'], { home })
  expectExit(t, result, 0)
  t.match(result.stdout, /the session had already ended on the server and removed the local credentials/)
  await t.rejects(stat(credentialsPath(home)), { code: 'ENOENT' })
})

t.test('INSIGHTA_TOKEN replaces the file and is never refreshed', async (t) => {
  const { api, home } = await setup(t)
  const fromFile = api.credentials()
  await save(home, fromFile)
  const envToken = api.credentials().access_token
  const ok = await runCli(['profiles', 'list'], { home, env: { INSIGHTA_TOKEN: envToken, INSIGHTA_API_URL: api.url } })
  expectExit(t, ok, 0)
  t.equal(api.requests.at(-1)?.authorization, `Bearer ${envToken}`)

  const rejected = await runCli(['profiles', 'list'], { home, env: { INSIGHTA_TOKEN: 'not-a-token', INSIGHTA_API_URL: api.url } })
  t.equal(rejected.code, ExitCode.auth)
  t.match(rejected.stderr, /The API rejected the token in INSIGHTA_TOKEN: Invalid or expired token\./)
  t.equal(api.refreshes, 0)

  const who = await runCli(['whoami'], { home, env: { INSIGHTA_TOKEN: envToken, INSIGHTA_API_URL: api.url } })
  t.match(who.stdout, /credentials\s+INSIGHTA_TOKEN \(environment variable\)/)
})

t.test('INSIGHTA_API_URL pointing elsewhere than the login is refused (tokens stay with their API)', async (t) => {
  const { api, home } = await setup(t)
  await save(home, api.credentials())
  const elsewhere = await closedPortUrl()
  const result = await runCli(['profiles', 'list'], { home, env: { INSIGHTA_API_URL: elsewhere } })
  t.equal(result.code, ExitCode.auth)
  t.match(result.stderr, `You are logged in to ${api.url}, but INSIGHTA_API_URL is ${elsewhere}: run insighta login to log in there.`)
  t.equal(api.requests.length, 0)
})

t.test('whoami shows the user, the API and where the credentials are stored', async (t) => {
  const { api, home } = await setup(t)
  await save(home, api.credentials())
  const result = await runCli(['whoami'], { home })
  expectExit(t, result, 0)
  t.match(result.stdout, /user\s+octo-analyst/)
  t.match(result.stdout, /role\s+analyst/)
  t.match(result.stdout, new RegExp(`api\\s+${api.url.replaceAll('.', '\\.')}`))
  t.match(result.stdout, new RegExp(`credentials\\s+${credentialsPath(home).replaceAll('.', '\\.')}`))
  const json = await runCli(['whoami', '--json'], { home })
  t.match(JSON.parse(json.stdout), { status: 'success', data: { username: 'octo-analyst' } })
})
