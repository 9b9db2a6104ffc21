/**
 * Every profiles command against the real API (seeded with the 2026 reference profiles): tables with
 * "page x of y, total N", `--json` byte-for-byte the API's answer, the contract's reference counts,
 * errors, and export to a file. Authenticated with INSIGHTA_TOKEN, as CI would.
 */
/* eslint-disable no-control-regex -- these tests look for terminal escape sequences on purpose */
import { readdir, readFile } from 'node:fs/promises'
import path from 'node:path'
import t from 'tap'
import { SEARCH_EXAMPLES as API_SEARCH_EXAMPLES } from '../../contract/nl-parser.ts'
import { ExitCode } from '../../cli/errors.ts'
import { SEARCH_EXAMPLES } from '../../contract/search-examples.ts'
import { V1 } from '../helpers/api.ts'
import { startEnrichmentStubs } from '../../dev/enrichment-stand-in.ts'
import { startLiveApi } from './helpers/live-api.ts'
import { expectExit, runCli, runCliInTerminal, tempDir } from './helpers/run-cli.ts'

// Each case starts real CLI processes (~0.4 s each on an idle machine); leave room on a busy one.
t.setTimeout(300_000)

const stubs = await startEnrichmentStubs()
t.teardown(() => stubs.close())
const live = await startLiveApi(t, {
  seed: true,
  env: { GENDERIZE_URL: stubs.urls.genderize, AGIFY_URL: stubs.urls.agify, NATIONALIZE_URL: stubs.urls.nationalize, ENRICHMENT_CACHE_SIZE: '0' },
})
const home = await tempDir(t)

async function cli(args: string[], role: 'admin' | 'analyst' = 'analyst', cwd?: string) {
  return runCli(args, { home, cwd, env: { INSIGHTA_TOKEN: await live.token(role), INSIGHTA_API_URL: live.url } })
}

/** The API's own answer to the same request, for comparing with `--json`. */
async function direct(url: string) {
  const response = await fetch(`${live.url}${url}`, { headers: { ...V1, authorization: `Bearer ${await live.token('analyst')}` } })
  return response.json() as Promise<Record<string, unknown>>
}

t.test('list in a pipe: tab-separated with full ids, the page footer on stderr; --json as the API answers it', async (t) => {
  const table = await cli(['profiles', 'list'])
  expectExit(t, table, 0)
  const lines = table.stdout.trimEnd().split('\n')
  t.equal(lines[0], 'ID\tNAME\tGENDER\tP(G)\tAGE\tAGE GROUP\tCOUNTRY\tP(C)')
  t.equal(lines.length, 1 + 10, 'header and ten rows, nothing else')
  const expected = (await direct('/api/profiles')).data as { id: string; name: string }[]
  t.same(
    lines.slice(1).map((l) => l.split('\t').slice(0, 2)),
    expected.map((p) => [p.id, p.name]),
    'full ids and names, in the API order',
  )
  t.ok(lines.every((l) => l.split('\t').length === 8 && !/\u001b/.test(l)), 'eight fields a line, no colour codes')
  t.equal(table.stderr, 'page 1 of 203, total 2026\n', 'the footer on stderr; no spinner or noise off a terminal')

  const json = await cli(['profiles', 'list', '--json', '--page', '2', '--limit', '5', '--sort-by', 'age', '--order', 'desc'])
  expectExit(t, json, 0)
  t.same(JSON.parse(json.stdout), await direct('/api/profiles?page=2&limit=5&sort_by=age&order=desc'))
})

t.test("list filters map to the contract's parameters (reference count 43)", async (t) => {
  const result = await cli(['profiles', 'list', '--gender', 'MALE', '--country', 'ng', '--min-age', '25', '--json'])
  expectExit(t, result, 0)
  const body = JSON.parse(result.stdout)
  t.equal(body.total, 43)
  t.match(body.links.self, /gender=male/)
  t.match(body.links.self, /country_id=NG/)
  t.match(body.links.self, /min_age=25/)

  const table = await cli(['profiles', 'list', '--age-group', 'senior', '--min-gender-probability', '0.9', '--min-country-probability', '0.5', '--max-age', '80', '--limit', '50', '--page', '2'])
  expectExit(t, table, 0)
  const expected = await direct('/api/profiles?age_group=senior&min_gender_probability=0.9&min_country_probability=0.5&max_age=80&limit=50&page=2')
  t.match(table.stderr, `page 2 of ${String(expected.total_pages)}, total ${String(expected.total)}\n`)
})

t.test('an empty result says so', async (t) => {
  const result = await cli(['profiles', 'list', '--min-age', '90', '--max-age', '10'])
  expectExit(t, result, 0)
  t.equal(result.stdout, '', 'a pipe gets no lines')
  t.equal(result.stderr, 'No profiles match.\npage 1 of 1, total 0\n')
})

t.test('search: plain English, paged (reference counts)', async (t) => {
  const result = await cli(['profiles', 'search', 'young males from nigeria'])
  expectExit(t, result, 0)
  t.equal(result.stdout.trimEnd().split('\n').length, 1 + 9)
  t.equal(result.stderr, 'page 1 of 1, total 9\n')
  const json = await cli(['profiles', 'search', 'females above 30', '--json', '--limit', '3'])
  t.same(JSON.parse(json.stdout), await direct('/api/profiles/search?q=females+above+30&limit=3'))
  const vague = await cli(['profiles', 'search', 'hello there'])
  expectExit(t, vague, ExitCode.usage)
  t.equal(
    vague.stderr,
    `error: Unable to interpret query.\nTry a query like:\n${API_SEARCH_EXAMPLES.map((e) => `  insighta profiles search "${e}"\n`).join('')}`,
    "the API's examples (the 400's examples field)",
  )
  // Every example really is understood by the API (they are what the user is told to type).
  for (const example of SEARCH_EXAMPLES) {
    const tried = await cli(['profiles', 'search', example, '--json'])
    expectExit(t, tried, 0)
    t.ok((JSON.parse(tried.stdout) as { total: number }).total > 0, `"${example}" finds profiles`)
  }
})

t.test('get: one profile as fields, --json, and 404 for an unknown id', async (t) => {
  const first = ((await direct('/api/profiles?limit=1')).data as { id: string; name: string }[])[0]
  const result = await cli(['profiles', 'get', first.id])
  expectExit(t, result, 0)
  t.match(result.stdout, new RegExp(`^id\\s+${first.id}\\nname\\s+${first.name}\\ngender\\s+(male|female)\\n`))
  t.match(result.stdout, /created_at\s+\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\n$/)
  const json = await cli(['profiles', 'get', first.id.toUpperCase(), '--json'])
  t.same(JSON.parse(json.stdout), await direct(`/api/profiles/${first.id}`))
  const missing = await cli(['profiles', 'get', '0190a4b2-7c1e-7d3a-9f00-1234567890ab'])
  expectExit(t, missing, ExitCode.notFound)
  t.equal(missing.stderr, 'error: Profile not found.\n')
})

t.test('stats: totals and breakdowns, --json as the API answers it', async (t) => {
  const result = await cli(['profiles', 'stats'])
  expectExit(t, result, 0)
  t.match(result.stdout, /^Profiles: 2026\n/)
  t.match(result.stdout, /By gender\nVALUE\s+COUNT\s+SHARE\n/)
  t.match(result.stdout, /By age group\n/)
  t.match(result.stdout, /Top countries\n/)
  t.match(result.stdout, /… and \d+ more countries \(--json lists all\)/)
  t.match(result.stdout, /Ages\nAGES\s+COUNT\n/)
  const json = await cli(['profiles', 'stats', '--country', 'NG', '--json'])
  t.same(JSON.parse(json.stdout), await direct('/api/profiles/stats?country_id=NG'))
})

t.test('create and delete (admin); an analyst is refused', async (t) => {
  const created = await cli(['profiles', 'create', '--name', '  Harriet Tubman  ', '--json'], 'admin')
  expectExit(t, created, 0)
  const body = JSON.parse(created.stdout)
  t.match(body, { status: 'success', data: { name: 'Harriet Tubman' } })

  const again = await cli(['profiles', 'create', '--name', 'harriet tubman'], 'admin')
  expectExit(t, again, 0)
  t.match(again.stdout, /^Profile already exists:\nid\s+/)

  const refused = await cli(['profiles', 'delete', body.data.id, '--yes'], 'analyst')
  expectExit(t, refused, ExitCode.permission)

  const deleted = await cli(['profiles', 'delete', body.data.id, '--yes'], 'admin')
  expectExit(t, deleted, 0)
  t.equal(deleted.stdout, `Deleted profile "Harriet Tubman" (${body.data.id}).\n`, 'named, not only an id')
  const gone = await cli(['profiles', 'get', body.data.id])
  expectExit(t, gone, ExitCode.notFound)
})

t.test('export: streams the filtered set to profiles_<timestamp>.csv in the working directory', async (t) => {
  const cwd = await tempDir(t)
  const result = await cli(['profiles', 'export', '--format', 'csv', '--country', 'NG', '--gender', 'male'], 'analyst', cwd)
  expectExit(t, result, 0)
  const files = await readdir(cwd)
  t.equal(files.length, 1)
  t.match(files[0], /^profiles_\d{8}T\d{6}Z\.csv$/)
  const csv = await readFile(path.join(cwd, files[0]), 'utf8')
  const lines = csv.trimEnd().split(/\r?\n/)
  t.equal(lines[0], 'id,name,gender,gender_probability,age,age_group,country_id,country_name,country_probability,created_at')
  const expected = (await direct('/api/profiles?country_id=NG&gender=male')).total as number
  t.equal(lines.length - 1, expected)
  t.ok(lines.slice(1).every((l) => l.includes(',male,') && l.includes(',NG,')))
  t.equal(result.stdout, `Exported ${expected} profiles (${(Buffer.byteLength(csv) / 1024).toFixed(1)} KB) to ${path.join(cwd, files[0])}\n`)
})

t.test('export --output writes exactly there, sorted as asked', async (t) => {
  const cwd = await tempDir(t)
  const result = await cli(['profiles', 'export', '--output', 'out/../seniors.csv', '--age-group', 'senior', '--sort-by', 'age', '--order', 'asc'], 'analyst', cwd)
  expectExit(t, result, 0)
  t.same(await readdir(cwd), ['seniors.csv'])
  const ages = (await readFile(path.join(cwd, 'seniors.csv'), 'utf8'))
    .trimEnd()
    .split(/\r?\n/)
    .slice(1)
    .map((l) => Number(l.split(',')[4]))
  t.ok(ages.length > 0 && ages.every((age, i) => age >= 60 && (i === 0 || age >= ages[i - 1])), 'seniors, ascending age')
})

/** What a terminal shows: each line as left after carriage returns, without escape sequences. */
function screenLines(output: string): string[] {
  return output
    .trimEnd()
    .split('\n')
    .map((line) => (line.split('\r').at(-1) ?? '').replace(/\u001b\[[0-9;]*[A-Za-z]/g, ''))
}

t.test('on a terminal: the table fits the width, ids are short, the header is bold unless NO_COLOR', async (t) => {
  const env = { INSIGHTA_TOKEN: await live.token('analyst'), INSIGHTA_API_URL: live.url }
  const created = await cli(['profiles', 'create', '--name', `Wolfeschlegelsteinhausenbergerdorff ${'x'.repeat(150)}`, '--json'], 'admin')
  expectExit(t, created, 0)
  const long = JSON.parse(created.stdout).data as { id: string; name: string }
  t.teardown(() => cli(['profiles', 'delete', long.id, '--yes'], 'admin'))

  for (const columns of [60, 100]) {
    // Newest first: the long name leads the page.
    const result = await runCliInTerminal(['profiles', 'list', '--limit', '5'], { home, env, columns })
    expectExit(t, result, 0)
    const lines = screenLines(result.stdout)
    const table = lines.slice(lines.findIndex((l) => l.startsWith('ID')))
    t.ok(table.every((l) => [...l].length <= columns), `every line within ${columns} columns`, { lines: table })
    t.match(table[0], /^ID {8}NAME/, 'an 8-character id column')
    t.match(table[1], /^-{8} {2}-/)
    t.match(table[2], /^[0-9a-f]{8} {2}\S/, 'the id is its first 8 characters')
    t.match(table[2], /^[0-9a-f]{8} {2}Wolfe[^…]*… /, 'the long name is cut with …')
    t.match(table.at(-1), /^page 1 of \d+, total \d+$/, 'the footer under the table')
    t.notMatch(result.stdout, /\u001b\[1m/, 'NO_COLOR: no bold')
  }
  const coloured = await runCliInTerminal(['profiles', 'list', '--limit', '1'], { home, env: { ...env, NO_COLOR: '' }, columns: 120 })
  expectExit(t, coloured, 0)
  t.match(coloured.stdout, /\u001b\[1mID {2}/, 'a bold header on a colour terminal')
  const piped = await runCli(['profiles', 'list', '--limit', '1'], { home, env: { ...env, NO_COLOR: '' } })
  t.notMatch(piped.stdout, /\u001b/, 'never in a pipe by default')
  const forced = await runCliInTerminal(['profiles', 'list', '--limit', '1'], { home, env: { ...env, NO_COLOR: '', FORCE_COLOR: '0' }, columns: 120 })
  t.notMatch(forced.stdout, /\u001b\[1m/, 'FORCE_COLOR=0 turns colour off on a terminal too')
})

t.test('export neutralises spreadsheet formulas by default; --raw keeps the cells as sent; -o - writes to stdout', async (t) => {
  const names = ['=HYPERLINK("http://x.example","click")', '@SUM(A1:A9)', '+cmd|calc', '-2+3', 'Plain, "quoted" name']
  const ids: string[] = []
  for (const name of names) {
    const created = await cli(['profiles', 'create', '--name', name, '--json'], 'admin')
    expectExit(t, created, 0)
    ids.push(JSON.parse(created.stdout).data.id)
  }
  t.teardown(async () => {
    for (const id of ids) await cli(['profiles', 'delete', id, '--yes'], 'admin')
  })
  const rowOf = (csv: string, id: string) => csv.split(/\r?\n/).find((line) => line.startsWith(`${id},`)) ?? ''

  const safe = await cli(['profiles', 'export', '-o', '-', '--sort-by', 'name'])
  expectExit(t, safe, 0)
  t.match(safe.stdout, /^id,name,gender,/, 'the CSV itself on stdout')
  t.match(safe.stderr, /^Exported 20\d\d profiles \(.+\) to stdout\n$/, 'the summary on stderr')
  t.equal(rowOf(safe.stdout, ids[0]).split(',')[1], `"'=HYPERLINK(""http://x.example""`, 'a quoted formula gets its quote inside the quotes')
  t.match(rowOf(safe.stdout, ids[1]), `,'@SUM(A1:A9),`)
  t.match(rowOf(safe.stdout, ids[2]), `,'+cmd|calc,`)
  t.match(rowOf(safe.stdout, ids[3]), `,'-2+3,`)
  t.match(rowOf(safe.stdout, ids[4]), `,"Plain, ""quoted"" name",`, 'other cells are untouched')
  t.equal(safe.stdout.match(/,'/g)?.length, 3, 'exactly the dangerous unquoted cells changed')

  const raw = await cli(['profiles', 'export', '-o', '-', '--raw', '--sort-by', 'name'])
  expectExit(t, raw, 0)
  const direct = await fetch(`${live.url}/api/profiles/export?format=csv&sort_by=name`, { headers: { ...V1, authorization: `Bearer ${await live.token('analyst')}` } })
  t.equal(raw.stdout, await direct.text(), '--raw: byte for byte what the API sent')

  const cwd = await tempDir(t)
  const file = await cli(['profiles', 'export', '-o', 'safe.csv'], 'analyst', cwd)
  expectExit(t, file, 0)
  t.match(rowOf(await readFile(path.join(cwd, 'safe.csv'), 'utf8'), ids[1]), `,'@SUM(A1:A9),`, 'files are neutralised too')
})

t.test('export on a terminal shows a percentage of the known total', async (t) => {
  const cwd = await tempDir(t)
  const env = { INSIGHTA_TOKEN: await live.token('analyst'), INSIGHTA_API_URL: live.url }
  const result = await runCliInTerminal(['profiles', 'export', '-o', 'ng.csv', '--country', 'NG'], { home, cwd, env, columns: 100 })
  expectExit(t, result, 0)
  const total = (await direct('/api/profiles?country_id=NG&limit=1')).total as number
  t.match(result.stdout, new RegExp(`Exporting… \\d+% · [\\d,]+ of ${total.toLocaleString('en-US')} rows`), 'progress with the total')
  t.match(result.stdout, `Exported ${total} profiles`)
})
