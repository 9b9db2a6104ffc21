/**
 * Every profiles command against the real API (seeded with the 2026 reference profiles): tables with
 * "page x of y, total N", `--json` byte-for-byte the API's answer, the contract's reference counts,
 * errors, and export to a file. Authenticated with INSIGHTA_TOKEN, as CI would.
 */
import { readdir, readFile } from 'node:fs/promises'
import path from 'node:path'
import t from 'tap'
import { ExitCode } from '../../cli/errors.ts'
import { V1 } from '../helpers/api.ts'
import { startEnrichmentStubs } from '../../dev/enrichment-stand-in.ts'
import { startLiveApi } from './helpers/live-api.ts'
import { expectExit, runCli, tempDir } from './helpers/run-cli.ts'

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

t.test('list: a table with the page footer, and --json as the API answers it', async (t) => {
  const table = await cli(['profiles', 'list'])
  expectExit(t, table, 0)
  const lines = table.stdout.trimEnd().split('\n')
  t.match(lines[0], /^ID\s+NAME\s+GENDER\s+P\(G\)\s+AGE\s+AGE GROUP\s+COUNTRY\s+P\(C\)$/)
  t.match(lines[1], /^-+ {2}-+/)
  t.equal(lines.length, 2 + 10 + 2, 'header, rule, ten rows, blank, footer')
  t.equal(lines.at(-1), 'page 1 of 203, total 2026')
  t.equal(table.stderr, '', 'no spinner or noise off a terminal')

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
  t.match(table.stdout, `page 2 of ${String(expected.total_pages)}, total ${String(expected.total)}`)
})

t.test('an empty result says so', async (t) => {
  const result = await cli(['profiles', 'list', '--min-age', '90', '--max-age', '10'])
  expectExit(t, result, 0)
  t.equal(result.stdout, 'No profiles match.\npage 1 of 1, total 0\n')
})

t.test('search: plain English, paged (reference counts)', async (t) => {
  const result = await cli(['profiles', 'search', 'young males from nigeria'])
  expectExit(t, result, 0)
  t.match(result.stdout, /page 1 of 1, total 9\n$/)
  const json = await cli(['profiles', 'search', 'females above 30', '--json', '--limit', '3'])
  t.same(JSON.parse(json.stdout), await direct('/api/profiles/search?q=females+above+30&limit=3'))
  const vague = await cli(['profiles', 'search', 'hello there'])
  expectExit(t, vague, ExitCode.usage)
  t.equal(vague.stderr, 'error: Unable to interpret query.\n')
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
  t.equal(deleted.stdout, `Deleted profile ${body.data.id}.\n`)
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
