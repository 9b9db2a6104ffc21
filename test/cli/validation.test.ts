/**
 * Bad input is caught by the CLI before any request: unknown commands and flags, invalid values,
 * missing arguments. Each gets one clear sentence and exit code 2, and the API never hears of it.
 */
import { writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import t from 'tap'
import { ExitCode } from '../../cli/errors.ts'
import { CLI_VERSION } from '../../cli/version.ts'
import { MAX_QUERY_LENGTH } from '../../contract/query-limits.ts'
import { expectExit, runCli, tempDir } from './helpers/run-cli.ts'
import { replyJson, startScriptedServer } from './helpers/scripted-server.ts'

// Each case starts real CLI processes (~0.4 s each on an idle machine); leave room on a busy one.
t.setTimeout(300_000)

const api = await startScriptedServer(t)
const home = await tempDir(t)
const env = { INSIGHTA_TOKEN: 'token', INSIGHTA_API_URL: api.url }
const ID = '0190a4b2-7c1e-7d3a-9f00-1234567890ab'

const cases: [string[], RegExp][] = [
  [['profiles', 'list', '--bogus'], /unknown option '--bogus'/],
  [['profiles', 'lisst'], /unknown command 'lisst'[\s\S]*Did you mean list\?/],
  [['frobnicate'], /unknown command 'frobnicate'/],
  [['profiles', 'list', '--gender', 'other'], /--gender <gender>' argument 'other' is invalid\. The gender must be one of: male, female\./],
  [['profiles', 'list', '--country', 'Nigeria'], /The country must be a two-letter ISO code, e.g\. NG\./],
  [['profiles', 'list', '--age-group', 'toddler'], /The age group must be one of: child, teenager, adult, senior\./],
  [['profiles', 'list', '--min-age', '25.5'], /--min-age must be a whole number from 0 to 150\./],
  [['profiles', 'list', '--min-age', '-1'], /--min-age/],
  [['profiles', 'list', '--max-age', '151'], /--max-age must be a whole number from 0 to 150\./],
  [['profiles', 'list', '--min-gender-probability', '1.01'], /--min-gender-probability must be a number from 0 to 1/],
  [['profiles', 'list', '--min-country-probability', 'high'], /--min-country-probability must be a number from 0 to 1/],
  [['profiles', 'list', '--sort-by', 'height'], /--sort-by must be one of: age, created_at, gender_probability, country_probability, name\./],
  [['profiles', 'list', '--order', 'up'], /--order must be one of: asc, desc\./],
  [['profiles', 'list', '--limit', '0'], /--limit must be a whole number from 1 to 50\./],
  [['profiles', 'list', '--limit', '51'], /--limit must be a whole number from 1 to 50\./],
  [['profiles', 'list', '--page', '0'], /--page must be a whole number from 1 to/],
  [['profiles', 'list', '--limit'], /option '--limit <n>' argument missing/],
  [['profiles', 'get', 'not-a-uuid'], /The profile id must be a UUID/],
  [['profiles', 'get'], /missing required argument 'id'/],
  [['profiles', 'delete', '42', '--yes'], /The profile id must be a UUID/],
  [['profiles', 'delete', ID], /Refusing to delete without confirmation: pass --yes\./],
  [['profiles', 'create'], /required option '--name <name>' not specified/],
  [['profiles', 'create', '--name', '   '], /The name must not be empty\./],
  [['profiles', 'create', '--name', 'x'.repeat(201)], /The name must be at most 200 characters\./],
  [['profiles', 'search', '  '], /The search query must not be empty\.\nTry a query like:\n {2}insighta profiles search "young males from nigeria"/],
  [['profiles', 'search', 'x'.repeat(MAX_QUERY_LENGTH + 1)], new RegExp(`The search query must be at most ${MAX_QUERY_LENGTH} characters; this one has ${MAX_QUERY_LENGTH + 1}\\.`)],
  [['profiles', 'search', 'men\u0001from kenya'], /The search query must not contain control characters/],
  [['profiles', 'get', '01a2356f'], /The profile id must be given in full/],
  [['profiles', 'export', '--raw', '--format', 'json'], /--format must be one of: csv\./],
  [['sessions', 'revoke', '0190a4b2-zz'], /The session id must be a UUID or its first characters/],
  [['profiles', 'export', '--format', 'xlsx'], /--format must be one of: csv\./],
  [['profiles', 'import', 'missing.csv'], /missing\.csv does not exist\./],
  [['profiles', 'import', '.'], /\. is not a file\./],
  [['sessions', 'revoke', 'abc'], /The session id must be a UUID/],
  [['users', 'set-role', 'octo', 'owner'], /The role must be one of: admin, analyst\./],
  [['users', 'suspend', 'not a login'], /The login must be a GitHub username/],
  [['users', 'list', '--limit', '100'], /--limit must be a whole number from 1 to 50\./],
  [['login', '--port', '70000'], /The port must be a whole number from 1 to 65535\./],
  [['login', '--api-url', 'ftp://example.com'], /--api-url must be an http or https URL/],
  [['login', '--api-url', 'http://user:pw@example.com'], /--api-url must not contain credentials/],
  [['whoami', 'extra'], /too many arguments for 'whoami'/],
  [['profiles'], /Usage: insighta profiles/],
]

t.test('each mistake: exit 2, one "error:" sentence (plus a pointer to --help), no request', async (t) => {
  await writeFile(path.join(home, 'empty.csv'), '')
  for (const [args, message] of cases) {
    const result = await runCli(args, { home, env })
    expectExit(t, result, ExitCode.usage)
    t.match(result.stderr, message, args.join(' '))
    t.equal(result.stdout, '', `${args.join(' ')}: nothing on stdout`)
  }
  t.same(api.requests, [], 'the API was never called')
})

t.test('a bad environment variable is a usage error too', async (t) => {
  const result = await runCli(['profiles', 'list'], { home, env: { INSIGHTA_API_URL: 'not a url' } })
  expectExit(t, result, ExitCode.usage)
  t.equal(result.stderr, 'error: INSIGHTA_API_URL must be an absolute http or https URL, e.g. http://127.0.0.1:3000.\n')
  const timeout = await runCli(['login'], { home, env: { INSIGHTA_LOGIN_TIMEOUT_MS: 'soon' } })
  expectExit(t, timeout, ExitCode.usage)
})

t.test('--help on every command has examples; --version prints the version', async (t) => {
  const commands = [
    [],
    ['login'],
    ['logout'],
    ['whoami'],
    ['profiles'],
    ...['list', 'get', 'search', 'create', 'delete', 'export', 'stats', 'import'].map((c) => ['profiles', c]),
    ['sessions'],
    ['sessions', 'list'],
    ['sessions', 'revoke'],
    ['users'],
    ...['list', 'set-role', 'suspend', 'activate'].map((c) => ['users', c]),
  ]
  for (const command of commands) {
    const result = await runCli([...command, '--help'], { home })
    expectExit(t, result, 0)
    t.match(result.stdout, new RegExp(`^Usage: insighta${command.map((c) => ` ${c}`).join('')}`), `insighta ${command.join(' ')} --help`)
    t.match(result.stdout, /\nExamples:\n {2}\$ insighta /, `insighta ${command.join(' ')} --help has examples`)
  }
  const version = await runCli(['--version'], { home })
  expectExit(t, version, 0)
  t.match(version.stdout, /^\d+\.\d+\.\d+\n$/)
})

t.test('every request names the CLI, its host and OS family, nothing more (the API labels sessions with it)', async (t) => {
  api.respond = replyJson(200, { status: 'success', page: 1, limit: 10, total: 0, total_pages: 0, data: [] })
  const result = await runCli(['profiles', 'list'], { home, env })
  expectExit(t, result, 0)
  const sent = api.requests.at(-1)
  t.equal(sent?.headers['user-agent'], `insighta/${CLI_VERSION} (${os.hostname()}; ${process.platform})`)
  t.equal(sent?.headers['x-api-version'], '1')
})
