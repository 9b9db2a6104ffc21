/**
 * `insighta profiles list --all` and `profiles search --all` against the real API (seeded with the
 * 2026 reference profiles): every row once and in order by following `links.next_cursor`, tab-
 * separated in a pipe with the header once, NDJSON with --json, one table on a terminal with a
 * progress line, `| head` and Ctrl-C ending cleanly, and failures midway (a 4xx, a revoked token,
 * the database gone) ending non-zero after the rows already printed. A forwarding proxy in front of
 * the API records the requests and steps in between pages; every answer is the API's own.
 */
/* eslint-disable no-control-regex -- these tests look for terminal escape sequences on purpose */
import { once } from 'node:events'
import t from 'tap'
import { createDb } from '../../db/index.ts'
import { ExitCode } from '../../cli/errors.ts'
import { createTestUser } from '../helpers/auth.ts'
import { V1 } from '../helpers/api.ts'
import type { TestDatabase } from '../helpers/database.ts'
import { startTcpProxy } from '../helpers/tcp-proxy.ts'
import { startForwardingProxy } from './helpers/forwarding-proxy.ts'
import { startLiveApi } from './helpers/live-api.ts'
import { cliBuilt, collect, expectExit, runCli, runCliInTerminal, spawnCli, tempDir } from './helpers/run-cli.ts'

t.setTimeout(300_000)

const live = await startLiveApi(t, { seed: true })
const proxy = await startForwardingProxy(t, live.url)
const home = await tempDir(t)
const HEADER = 'ID\tNAME\tGENDER\tP(G)\tAGE\tAGE GROUP\tCOUNTRY\tP(C)'

async function cli(args: string[], env: Record<string, string> = {}) {
  return runCli(args, { home, env: { INSIGHTA_TOKEN: await live.token('analyst'), INSIGHTA_API_URL: proxy.url, ...env } })
}

interface Page {
  page: number
  total: number
  total_pages: number
  data: Record<string, unknown>[]
}

/** Every profile of a query, straight from the API by page number (the order --all must keep). */
async function everyProfile(path: string, query: string, limit: number): Promise<Record<string, unknown>[]> {
  const rows: Record<string, unknown>[] = []
  const authorization = `Bearer ${await live.token('analyst')}`
  for (let page = 1; ; page++) {
    const response = await fetch(`${live.url}${path}?${query}&page=${page}&limit=${limit}`, { headers: { ...V1, authorization } })
    const body = (await response.json()) as Page
    rows.push(...body.data)
    if (page >= body.total_pages) return rows
  }
}

/** Requests for the proxy's next run only. */
function freshRequests() {
  proxy.requests.length = 0
  proxy.before = () => undefined
}

const cursorOf = (url: string) => new URL(url, 'http://x').searchParams.get('cursor')

/** The same request with one character added to its cursor. */
function damagedCursor(path: string): string {
  const url = new URL(path, 'http://x')
  url.searchParams.set('cursor', `${url.searchParams.get('cursor') ?? ''}x`)
  return `${url.pathname}${url.search}`
}

t.test('list --all in a pipe: every row once, in order, tab-separated with the header once', async (t) => {
  freshRequests()
  const result = await cli(['profiles', 'list', '--all', '--country', 'NG', '--sort-by', 'age', '--order', 'desc', '--limit', '7'])
  expectExit(t, result, 0)
  const expected = await everyProfile('/api/profiles', 'country_id=NG&sort_by=age&order=desc', 7)
  t.equal(expected.length, 123, 'Nigeria: 123 profiles, 18 pages of 7')
  const lines = result.stdout.trimEnd().split('\n')
  t.equal(lines[0], HEADER)
  t.equal(lines.filter((l) => l === HEADER).length, 1, 'the header once')
  t.same(
    lines.slice(1).map((l) => l.split('\t')[0]),
    expected.map((p) => p.id),
    'every row exactly once, in the order of the pages',
  )
  t.ok(lines.slice(1).every((l) => l.split('\t').length === 8 && l.includes('(NG)')), 'full rows, the filter applied')
  t.equal(result.stderr, 'pages 1–18 of 18, total 123\n', 'the footer on stderr; no progress off a terminal')

  t.equal(proxy.requests.length, 18, 'one request a page')
  const [first, ...rest] = proxy.requests.map((r) => new URL(r.url, 'http://x'))
  t.equal(first.pathname, '/api/profiles')
  t.same(Object.fromEntries(first.searchParams), { country_id: 'NG', sort_by: 'age', order: 'desc', limit: '7' }, 'the first page by the flags')
  t.ok(rest.every((u) => u.searchParams.get('cursor') && !u.searchParams.has('page') && u.searchParams.get('country_id') === 'NG'), 'then the API’s next_cursor links')
  t.equal(new Set(rest.map((u) => u.searchParams.get('cursor'))).size, 17, 'a new cursor each time')
})

t.test('the page size is the largest the API allows unless --limit says otherwise', async (t) => {
  freshRequests()
  const result = await cli(['profiles', 'list', '--all', '--gender', 'female'])
  expectExit(t, result, 0)
  t.equal(result.stdout.trimEnd().split('\n').length, 1 + 1038)
  t.equal(result.stderr, 'pages 1–21 of 21, total 1038\n')
  t.equal(proxy.requests.length, 21)
  t.ok(proxy.requests.every((r) => new URL(r.url, 'http://x').searchParams.get('limit') === '50'), 'limit=50 on every request')
})

t.test('search --all: every row of the search; --json prints one profile object per line (NDJSON)', async (t) => {
  freshRequests()
  const expected = await everyProfile('/api/profiles/search', 'q=young+males', 20)
  t.equal(expected.length, 129, 'the contract reference count')
  const table = await cli(['profiles', 'search', 'young males', '--all', '--limit', '20'])
  expectExit(t, table, 0)
  t.same(table.stdout.trimEnd().split('\n').slice(1).map((l) => l.split('\t')[0]), expected.map((p) => p.id))
  t.equal(table.stderr, 'pages 1–7 of 7, total 129\n')
  t.ok(proxy.requests.slice(1).every((r) => r.url.startsWith('/api/profiles/search?q=young+males&cursor=')), 'the search’s own cursor links')

  const json = await cli(['profiles', 'search', 'young males', '--all', '--json', '--limit', '20'])
  expectExit(t, json, 0)
  const lines = json.stdout.split('\n')
  t.equal(lines.pop(), '', 'every line ends with a newline')
  t.same(lines.map((l) => JSON.parse(l)), expected, 'each line one profile, exactly as the API sent it')
  t.equal(json.stderr, '', 'data only')

  const list = await cli(['profiles', 'list', '--all', '--json', '--age-group', 'senior', '--sort-by', 'name'])
  expectExit(t, list, 0)
  const seniors = await everyProfile('/api/profiles', 'age_group=senior&sort_by=name', 50)
  t.same(list.stdout.trimEnd().split('\n').map((l) => (JSON.parse(l) as { id: string }).id), seniors.map((p) => p.id))
})

t.test('list --saved NAME --all walks the saved search (a page number it holds is dropped)', async (t) => {
  const saved = await fetch(`${live.url}/api/saved-searches`, {
    method: 'POST',
    headers: { ...V1, authorization: `Bearer ${await live.token('analyst')}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'nigerian women', query: 'gender=female&country_id=NG&page=2' }),
  })
  t.equal(saved.status, 201)
  freshRequests()
  const result = await cli(['profiles', 'list', '--saved', 'nigerian women', '--all', '--limit', '10'])
  expectExit(t, result, 0)
  const expected = await everyProfile('/api/profiles', 'gender=female&country_id=NG', 10)
  t.same(result.stdout.trimEnd().split('\n').slice(1).map((l) => l.split('\t')[0]), expected.map((p) => p.id), 'every row, from the first page')
  t.ok(proxy.requests.filter((r) => r.url.startsWith('/api/profiles?')).every((r) => !/[?&]page=/.test(r.url)), 'no page number asked')
})

t.test('--all with --page is a usage error, before any request', async (t) => {
  freshRequests()
  for (const args of [
    ['profiles', 'list', '--all', '--page', '2'],
    ['profiles', 'search', 'young males', '--page', '3', '--all'],
  ]) {
    const result = await cli(args)
    expectExit(t, result, ExitCode.usage)
    t.equal(result.stdout, '')
    t.equal(result.stderr, 'error: --all prints every page from the first one: leave out --page (--limit sets the page size).\n')
  }
  t.equal(proxy.requests.length, 0)
})

t.test('an empty result says so, once', async (t) => {
  const result = await cli(['profiles', 'list', '--all', '--min-age', '90', '--max-age', '10'])
  expectExit(t, result, 0)
  t.equal(result.stdout, '')
  t.equal(result.stderr, 'No profiles match.\npage 1 of 1, total 0\n')
  const json = await cli(['profiles', 'list', '--all', '--json', '--min-age', '90', '--max-age', '10'])
  expectExit(t, json, 0)
  t.equal(json.stdout, '', 'NDJSON of nothing is nothing')
  t.equal(json.stderr, '')
  const one = await cli(['profiles', 'search', 'young males from nigeria', '--all'])
  expectExit(t, one, 0)
  t.equal(one.stdout.trimEnd().split('\n').length, 1 + 9)
  t.equal(one.stderr, 'page 1 of 1, total 9\n', 'a single page reads as one')
})

t.test('an API refusal midway (422) ends with its message and exit 2, after the rows already printed', async (t) => {
  freshRequests()
  // The third request carries a damaged cursor: the API itself refuses it.
  proxy.before = (n, request) => (n === 3 ? damagedCursor(request.url ?? '/') : undefined)
  const result = await cli(['profiles', 'list', '--all', '--limit', '5', '--sort-by', 'name'])
  expectExit(t, result, ExitCode.usage)
  const expected = (await everyProfile('/api/profiles', 'sort_by=name', 5)).slice(0, 10)
  const lines = result.stdout.trimEnd().split('\n')
  t.equal(lines[0], HEADER)
  t.same(lines.slice(1).map((l) => l.split('\t')[0]), expected.map((p) => p.id), 'the two pages before the failure')
  t.equal(result.stderr, 'error: Invalid cursor: it belongs to another query or page size, or was altered.\n', "the contract's message, nothing else")

  freshRequests()
  proxy.before = (n, request) => (n === 2 ? damagedCursor(request.url ?? '/') : undefined)
  const search = await cli(['profiles', 'search', 'females above 30', '--all', '--json', '--limit', '10'])
  expectExit(t, search, ExitCode.usage)
  t.equal(search.stdout.trimEnd().split('\n').length, 10, 'the first page as NDJSON')
  t.equal(search.stderr, 'error: Invalid cursor: it belongs to another query or page size, or was altered.\n', 'no search examples for a failure midway')
})

t.test('a token revoked between pages: exit 3 with the API’s reason, after the rows already printed', async (t) => {
  freshRequests()
  const user = await createTestUser(live.api.app, 'analyst')
  const { accessToken } = await user.newSessionTokens()
  proxy.before = async (n) => {
    if (n !== 3) return
    const logout = await live.api.app.inject({ method: 'POST', url: '/auth/logout', headers: { authorization: `Bearer ${accessToken}` } })
    t.equal(logout.statusCode, 200, 'the session ended between pages 2 and 3')
  }
  const result = await cli(['profiles', 'list', '--all', '--limit', '4'], { INSIGHTA_TOKEN: accessToken })
  expectExit(t, result, ExitCode.auth)
  t.equal(result.stdout.trimEnd().split('\n').length, 1 + 8, 'header and two pages')
  t.match(result.stderr, /^error: The API rejected the token in INSIGHTA_TOKEN: .+\n$/)
  t.equal(proxy.requests.length, 3, 'nothing asked after the refusal')
})

t.test('the database gone between pages: exit 7 with the API’s 503 message, after the rows already printed', async (t) => {
  // A second API on the same database, reaching it through a TCP proxy the test can cut.
  const target = new URL(live.api.db.url)
  const tcp = await startTcpProxy(target.hostname, Number(target.port))
  t.teardown(() => tcp.close())
  const via = new URL(live.api.db.url)
  via.port = String(tcp.port)
  const db = createDb({ databaseUrl: via.toString(), poolMax: 1, connectionTimeoutMs: 500 })
  t.teardown(() => db.close())
  const second = await startLiveApi(t, { db: { ...db, url: via.toString(), kind: live.api.db.kind } satisfies TestDatabase, env: { CACHE_TTL_SECONDS: '0' } })
  const front = await startForwardingProxy(t, second.url)
  front.before = async (n) => {
    if (n === 3) await tcp.cut()
  }
  const token = await second.token('analyst')
  const result = await runCli(['profiles', 'list', '--all', '--limit', '6'], { home, env: { INSIGHTA_TOKEN: token, INSIGHTA_API_URL: front.url } })
  expectExit(t, result, ExitCode.server)
  t.equal(result.stdout.trimEnd().split('\n').length, 1 + 12, 'header and two pages')
  t.match(result.stderr, /^error: database unavailable \(request id [\w-]+\)\.\n$/)
})

/** What a terminal shows: each line as left after carriage returns, without escape sequences. */
function screenLines(output: string): string[] {
  return output
    .trimEnd()
    .split('\n')
    .map((line) => (line.split('\r').at(-1) ?? '').replace(/\u001b\[[0-9;]*[A-Za-z]/g, ''))
}

t.test('on a terminal: one table fitted to the width, short ids, a progress line on stderr', async (t) => {
  const env = { INSIGHTA_TOKEN: await live.token('analyst'), INSIGHTA_API_URL: live.url }
  const result = await runCliInTerminal(['profiles', 'list', '--all', '--country', 'NG', '--limit', '20'], { home, env, columns: 70 })
  expectExit(t, result, 0)
  const lines = screenLines(result.stdout)
  t.equal(lines.filter((l) => l.startsWith('ID ')).length, 1, 'one header')
  const head = lines.findIndex((l) => l.startsWith('ID '))
  t.match(lines[head + 1], /^-{8} {2}-/)
  const rows = lines.slice(head + 2, -2)
  t.equal(rows.length, 123)
  t.ok(rows.every((l) => /^[0-9a-f]{8} {2}\S/.test(l)), 'each row starts with a short id')
  t.ok(lines.every((l) => [...l].length <= 70), 'every line within 70 columns')
  t.equal(lines.at(-1), 'pages 1–7 of 7, total 123', 'the footer under the table')
  t.match(result.stdout, /\r\u001b\[2K20 of 123 profiles…/, 'progress while the next page loads')
  t.match(result.stdout, /\r\u001b\[2K100 of 123 profiles…/)
  t.notMatch(lines.join('\n'), /of 123 profiles…/, 'and no trace of it left on the screen')
})

t.test('| head: the walk stops when the reader goes away, exit 0, no error', async (t) => {
  freshRequests()
  await cliBuilt()
  const child = spawnCli(['profiles', 'list', '--all', '--limit', '5'], {
    home,
    env: { INSIGHTA_TOKEN: await live.token('analyst'), INSIGHTA_API_URL: proxy.url },
    wrapper: ['bash', '-c', '"$@" | head -n 3; exit "${PIPESTATUS[0]}"', 'insighta'],
  })
  const result = await collect(child, 60_000)
  expectExit(t, result, 0)
  t.equal(result.stdout.split('\n').length, 4, 'three lines through head')
  t.equal(result.stderr, '', 'no EPIPE, no stack trace')
  t.ok(proxy.requests.length < 20, `it stopped asking (${proxy.requests.length} of 406 pages)`)
})

t.test('Ctrl-C: exit 130 with one line saying how far it got; the output ends with a whole line', async (t) => {
  freshRequests()
  proxy.before = () => new Promise((resolve) => setTimeout(resolve, 100))
  await cliBuilt()
  const child = spawnCli(['profiles', 'list', '--all', '--limit', '5'], { home, env: { INSIGHTA_TOKEN: await live.token('analyst'), INSIGHTA_API_URL: proxy.url } })
  const done = collect(child, 60_000)
  await once(child.stdout, 'data')
  child.kill('SIGINT')
  const result = await done
  expectExit(t, result, 130)
  t.match(result.stderr, /^Interrupted after \d+ of 2,026 profiles\.\n$/)
  t.match(result.stdout, /^ID\tNAME[^]*\n$/)
  t.ok(result.stdout.split('\n').slice(1, -1).every((l) => l.split('\t').length === 8), 'whole rows only')
  t.ok(proxy.requests.length < 100, 'it stopped')
})

t.test('cursors are opaque to the CLI: it follows what the API sends', async (t) => {
  freshRequests()
  const result = await cli(['profiles', 'list', '--all', '--limit', '50', '--min-age', '70'])
  expectExit(t, result, 0)
  const links = proxy.requests.slice(1).map((r) => cursorOf(r.url))
  t.ok(links.every((c) => c !== null && /^[\w-]+\.[\w-]+$/.test(c)), 'each an API cursor')
})
