/**
 * `insighta tokens create|list|revoke`, the admins' `insighta users tokens …` and
 * `insighta logout --all [--revoke-tokens]`, run as the compiled CLI against the real API.
 */
import t from 'tap'
import { ExitCode } from '../../cli/errors.ts'
import { startLiveApi } from './helpers/live-api.ts'
import { expectExit, runCli, tempDir } from './helpers/run-cli.ts'
import { cliLogin } from './helpers/test-browser.ts'

t.setTimeout(600_000)

const live = await startLiveApi(t, { seed: true })
type Tap = { teardown(fn: () => unknown): void }

async function loggedIn(t: Tap, login: 'octo-analyst' | 'octo-admin') {
  const home = await tempDir(t)
  const result = await cliLogin(live.url, live.github, login, { home })
  if (result.code !== 0) throw new Error(`login failed: ${result.stderr}`)
  return home
}

/** Runs the CLI with a PAT in INSIGHTA_TOKEN (no file). */
async function withPat(t: Tap, token: string, args: string[]) {
  return runCli(args, { home: await tempDir(t), env: { INSIGHTA_TOKEN: token, INSIGHTA_API_URL: live.url } })
}

async function create(home: string, args: string[] = []) {
  const result = await runCli(['tokens', 'create', '--name', 'ci', ...args], { home })
  if (result.code !== 0) throw new Error(`tokens create: ${result.stderr}`)
  return { token: result.stdout.trim(), id: /^id\s+(\S+)$/m.exec(result.stderr)?.[1] ?? '' }
}

const analyst = await loggedIn(t, 'octo-analyst')
const admin = await loggedIn(t, 'octo-admin')

t.test('tokens create: the secret alone on stdout, what it is on stderr; it works at once', async (t) => {
  const result = await runCli(['tokens', 'create', '--name', 'build box', '--expires', '7d'], { home: analyst })
  expectExit(t, result, 0)
  t.match(result.stdout, /^insighta_pat_[A-Za-z0-9_-]{43,}\n$/, 'one line: the secret')
  t.match(result.stderr, /^id\s+[0-9a-f-]{36}\nname\s+build box\nscopes\s+read\nexpires\s+\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\n/)
  t.match(result.stderr, 'This is the only time the token is shown')
  const expires = Date.parse(/^expires\s+(\S+)$/m.exec(result.stderr)?.[1] ?? '')
  t.ok(Math.abs(expires - (Date.now() + 7 * 86_400_000)) < 3_600_000, 'seven days')
  const used = await withPat(t, result.stdout.trim(), ['profiles', 'list', '--limit', '1', '--json'])
  expectExit(t, used, 0)

  const json = await runCli(['tokens', 'create', '--name', 'json', '--json'], { home: analyst })
  expectExit(t, json, 0)
  t.match(JSON.parse(json.stdout), { status: 'success', token: /^insighta_pat_/, data: { name: 'json', scopes: ['read'] } })

  const adminToken = await runCli(['tokens', 'create', '--name', 'adm', '--scope', 'read', '--scope', 'admin', '--expires', '1'], { home: admin })
  expectExit(t, adminToken, 0)
  t.match(adminToken.stderr, /scopes\s+read, admin/)
})

t.test('tokens create refuses bad input with exit 2 (or the API’s 403 for a scope above the role)', async (t) => {
  const cases: [string[], number, RegExp][] = [
    [['--expires', '0'], ExitCode.usage, /--expires must be a number of days such as 30d/],
    [['--expires', 'soon'], ExitCode.usage, /--expires must be a number of days/],
    [['--expires', '-3d'], ExitCode.usage, /--expires/],
    [['--expires', '365d'], ExitCode.usage, /error: .*(90|expir)/i],
    [['--scope', 'root'], ExitCode.usage, /The scope must be one of/i],
    [['--scope', 'admin'], ExitCode.permission, /error: /],
  ]
  for (const [extra, code, message] of cases) {
    const result = await runCli(['tokens', 'create', '--name', 'x', ...extra], { home: analyst })
    expectExit(t, result, code)
    t.match(result.stderr, message, extra.join(' '))
    t.equal(result.stdout, '', 'no secret printed')
  }
  for (const name of ['', '   ', 'a\u0007b', 'n'.repeat(101)]) {
    const result = await runCli(['tokens', 'create', '--name', name], { home: analyst })
    expectExit(t, result, ExitCode.usage)
    t.match(result.stderr, /The token name must/)
  }
  expectExit(t, await runCli(['tokens', 'create'], { home: analyst }), ExitCode.usage)
})

t.test('a PAT cannot create tokens: exit 4', async (t) => {
  const { token } = await create(analyst)
  const result = await withPat(t, token, ['tokens', 'create', '--name', 'child'])
  expectExit(t, result, ExitCode.permission)
  t.equal(result.stdout, '')
})

t.test('tokens list (the default) and revoke by the short id a terminal shows', async (t) => {
  const { token, id } = await create(analyst, ['--expires', '3d'])
  const list = await runCli(['tokens'], { home: analyst })
  expectExit(t, list, 0)
  const header = list.stdout.split('\n')[0].split('\t')
  t.same(header.slice(0, 6), ['ID', 'NAME', 'SCOPES', 'CREATED AT', 'EXPIRES AT', 'EXPIRED'])
  t.match(list.stdout, new RegExp(`^${id}\\tci\\tread\\t`, 'm'), 'full id in a pipe')
  const json = await runCli(['tokens', 'list', '--json'], { home: analyst })
  t.ok((JSON.parse(json.stdout) as { data: { id: string }[] }).data.some((r) => r.id === id))

  const unknown = await runCli(['tokens', 'revoke', 'ffffffff'], { home: analyst })
  expectExit(t, unknown, ExitCode.notFound)
  t.match(unknown.stderr, 'No token has an id starting with ffffffff.')
  const bad = await runCli(['tokens', 'revoke', 'not-an-id'], { home: analyst })
  expectExit(t, bad, ExitCode.usage)
  t.match(bad.stderr, /The token id must be a UUID or its first characters/)

  // Ids are UUID v7: tokens made in the same second share their first 8 characters, so give 13 + the rest as needed.
  const mine = (JSON.parse(json.stdout) as { data: { id: string }[] }).data.map((r) => r.id)
  let prefix = id.slice(0, 8)
  for (let n = 9; n <= id.length && mine.filter((other) => other.startsWith(prefix)).length > 1; n++) prefix = id.slice(0, n)
  const revoke = await runCli(['tokens', 'revoke', prefix], { home: analyst })
  expectExit(t, revoke, 0)
  t.match(revoke.stdout, `Revoked token ${id}.`)
  const after = await withPat(t, token, ['profiles', 'list', '--limit', '1'])
  expectExit(t, after, ExitCode.auth)
  const again = await runCli(['tokens', 'revoke', id], { home: analyst })
  expectExit(t, again, ExitCode.notFound)
})

t.test('admins: users tokens LOGIN lists, users tokens revoke LOGIN ID revokes; analysts get exit 4', async (t) => {
  const { token, id } = await create(analyst, ['--expires', '2d'])
  const list = await runCli(['users', 'tokens', 'octo-analyst'], { home: admin })
  expectExit(t, list, 0)
  t.match(list.stdout, new RegExp(`^${id}\\tci\\t`, 'm'))
  const json = await runCli(['users', 'tokens', 'list', 'octo-analyst', '--json'], { home: admin })
  expectExit(t, json, 0)
  t.match(JSON.parse(json.stdout), { status: 'success', data: [{ name: String }] })

  const denied = await runCli(['users', 'tokens', 'octo-admin'], { home: analyst })
  expectExit(t, denied, ExitCode.permission)
  const nobody = await runCli(['users', 'tokens', 'no-such-user'], { home: admin })
  expectExit(t, nobody, ExitCode.notFound)
  t.match(nobody.stderr, 'No user has the login no-such-user.')
  const badLogin = await runCli(['users', 'tokens', 'bad login!'], { home: admin })
  expectExit(t, badLogin, ExitCode.usage)

  const revoke = await runCli(['users', 'tokens', 'revoke', 'octo-analyst', id], { home: admin })
  expectExit(t, revoke, 0)
  t.match(revoke.stdout, `Revoked token ${id} of octo-analyst.`)
  expectExit(t, await withPat(t, token, ['profiles', 'list', '--limit', '1']), ExitCode.auth)
})

// Last on purpose: signing out everywhere also ends the shared octo-analyst session above.
t.test('logout --all says what happened to tokens; --revoke-tokens revokes them', async (t) => {
  const home = await loggedIn(t, 'octo-analyst')
  const { token } = await create(home)
  const misuse = await runCli(['logout', '--revoke-tokens'], { home })
  expectExit(t, misuse, ExitCode.usage)
  t.match(misuse.stderr, '--revoke-tokens goes with --all')

  const kept = await runCli(['logout', '--all'], { home })
  expectExit(t, kept, 0)
  t.match(kept.stdout, /Logged out: ended every session of your account on the server and removed the local credentials\.\nTokens: \d+ personal access tokens? still valid/)
  expectExit(t, await withPat(t, token, ['profiles', 'list', '--limit', '1']), 0)

  const again = await loggedIn(t, 'octo-analyst')
  const revoked = await runCli(['logout', '--all', '--revoke-tokens'], { home: again })
  expectExit(t, revoked, 0)
  t.match(revoked.stdout, /Tokens: revoked \d+ personal access tokens?\./)
  t.notMatch(revoked.stdout, /still valid/)
  expectExit(t, await withPat(t, token, ['profiles', 'list', '--limit', '1']), ExitCode.auth)
})
