/**
 * `insighta login --device` (RFC 8628) end to end: the compiled CLI polls the real API while the test
 * approves or denies the code over HTTP the way the portal's /device page does; expiry and slow_down
 * come from the API's own clock. Plain `insighta login` falls back to it over SSH and says so.
 */
import { readFile, stat } from 'node:fs/promises'
import { hostname } from 'node:os'
import t from 'tap'
import { credentialsPath, type Credentials } from '../../cli/credentials.ts'
import { DEVICE_CODE_GRANT_TYPE as CLI_GRANT_TYPE } from '../../cli/device-login.ts'
import { ExitCode } from '../../cli/errors.ts'
import { CLI_VERSION } from '../../cli/version.ts'
import { DEVICE_CODE_GRANT_TYPE } from '../../contract/device.ts'
import { startLiveApi } from './helpers/live-api.ts'
import { closedPortUrl, collect, expectExit, runCli, spawnCli, cliBuilt, tempDir, waitForStderr } from './helpers/run-cli.ts'

t.setTimeout(600_000)

// The API's clock: `frozen` stops it (every poll then comes "too soon"), `skew` moves it ahead.
let skew = 0
let frozen: number | undefined
const live = await startLiveApi(t, {
  clock: () => frozen ?? Date.now() + skew,
  env: { DEVICE_CODE_INTERVAL_SECONDS: '1', PORTAL_REDIRECT_URI: 'http://127.0.0.1:3001/auth/callback' },
})
const CODE_LINE = /enter the code:\n\n {2}([B-DF-HJ-NP-TV-XZ]{4}-[B-DF-HJ-NP-TV-XZ]{4})\n/

async function decide(decision: 'approve' | 'deny', userCode: string) {
  const response = await fetch(`${live.url}/auth/device/${decision}`, {
    method: 'POST',
    headers: { ...(await live.api.headers('analyst')), 'content-type': 'application/json' },
    body: JSON.stringify({ user_code: userCode }),
  })
  return response.status
}

t.test('the CLI and the contract name the same grant type', async (t) => {
  t.equal(CLI_GRANT_TYPE, DEVICE_CODE_GRANT_TYPE)
})

t.test('login --device: code and URL printed, approved over HTTP, credentials stored like a browser login', async (t) => {
  await cliBuilt()
  const home = await tempDir(t)
  const child = spawnCli(['login', '--device', '--api-url', live.url], { home })
  const done = collect(child, 60_000, ['login', '--device'])
  const [, userCode, link] = await waitForStderr(child, new RegExp(`${CODE_LINE.source}\\nOr open this link, which fills in the code:\\n {2}(\\S+)\\n`))
  t.equal(link, `http://127.0.0.1:3001/device?user_code=${userCode}`)
  t.equal(await decide('approve', userCode), 200)
  const result = await done
  expectExit(t, result, 0)
  t.match(result.stderr, 'open http://127.0.0.1:3001/device in a browser on any device')
  const user = (await live.api.user('analyst')).row
  t.match(result.stdout, `Logged in to ${live.url} as ${user.username} (analyst).`)
  t.match(result.stdout, `Credentials saved in ${credentialsPath(home)}.`)
  t.equal((await stat(credentialsPath(home))).mode & 0o777, 0o600)
  const saved = JSON.parse(await readFile(credentialsPath(home), 'utf8')) as Credentials
  t.match(saved, { version: 1, api_url: live.url, token_type: 'Bearer', user: { username: user.username, role: 'analyst' } })
  t.ok(saved.refresh_token.length > 0, 'a refresh token, like any session')

  const who = await runCli(['whoami'], { home })
  expectExit(t, who, 0)
  t.match(who.stdout, new RegExp(`user\\s+${user.username}`))
  const sessions = await runCli(['sessions', 'list', '--json'], { home })
  expectExit(t, sessions, 0)
  t.match(sessions.stdout, /"client_id": "insighta-cli"/, 'the device login is a listed session')
  const current = (JSON.parse(sessions.stdout) as { data: { user_agent: string; current: boolean }[] }).data.find((s) => s.current)
  t.equal(current?.user_agent, `insighta/${CLI_VERSION} (${hostname()}; ${process.platform})`, 'labelled by the CLI, not by whoever approved it')
})

t.test('plain login over SSH falls back to the device flow by itself and says so', async (t) => {
  await cliBuilt()
  const home = await tempDir(t)
  const child = spawnCli(['login', '--api-url', live.url], { home, env: { SSH_CONNECTION: '10.0.0.2 50000 10.0.0.1 22', DISPLAY: ':0' } })
  const done = collect(child, 60_000, ['login'])
  const [, userCode] = await waitForStderr(child, CODE_LINE)
  t.equal(await decide('approve', userCode), 200)
  const result = await done
  expectExit(t, result, 0)
  t.match(result.stderr, 'No browser can be used here (this is an SSH session): logging in with a code instead.')
  t.match(result.stdout, /Logged in to .* \(analyst\)\./)
})

t.test('plain login without a display falls back too; --no-browser keeps the printed-URL login', async (t) => {
  await cliBuilt()
  const home = await tempDir(t)
  const child = spawnCli(['login', '--api-url', live.url], { home, env: { DISPLAY: '', WAYLAND_DISPLAY: '' } })
  const done = collect(child, 60_000, ['login'])
  const [, userCode] = await waitForStderr(child, CODE_LINE)
  t.equal(await decide('approve', userCode), 200)
  const result = await done
  expectExit(t, result, 0)
  t.match(result.stderr, 'there is no display (DISPLAY and WAYLAND_DISPLAY are not set)')

  const printed = await runCli(['login', '--no-browser', '--api-url', live.url], { home: await tempDir(t), env: { INSIGHTA_LOGIN_TIMEOUT_MS: '500' } })
  expectExit(t, printed, ExitCode.auth)
  t.match(printed.stderr, /Open this URL in a browser to log in:\n\n {2}http:\/\/127\.0\.0\.1:\d+\/auth\/github\?/)
  t.notMatch(printed.stderr, /enter the code/)
})

t.test('denied in the browser: exit 3, nothing saved', async (t) => {
  await cliBuilt()
  const home = await tempDir(t)
  const child = spawnCli(['login', '--device', '--api-url', live.url], { home })
  const done = collect(child, 60_000, ['login', '--device'])
  const [, userCode] = await waitForStderr(child, CODE_LINE)
  t.equal(await decide('deny', userCode), 200)
  const result = await done
  expectExit(t, result, ExitCode.auth)
  t.match(result.stderr, 'error: The login was denied in the browser: nothing was saved.')
  await t.rejects(stat(credentialsPath(home)), { code: 'ENOENT' })
})

t.test('a code nobody approves expires: exit 3, nothing saved', async (t) => {
  await cliBuilt()
  const home = await tempDir(t)
  const child = spawnCli(['login', '--device', '--api-url', live.url], { home })
  const done = collect(child, 60_000, ['login', '--device'])
  await waitForStderr(child, CODE_LINE)
  skew += 3_600_000 // past the code's 10 minutes on the API's clock
  t.teardown(() => (skew -= 3_600_000))
  const result = await done
  expectExit(t, result, ExitCode.auth)
  t.match(result.stderr, 'error: The code expired before it was approved: run insighta login --device again.')
  await t.rejects(stat(credentialsPath(home)), { code: 'ENOENT' })
})

t.test('slow_down: the CLI polls 5 s more slowly from then on, and still logs in', async (t) => {
  await cliBuilt()
  const home = await tempDir(t)
  const child = spawnCli(['login', '--device', '--api-url', live.url], { home })
  const done = collect(child, 90_000, ['login', '--device'])
  const [, userCode] = await waitForStderr(child, CODE_LINE)
  frozen = Date.now() + skew // from now on every poll is "too soon" for the API
  try {
    await waitForStderr(child, /The API asked to poll more slowly: every 6 seconds from now on\./, 30_000)
  } finally {
    frozen = undefined
  }
  skew += 60_000
  t.teardown(() => (skew -= 60_000))
  t.equal(await decide('approve', userCode), 200)
  const result = await done
  expectExit(t, result, 0)
  t.match(result.stdout, /Logged in to .* \(analyst\)\./)
})

t.test('no API: exit 6 before any code is shown', async (t) => {
  const result = await runCli(['login', '--device', '--api-url', await closedPortUrl()], { home: await tempDir(t) })
  expectExit(t, result, ExitCode.network)
  t.match(result.stderr, /error: Could not reach the API at http:\/\/127\.0\.0\.1:\d+ \(connection refused/)
  t.notMatch(result.stderr, /enter the code/)
})
