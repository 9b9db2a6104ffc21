/**
 * Issue 15 in the CLI, against the real API: the search's "understood as" line (terminal only), the
 * API's example queries for a search it cannot read, `insighta saved list|save|delete` and
 * `insighta profiles list --saved NAME` for list and search kinds.
 */
import t from 'tap'
import { ExitCode } from '../../cli/errors.ts'
import { startLiveApi } from './helpers/live-api.ts'
import { expectExit, runCli, runCliInTerminal, tempDir } from './helpers/run-cli.ts'

t.setTimeout(600_000)

const live = await startLiveApi(t, { seed: true })
const home = await tempDir(t)
const env = { INSIGHTA_TOKEN: await live.token('analyst'), INSIGHTA_API_URL: live.url }
const cli = (args: string[]) => runCli(args, { home, env })

type Row = { gender: string; country_id: string; age_group: string; age: number }
const rows = (stdout: string) => (JSON.parse(stdout) as { data: Row[] }).data

t.test('search: one "understood as" line on a terminal, none in a pipe', async (t) => {
  const terminal = await runCliInTerminal(['profiles', 'search', 'young males from nigeria please', '--limit', '3'], { home, env, columns: 120 })
  expectExit(t, terminal, 0)
  // The spinner shares stderr's line until it is cleared: keep what follows the last clear.
  const lines = terminal.stdout.split('\n').filter((l) => l.includes('understood as')).map((l) => l.split('\u001b[2K').pop() ?? l)
  t.equal(lines.length, 1, 'one line')
  t.match(lines[0], /^understood as: gender=male min_age=16 max_age=24 country_id=NG \(ignored: .*"please".*\)$/)

  const piped = await cli(['profiles', 'search', 'young males from nigeria please', '--limit', '3'])
  expectExit(t, piped, 0)
  t.notMatch(piped.stdout + piped.stderr, /understood as/)
  const json = await cli(['profiles', 'search', 'young males from nigeria', '--json'])
  t.match(JSON.parse(json.stdout), { interpreted: { filter: { gender: 'male', country_id: 'NG' } } })
})

t.test('an uninterpretable search: exit 2 with the API’s message and its example queries', async (t) => {
  const direct = await fetch(`${live.url}/api/profiles/search?q=xyzzy+plugh`, { headers: await live.api.headers('analyst') })
  const { examples } = (await direct.json()) as { examples: string[] }
  t.ok(examples.length > 0, 'the API sends examples')
  const result = await cli(['profiles', 'search', 'xyzzy plugh'])
  expectExit(t, result, ExitCode.usage)
  t.equal(result.stderr, `error: Unable to interpret query.\nTry a query like:\n${examples.map((e) => `  insighta profiles search "${e}"\n`).join('')}`)
  t.equal(result.stdout, '')
})

t.test('saved save (list flags), list, profiles list --saved, delete', async (t) => {
  const save = await cli(['saved', 'save', 'lagos women', '--gender', 'female', '--country', 'ng', '--sort-by', 'age'])
  expectExit(t, save, 0)
  t.match(save.stdout, 'Saved "lagos women" (list: gender=female&country_id=NG&sort_by=age). Run it with: insighta profiles list --saved "lagos women"')

  const list = await cli(['saved'])
  expectExit(t, list, 0)
  t.match(list.stdout, /^NAME\tKIND\tQUERY\tCREATED AT\tID\nlagos women\tlist\tgender=female&country_id=NG&sort_by=age\t\S+\t[0-9a-f-]{36}$/m)
  t.match(JSON.parse((await cli(['saved', 'list', '--json'])).stdout), { status: 'success', data: [{ name: 'lagos women', kind: 'list' }] })

  const run = await cli(['profiles', 'list', '--saved', 'Lagos Women', '--limit', '5', '--json'])
  expectExit(t, run, 0)
  const found = rows(run.stdout)
  t.ok(found.length > 0 && found.length <= 5, 'a page, limited by the flag')
  t.ok(found.every((r) => r.gender === 'female' && r.country_id === 'NG'), 'the saved filter applied')
  t.same(found.map((r) => r.age), [...found.map((r) => r.age)].sort((a, b) => a - b), 'the saved sort applied')
  const table = await cli(['profiles', 'list', '--saved', 'lagos women', '--page', '2'])
  expectExit(t, table, 0)
  t.match(table.stderr, /page 2 of \d+, total \d+/)

  const mixed = await cli(['profiles', 'list', '--saved', 'lagos women', '--gender', 'male'])
  expectExit(t, mixed, ExitCode.usage)
  t.match(mixed.stderr, '--saved runs the saved filter as it is')
  const missing = await cli(['profiles', 'list', '--saved', 'nope'])
  expectExit(t, missing, ExitCode.notFound)
  t.match(missing.stderr, 'You have no saved search named "nope"')

  const duplicate = await cli(['saved', 'save', 'lagos women', '--gender', 'male'])
  expectExit(t, duplicate, ExitCode.usage)

  const remove = await cli(['saved', 'delete', 'lagos women'])
  expectExit(t, remove, 0)
  t.match(remove.stdout, 'Deleted the saved search "lagos women".')
  expectExit(t, await cli(['saved', 'delete', 'lagos women']), ExitCode.notFound)
  expectExit(t, await cli(['profiles', 'list', '--saved', 'lagos women']), ExitCode.notFound)
})

t.test('a saved search query (--query q=…) runs as a search, explained on a terminal', async (t) => {
  const save = await cli(['saved', 'save', 'young kenyans', '--query', '?q=young people from kenya'])
  expectExit(t, save, 0)
  t.match(save.stdout, /\(search: q=young/)
  const run = await cli(['profiles', 'list', '--saved', 'young kenyans', '--json'])
  expectExit(t, run, 0)
  const found = rows(run.stdout)
  t.ok(found.length > 0 && found.every((r) => r.country_id === 'KE' && r.age >= 16 && r.age <= 24))
  const terminal = await runCliInTerminal(['profiles', 'list', '--saved', 'young kenyans', '--limit', '2'], { home, env, columns: 120 })
  expectExit(t, terminal, 0)
  t.match(terminal.stdout, /understood as: min_age=16 max_age=24 country_id=KE/)
  expectExit(t, await cli(['saved', 'delete', 'young kenyans']), 0)
})

t.test('saved save refuses bad input', async (t) => {
  const cases: [string[], RegExp][] = [
    [['saved', 'save', '', '--gender', 'male'], /The saved search name must not be empty/],
    [['saved', 'save', 'a\u0001b', '--gender', 'male'], /must not contain control characters/],
    [['saved', 'save', 'x'.repeat(101), '--gender', 'male'], /at most 100 characters/],
    [['saved', 'save', 'both', '--query', 'gender=male', '--country', 'NG'], /either --query or the list flags/],
    [['saved', 'save', 'nothing'], /Nothing to save/],
    [['saved', 'save', 'ctl', '--query', 'gender=male\u0007'], /--query must not contain control characters/],
    [['saved', 'save', 'long', '--query', `q=${'a'.repeat(1001)}`], /--query must be at most 1000 characters/],
    [['saved', 'save', 'bogus', '--query', 'gender=robot'], /error: /],
    [['saved', 'save', 'bad-gender', '--gender', 'robot'], /The gender must be one of/i],
    [['saved', 'delete', '  '], /must not be empty/],
  ]
  for (const [args, message] of cases) {
    const result = await cli(args)
    expectExit(t, result, ExitCode.usage)
    t.match(result.stderr, message, args.join(' '))
  }
  t.match(JSON.parse((await cli(['saved', 'list', '--json'])).stdout), { data: [] }, 'nothing was saved')
  const denied = await runCli(['saved', 'list'], { home: await tempDir(t) })
  expectExit(t, denied, ExitCode.auth)
})
