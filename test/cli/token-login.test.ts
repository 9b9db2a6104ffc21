/**
 * Personal access tokens in the CLI, against the real API: `insighta login --with-token` from a pipe,
 * INSIGHTA_TOKEN holding a PAT, `insighta auth status [--json]` for every way of being logged in, and
 * a revoked or expired PAT (exit 1 from auth status, 3 from other commands).
 */
import { readFile, writeFile } from 'node:fs/promises'
import t from 'tap'
import { credentialsPath, type Credentials } from '../../cli/credentials.ts'
import { ExitCode } from '../../cli/errors.ts'
import { PAT_PREFIX as CLI_PAT_PREFIX } from '../../cli/personal-tokens.ts'
import { PAT_PREFIX } from '../../contract/tokens.ts'
import type { TestRole } from '../helpers/api.ts'
import { startLiveApi } from './helpers/live-api.ts'
import { cliBuilt, collect, expectExit, runCli, spawnCli, tempDir, type CliResult } from './helpers/run-cli.ts'
import { cliLogin } from './helpers/test-browser.ts'

t.setTimeout(600_000)

let skew = 0
const live = await startLiveApi(t, { seed: true, clock: () => Date.now() + skew })

async function createPat(role: TestRole, body: Record<string, unknown> = { name: 'ci', expires_in_days: 30 }) {
  const response = await fetch(`${live.url}/api/users/me/tokens`, {
    method: 'POST',
    headers: { ...(await live.api.headers(role)), 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  const json = (await response.json()) as { token: string; data: { id: string } }
  if (response.status !== 201) throw new Error(`token not created: ${JSON.stringify(json)}`)
  return json
}

async function revokePat(role: TestRole, id: string) {
  const response = await fetch(`${live.url}/api/users/me/tokens/${id}`, { method: 'DELETE', headers: await live.api.headers(role) })
  if (response.status !== 204) throw new Error(`revoke: ${response.status}`)
}

/** The CLI with `input` on its stdin (a pipe, as in `echo $TOKEN | insighta login --with-token`). */
async function withStdin(args: string[], home: string, input: string, env: Record<string, string> = {}): Promise<CliResult> {
  await cliBuilt()
  const child = spawnCli(args, { home, env })
  child.stdin.write(input)
  return collect(child, 60_000, args)
}

async function patLogin(t: { teardown(fn: () => unknown): void }, role: TestRole = 'analyst') {
  const home = await tempDir(t)
  const pat = await createPat(role)
  const result = await withStdin(['login', '--with-token', '--api-url', live.url], home, `${pat.token}\n`)
  if (result.code !== 0) throw new Error(`login --with-token: ${result.stderr}`)
  return { home, pat }
}

t.test('the CLI and the contract agree on the prefix', async (t) => {
  t.equal(CLI_PAT_PREFIX, PAT_PREFIX)
})

t.test('login --with-token from a pipe: checked, stored, used, never refreshed', async (t) => {
  const home = await tempDir(t)
  const pat = await createPat('analyst', { name: 'build-box', expires_in_days: 7 })
  const result = await withStdin(['login', '--with-token', '--api-url', live.url], home, `  ${pat.token}\n`)
  expectExit(t, result, 0)
  const user = (await live.api.user('analyst')).row
  t.match(result.stdout, `Logged in to ${live.url} as ${user.username} (analyst) with the personal access token "build-box" (read; expires `)
  t.notMatch(result.stdout + result.stderr, pat.token, 'the secret is not echoed')
  const saved = JSON.parse(await readFile(credentialsPath(home), 'utf8')) as Credentials
  t.match(saved, { version: 1, kind: 'pat', api_url: live.url, access_token: pat.token, refresh_token: '', user: { username: user.username } })

  // Past its local expiry a session would be refreshed first; a PAT is sent as it is.
  await writeFile(credentialsPath(home), JSON.stringify({ ...saved, expires_at: new Date(Date.now() - 60_000).toISOString() }), { mode: 0o600 })
  const list = await runCli(['profiles', 'list', '--limit', '2'], { home })
  expectExit(t, list, 0)
  t.equal(list.stdout.trim().split('\n').length, 3, 'header and two rows')

  const status = await runCli(['auth', 'status'], { home })
  expectExit(t, status, 0)
  t.match(status.stdout, new RegExp(`user\\s+${user.username}\\nrole\\s+analyst\\napi\\s+${live.url.replaceAll('.', '\\.')}\\nmethod\\s+personal access token\\n`))
  t.match(status.stdout, `credentials  ${credentialsPath(home)}`)
  t.match(status.stdout, /token\s+build-box\nscopes\s+read\nexpires\s+\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\nstatus\s+valid/)

  const json = await runCli(['auth', 'status', '--json'], { home })
  expectExit(t, json, 0)
  t.match(JSON.parse(json.stdout), { logged_in: true, valid: true, method: 'personal access token', token: { name: 'build-box', scopes: ['read'] }, user: { role: 'analyst' } })
})

t.test('login --with-token refuses bad input before storing anything', async (t) => {
  const home = await tempDir(t)
  const cases: [string, number, RegExp][] = [
    ['', ExitCode.usage, /No token on standard input/],
    ['   \n', ExitCode.usage, /No token on standard input/],
    [await live.token('analyst'), ExitCode.usage, /--with-token takes a personal access token \(it starts with insighta_pat_\)/],
    [`${PAT_PREFIX}abc\u0000def`, ExitCode.usage, /one line without spaces or control characters/],
    [`${PAT_PREFIX}abc def`, ExitCode.usage, /one line without spaces or control characters/],
    [`${PAT_PREFIX}${'a'.repeat(5000)}`, ExitCode.usage, /too long/],
    [`${PAT_PREFIX}${'A'.repeat(43)}`, ExitCode.auth, /The API refused the token/],
  ]
  for (const [input, code, message] of cases) {
    const result = await withStdin(['login', '--with-token', '--api-url', live.url], home, input)
    expectExit(t, result, code)
    t.match(result.stderr, message)
    await t.rejects(readFile(credentialsPath(home)), { code: 'ENOENT' }, 'nothing stored')
  }
  const both = await withStdin(['login', '--with-token', '--device', '--api-url', live.url], home, 'x')
  expectExit(t, both, ExitCode.usage)
})

t.test('a revoked PAT: auth status exits 1 and says why; other commands exit 3; logout removes it locally', async (t) => {
  const { home, pat } = await patLogin(t)
  await revokePat('analyst', pat.data.id)
  const status = await runCli(['auth', 'status'], { home })
  expectExit(t, status, 1)
  t.match(status.stdout, /status\s+not valid/)
  t.match(status.stderr, /error: The API rejected the stored personal access token: .* Run insighta login\./)
  const json = await runCli(['auth', 'status', '--json'], { home })
  expectExit(t, json, 1)
  t.match(JSON.parse(json.stdout), { logged_in: true, valid: false, method: 'personal access token', problem: /rejected/ })
  const list = await runCli(['profiles', 'list'], { home })
  expectExit(t, list, ExitCode.auth)

  const logout = await runCli(['logout'], { home })
  expectExit(t, logout, 0)
  t.match(logout.stdout, 'Removed the personal access token from this machine; the token itself stays valid until it expires or is revoked')
  await t.rejects(readFile(credentialsPath(home)), { code: 'ENOENT' })
})

t.test('an expired PAT: auth status exits 1', async (t) => {
  const { home } = await patLogin(t)
  skew += 31 * 86_400_000
  t.teardown(() => (skew -= 31 * 86_400_000))
  const status = await runCli(['auth', 'status', '--json'], { home })
  expectExit(t, status, 1)
  t.match(JSON.parse(status.stdout), { logged_in: true, valid: false })
})

t.test('INSIGHTA_TOKEN accepts a PAT, and auth status says it comes from the environment', async (t) => {
  const home = await tempDir(t)
  const pat = await createPat('admin', { name: 'ci-admin', expires_in_days: 1, scopes: ['read', 'admin'] })
  const env = { INSIGHTA_TOKEN: pat.token, INSIGHTA_API_URL: live.url }
  const list = await runCli(['profiles', 'list', '--limit', '1', '--json'], { home, env })
  expectExit(t, list, 0)
  const status = await runCli(['auth', 'status'], { home, env })
  expectExit(t, status, 0)
  t.match(status.stdout, /method\s+environment \(personal access token\)\ncredentials\s+INSIGHTA_TOKEN \(environment variable\)/)
  t.match(status.stdout, /scopes\s+read, admin/)
})

t.test('auth status for a browser login and for an access token in INSIGHTA_TOKEN', async (t) => {
  const home = await tempDir(t)
  const login = await cliLogin(live.url, live.github, 'octo-analyst', { home })
  expectExit(t, login, 0)
  const status = await runCli(['auth', 'status', '--json'], { home })
  expectExit(t, status, 0)
  const body = JSON.parse(status.stdout) as Record<string, unknown>
  t.match(body, { logged_in: true, valid: true, method: 'session', user: { username: 'octo-analyst' }, token: null, credentials: credentialsPath(home) })
  t.ok(Date.parse(String(body.access_token_expires_at)) > Date.now(), 'access token expiry')
  t.ok(Date.parse(String(body.session_expires_at)) > Date.now(), 'session end')
  const text = await runCli(['auth', 'status'], { home })
  t.match(text.stdout, /method\s+session\n[\s\S]*access token expires\s+\S+\n[\s\S]*session ends\s+\S+\nstatus\s+valid/)

  const env = await runCli(['auth', 'status', '--json'], { home: await tempDir(t), env: { INSIGHTA_TOKEN: await live.token('analyst'), INSIGHTA_API_URL: live.url } })
  expectExit(t, env, 0)
  const envBody = JSON.parse(env.stdout) as Record<string, unknown>
  t.match(envBody, { valid: true, method: 'environment', token: null })
  t.ok(Date.parse(String(envBody.access_token_expires_at)) > Date.now(), 'expiry read from the JWT')
})

t.test('auth status when not logged in, or with a token the API rejects: exit 1', async (t) => {
  const home = await tempDir(t)
  const none = await runCli(['auth', 'status'], { home })
  expectExit(t, none, 1)
  t.match(none.stdout, 'Not logged in.')
  const json = await runCli(['auth', 'status', '--json'], { home })
  expectExit(t, json, 1)
  t.match(JSON.parse(json.stdout), { logged_in: false, valid: false })
  const bogus = await runCli(['auth', 'status'], { home, env: { INSIGHTA_TOKEN: 'not-a-token', INSIGHTA_API_URL: live.url } })
  expectExit(t, bogus, 1)
  t.match(bogus.stderr, /error: The API rejected the token in INSIGHTA_TOKEN/)
})
