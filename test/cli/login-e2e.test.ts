/**
 * The CLI end to end against the real API and identity layer, with GitHub replaced by the stand-in
 * and a test "browser" following every redirect: login, whoami, refresh (before expiry, after a
 * server-side expiry, by several processes at once), sessions, users, logout.
 */
import { readFile, stat, writeFile } from 'node:fs/promises'
import { hostname } from 'node:os'
import t from 'tap'
import { credentialsPath, type Credentials } from '../../cli/credentials.ts'
import { ExitCode } from '../../cli/errors.ts'
import { CLI_VERSION } from '../../cli/version.ts'
import { startLiveApi } from './helpers/live-api.ts'
import { cliBuilt, collect, expectExit, runCli, spawnCli, tempDir, waitForStderr } from './helpers/run-cli.ts'
import { AUTHORIZE_URL, BROWSER_AGENT, cliLogin } from './helpers/test-browser.ts'

// Each case starts real CLI processes (~0.4 s each on an idle machine); leave room on a busy one.
t.setTimeout(600_000)

// The API's clock runs ahead by `skew` ms when a test wants tokens to expire server-side only.
let skew = 0
const live = await startLiveApi(t, { seed: true, clock: () => Date.now() + skew })

async function saved(home: string): Promise<Credentials> {
  return JSON.parse(await readFile(credentialsPath(home), 'utf8')) as Credentials
}

/** Makes the CLI believe its access token has expired (the local clock's view), nothing else. */
async function expireLocally(home: string) {
  const credentials = await saved(home)
  await writeFile(credentialsPath(home), JSON.stringify({ ...credentials, expires_at: new Date(Date.now() - 1000).toISOString() }), { mode: 0o600 })
}

async function loggedIn(t: Tap, login = 'octo-analyst') {
  const home = await tempDir(t)
  const result = await cliLogin(live.url, live.github, login, { home })
  if (result.code !== 0) throw new Error(`login failed: ${result.stderr}`)
  return home
}
type Tap = { teardown(fn: () => unknown): void }

t.test('login through the browser, then whoami', async (t) => {
  const home = await tempDir(t)
  const result = await cliLogin(live.url, live.github, 'octo-analyst', { home })
  expectExit(t, result, 0)
  t.equal(result.page.status, 200)
  t.match(result.page.body, /You are logged in/)
  t.notMatch(result.page.body, /code|state/i, 'the page shows nothing from the URL')
  t.match(result.stdout, `Logged in to ${live.url} as octo-analyst (analyst).`)
  t.match(result.stdout, `Credentials saved in ${credentialsPath(home)}.`)

  t.equal((await stat(home)).mode & 0o777, 0o700)
  t.equal((await stat(credentialsPath(home))).mode & 0o777, 0o600)
  const credentials = await saved(home)
  t.match(credentials, { version: 1, api_url: live.url, token_type: 'Bearer', user: { username: 'octo-analyst', role: 'analyst' } })
  t.ok(Date.parse(credentials.expires_at) > Date.now(), 'expiry recorded')

  await t.rejects(fetch(result.page.loopbackUrl), 'the listener is gone after the login')

  const who = await runCli(['whoami'], { home })
  expectExit(t, who, 0)
  t.match(who.stdout, /user\s+octo-analyst\nrole\s+analyst\nemail\s+octo-analyst@example\.com/)
  t.match(who.stdout, `credentials  ${credentialsPath(home)}`)
})

t.test('logging in again ends the session the new login replaced', async (t) => {
  const home = await loggedIn(t)
  const { refresh_token: old } = await saved(home)
  const again = await cliLogin(live.url, live.github, 'octo-analyst', { home })
  expectExit(t, again, 0)
  const reuse = await fetch(`${live.url}/auth/refresh`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ refresh_token: old }),
  })
  t.equal(reuse.status, 401, 'the replaced session is over')
  const who = await runCli(['whoami'], { home })
  expectExit(t, who, 0)
})

t.test('a login cancelled in the browser fails with exit code 3 and saves nothing', async (t) => {
  const home = await tempDir(t)
  await cliBuilt()
  const child = spawnCli(['login', '--no-browser', '--api-url', live.url], { home })
  const done = collect(child, 30_000)
  const [, url] = await waitForStderr(child, AUTHORIZE_URL)
  const start = await fetch(url, { redirect: 'manual' })
  const back = await live.github.deny(start.headers.get('location') ?? '')
  const callback = await fetch(back, { redirect: 'manual' })
  const page = await fetch(callback.headers.get('location') ?? '')
  t.equal(page.status, 200)
  const result = await done
  t.equal(result.code, ExitCode.auth)
  t.match(result.stderr, /error: Login did not complete: /)
  await t.rejects(stat(credentialsPath(home)), { code: 'ENOENT' })
})

t.test('a token at the end of its life is refreshed before the request', async (t) => {
  const home = await loggedIn(t)
  const before = await saved(home)
  await expireLocally(home)
  const result = await runCli(['profiles', 'list', '--limit', '1', '--json'], { home })
  expectExit(t, result, 0)
  t.equal(result.stderr, '')
  const after = await saved(home)
  t.not(after.refresh_token, before.refresh_token, 'rotated')
  t.not(after.access_token, before.access_token)
  t.ok(Date.parse(after.expires_at) > Date.now())
  t.equal((await stat(credentialsPath(home))).mode & 0o777, 0o600)
})

t.test('an access token the API says has expired is refreshed once and the request retried', async (t) => {
  const home = await loggedIn(t)
  const before = await saved(home)
  skew = (before.expires_in + 5) * 1000 // past the access token's life, inside the refresh token's
  t.teardown(() => (skew = 0))
  const result = await runCli(['profiles', 'list', '--limit', '2'], { home })
  expectExit(t, result, 0)
  t.match(result.stderr, /page 1 of 1013, total 2026/)
  t.not((await saved(home)).refresh_token, before.refresh_token)
})

t.test('four processes refreshing at once all succeed and the session survives', async (t) => {
  const home = await loggedIn(t)
  const before = await saved(home)
  await expireLocally(home)
  const results = await Promise.all(Array.from({ length: 4 }, () => runCli(['profiles', 'stats', '--json'], { home })))
  for (const r of results) expectExit(t, r, 0)
  const after = await saved(home)
  t.not(after.refresh_token, before.refresh_token)
  // Had two of them spent the same refresh token, the API would have revoked the session.
  await expireLocally(home)
  const later = await runCli(['whoami'], { home })
  expectExit(t, later, 0)
})

t.test('sessions: list marks this one; revoking another logs that device out', async (t) => {
  const home = await loggedIn(t)
  const other = await loggedIn(t)
  const otherId = (await runCli(['sessions', 'list', '--json'], { home: other })).stdout
  const otherSession = (JSON.parse(otherId) as { data: { id: string; current: boolean }[] }).data.find((s) => s.current)
  t.ok(otherSession, 'the other device sees its own session as current')

  const listed = JSON.parse((await runCli(['sessions', 'list', '--json'], { home })).stdout) as { data: { user_agent: string; current: boolean }[] }
  t.equal(listed.data.find((s) => s.current)?.user_agent, `insighta/${CLI_VERSION} (${hostname()}; ${process.platform})`, 'the CLI’s user agent')
  t.notOk(listed.data.some((s) => s.user_agent === BROWSER_AGENT), 'not the browser’s that logged in')

  const table = await runCli(['sessions', 'list'], { home })
  expectExit(t, table, 0)
  t.match(table.stdout, /^ID\s+CURRENT\s+CLIENT ID\s+DEVICE/)
  t.match(table.stdout, /insighta-cli/)
  t.match(table.stdout, `insighta ${CLI_VERSION} on ${hostname()}`)
  t.match(table.stdout, /\byes\b/)

  const revoked = await runCli(['sessions', 'revoke', otherSession!.id], { home })
  expectExit(t, revoked, 0)
  t.equal(revoked.stdout, `Revoked session ${otherSession!.id}.\n`)
  const locked = await runCli(['profiles', 'list'], { home: other })
  t.equal(locked.code, ExitCode.auth)
  t.match(locked.stderr, /Session expired: run insighta login/)
})

t.test('roles: an analyst cannot create; an admin manages users by login', async (t) => {
  const analyst = await loggedIn(t, 'octo-analyst')
  const denied = await runCli(['profiles', 'create', '--name', 'Ada Lovelace'], { home: analyst })
  t.equal(denied.code, ExitCode.permission)
  t.match(denied.stderr, /^error: .+\.\n$/)

  const admin = await loggedIn(t, 'octo-admin')
  const list = await runCli(['users', 'list', '--search', 'octo'], { home: admin })
  expectExit(t, list, 0)
  t.match(list.stdout, /^USERNAME\s+ROLE\s+IS ACTIVE/)
  t.match(list.stdout, /octo-analyst\s+analyst\s+yes/)
  t.match(list.stderr, /page 1 of 1, total 2/)

  const promote = await runCli(['users', 'set-role', 'octo-analyst', 'admin'], { home: admin })
  expectExit(t, promote, 0)
  t.equal(promote.stdout, 'octo-analyst is now admin.\n')
  const demote = await runCli(['users', 'set-role', 'OCTO-ANALYST', 'analyst', '--json'], { home: admin })
  t.match(JSON.parse(demote.stdout), { status: 'success', data: { username: 'octo-analyst', role: 'analyst' } })

  const suspend = await runCli(['users', 'suspend', 'octo-analyst'], { home: admin })
  expectExit(t, suspend, 0)
  const blocked = await runCli(['profiles', 'list'], { home: analyst })
  expectExit(t, blocked, ExitCode.permission)
  t.equal(blocked.stderr, 'error: Your account has been suspended by an administrator.\n')
  const activate = await runCli(['users', 'activate', 'octo-analyst'], { home: admin })
  expectExit(t, activate, 0)
  t.equal(activate.stdout, 'octo-analyst is active again.\n')

  const missing = await runCli(['users', 'suspend', 'nobody-here'], { home: admin })
  t.equal(missing.code, ExitCode.notFound)
  t.equal(missing.stderr, 'error: No user has the login nobody-here.\n')

  const notAdmin = await loggedIn(t, 'octo-analyst')
  const forbidden = await runCli(['users', 'list'], { home: notAdmin })
  t.equal(forbidden.code, ExitCode.permission)
})

t.test('logout ends the session on the server, then deletes the file', async (t) => {
  const home = await loggedIn(t)
  const { refresh_token: refreshToken } = await saved(home)
  const result = await runCli(['logout'], { home })
  expectExit(t, result, 0)
  t.equal(result.stdout, 'Logged out: ended the session on the server and removed the local credentials.\n')
  await t.rejects(stat(credentialsPath(home)), { code: 'ENOENT' })
  const refresh = await fetch(`${live.url}/auth/refresh`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ refresh_token: refreshToken }),
  })
  t.equal(refresh.status, 401, 'the refresh token is dead on the server')
  const after = await runCli(['profiles', 'list'], { home })
  t.equal(after.code, ExitCode.auth)
  t.match(after.stderr, /You are not logged in: run insighta login/)
})

t.test('logout --all ends the sessions of every device', async (t) => {
  const first = await loggedIn(t, 'octo-all')
  const second = await loggedIn(t, 'octo-all')
  const result = await runCli(['logout', '--all'], { home: first })
  expectExit(t, result, 0)
  t.match(result.stdout, /ended every session of your account on the server/)
  const other = await runCli(['whoami'], { home: second })
  t.equal(other.code, ExitCode.auth)
  t.match(other.stderr, /Session expired: run insighta login/)
})

t.test('idle sign-out: the CLI says "signed out after 5 minutes without activity"; whoami still shows who it was', async (t) => {
  const home = await loggedIn(t)
  const fresh = await saved(home)
  t.equal(fresh.refresh_expires_in, 300, "the API's idle lifetime (REFRESH_TOKEN_IDLE_SECONDS default) is stored")
  t.ok(Math.abs(Date.parse(fresh.refresh_expires_at ?? '') - (Date.parse(fresh.saved_at) + 300_000)) < 2000, 'and when it lapses')

  // Six idle minutes pass, on the API's clock and on ours.
  skew = 6 * 60_000
  t.teardown(() => (skew = 0))
  const past = new Date(Date.now() - 60_000).toISOString()
  await writeFile(credentialsPath(home), JSON.stringify({ ...fresh, expires_at: past, refresh_expires_at: past }), { mode: 0o600 })

  const who = await runCli(['whoami'], { home })
  expectExit(t, who, ExitCode.auth)
  t.match(who.stdout, /^user\s+octo-analyst\nrole\s+analyst\nemail\s+octo-analyst@example\.com\n/, 'the stored user')
  t.match(who.stdout, /\nsession\s+ended\n$/)
  t.equal(who.stderr, 'error: Signed out after 5 minutes without activity: run insighta login\n')

  const list = await runCli(['profiles', 'list'], { home })
  expectExit(t, list, ExitCode.auth)
  t.equal(list.stderr, 'error: Signed out after 5 minutes without activity: run insighta login\n')
})

t.test('sessions: when each ends (idle and absolute); revoke by a prefix, ambiguity refused', async (t) => {
  const home = await loggedIn(t, 'octo-sessions')
  const other = await loggedIn(t, 'octo-sessions')
  const table = await runCli(['sessions'], { home })
  expectExit(t, table, 0)
  const [header, ...rows] = table.stdout.trimEnd().split('\n').map((line) => line.split('\t'))
  t.same(header.slice(0, 9), ['ID', 'CURRENT', 'CLIENT ID', 'DEVICE', 'IP', 'CREATED AT', 'LAST USED AT', 'IDLE ENDS AT', 'ENDS AT'])
  t.equal(rows.length, 2, 'both live sessions, full ids in a pipe')
  const at = (row: string[], column: string) => row[header.indexOf(column)]
  for (const row of rows) {
    const idle = Date.parse(at(row, 'IDLE ENDS AT'))
    t.equal(idle, Date.parse(at(row, 'LAST USED AT')) + 300_000, 'idle end = last use + 5 minutes')
    t.ok(Date.parse(at(row, 'ENDS AT')) > idle, 'the absolute end is later')
  }

  const json = JSON.parse((await runCli(['sessions', 'list', '--json'], { home: other })).stdout) as { data: { id: string; current: boolean }[] }
  const otherId = json.data.find((s) => s.current)!.id
  const mineId = json.data.find((s) => !s.current)!.id
  // Sessions opened within the same minute share their first characters (UUID v7 starts with the time).
  let common = 0
  while (otherId[common] === mineId[common]) common++
  if (common >= 4) {
    const ambiguous = await runCli(['sessions', 'revoke', otherId.slice(0, Math.min(common, 8))], { home })
    expectExit(t, ambiguous, ExitCode.usage)
    t.match(ambiguous.stderr, /is ambiguous: 2 sessions have ids starting with it .*give more characters\.\n$/)
  }
  const unique = otherId.slice(0, Math.max(common + 1, 4))
  const revoked = await runCli(['sessions', 'revoke', unique.toUpperCase()], { home })
  expectExit(t, revoked, 0)
  t.equal(revoked.stdout, `Revoked session ${otherId}.\n`, 'the prefix resolved to the full id')
  const none = await runCli(['sessions', 'revoke', 'ffff0000'], { home })
  expectExit(t, none, ExitCode.notFound)
  t.equal(none.stderr, 'error: No session has an id starting with ffff0000.\n')
  const gone = await runCli(['whoami'], { home: other })
  expectExit(t, gone, ExitCode.auth)
})
