/**
 * The pure parts: table layout, the page footer, byte sizes, the CSV row counter, terminal-only
 * animations, option parsers, the refresh margin and the export file name.
 */
import { readFile } from 'node:fs/promises'
import { Readable, Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { InvalidArgumentError } from 'commander'
import t from 'tap'
import { CsvCounter, defaultExportName, formatDuration, progressLine } from '../../cli/commands/profile-export.ts'
import { profileId, searchExamplesText, searchQuery } from '../../cli/commands/profiles.ts'
import { withEnds } from '../../cli/commands/sessions.ts'
import { CsvFormulaGuard } from '../../cli/csv-formula-guard.ts'
import { colourMode } from '../../cli/environment.ts'
import { ExitCode } from '../../cli/errors.ts'
import { idOrPrefix, resolvePrefix } from '../../cli/short-ids.ts'
import { CLI_VERSION } from '../../cli/version.ts'
import { MAX_QUERY_LENGTH } from '../../contract/query-limits.ts'
import { SEARCH_EXAMPLES } from '../../contract/search-examples.ts'
import type { Credentials } from '../../cli/credentials.ts'
import { formatBytes, formatTable, formatTsv, Output, pageFooter, streamedWidths } from '../../cli/output.ts'
import { needsRefresh, sessionEndedMessage } from '../../cli/session.ts'
import { countryCode, integerIn, oneOf, probability, uuid } from '../../cli/validate.ts'
import { profileTable, recordTable, statsReport } from '../../cli/views.ts'

t.test('formatTable aligns columns, right-aligns numbers, truncates long cells, trims line ends', async (t) => {
  const table = formatTable(
    [{ header: 'NAME', max: 8 }, { header: 'AGE', align: 'right' }, { header: 'NOTE' }],
    [
      ['Ada', 36, null],
      ['Bartholomew Roberts', 5, true],
      ['Zoë', 104, 'x'],
    ],
  )
  t.equal(
    table,
    ['NAME      AGE  NOTE', '--------  ---  ----', 'Ada        36  -', 'Barthol…    5  yes', 'Zoë       104  x'].join('\n'),
  )
})

t.test('cells from the network cannot smuggle control characters into the terminal', async (t) => {
  const table = formatTable([{ header: 'A' }], [['evil\u001b[2Jname\nnext']])
  t.notOk([...table.replaceAll('\n', '')].some((c) => c.charCodeAt(0) < 0x20))
})

t.test('page footer and byte sizes', async (t) => {
  t.equal(pageFooter(2, 203, 2026), 'page 2 of 203, total 2026')
  t.equal(pageFooter(1, 0, 0), 'page 1 of 1, total 0')
  t.equal(formatBytes(512), '512 B')
  t.equal(formatBytes(1536), '1.5 KB')
  t.equal(formatBytes(12.34 * 1024 * 1024), '12.3 MB')
})

t.test('profileTable, statsReport and recordTable render API JSON defensively', async (t) => {
  const table = profileTable({
    page: 1,
    totalPages: 1,
    total: 1,
    data: [{ id: 'x', name: 'Ada', gender: 'female', gender_probability: 0.987, age: 36, age_group: 'adult', country_id: 'GB', country_name: 'United Kingdom', country_probability: 0.5 }],
  })
  t.match(formatTable(table.columns, table.rows), /Ada\s+female\s+0\.99\s+36\s+adult\s+United Kingdom \(GB\)\s+0\.50/)
  t.equal(table.footer, 'page 1 of 1, total 1')
  t.equal(table.empty, 'No profiles match.')
  const stats = statsReport({
    total: 4,
    by_gender: { male: 1, female: 3 },
    by_age_group: { child: 0, teenager: 0, adult: 4, senior: 0 },
    by_country: [{ country_id: 'NG', country_name: 'Nigeria', count: 4 }],
    age_histogram: [{ from: 20, to: 29, count: 3 }, { from: 30, to: 39, count: 1 }],
  })
  t.match(stats, /female\s+3\s+75\.0%/)
  t.match(stats, /Nigeria \(NG\)\s+4\s+100\.0%/)
  t.match(stats, /20–29\s+3\s+█{30}\n30–39\s+1\s+█{10}/)
  t.equal(statsReport({}), 'Profiles: 0', 'missing sections are skipped, not crashed on')
  const records = recordTable([{ id: '1', extra: 'kept', nested: { no: 1 }, current: true }], ['current', 'id'], ['hidden'])
  const text = formatTable(records.columns, records.rows)
  t.match(text, /^CURRENT\s+ID\s+EXTRA\n/)
  t.notMatch(text, /NESTED/)
  t.same(records.columns.map((c) => c.shortId), [false, true, false], 'the id column is shortened on a terminal')
})

t.test('CsvCounter counts records, not newlines inside quoted fields, across chunk boundaries', async (t) => {
  const csv = 'id,name\r\n1,"Line\r\nbreak"\r\n2,"Say ""hi"""\r\n3,plain\r\n'
  for (const size of [1, 2, 3, 7, csv.length]) {
    const chunks: Buffer[] = []
    for (let i = 0; i < csv.length; i += size) chunks.push(Buffer.from(csv.slice(i, i + size)))
    const counter = new CsvCounter()
    let out = ''
    await pipeline(
      Readable.from(chunks),
      counter,
      new Writable({
        write(chunk: Buffer, _e, cb) {
          out += chunk.toString()
          cb()
        },
      }),
    )
    t.equal(counter.rows, 3, `chunks of ${size}`)
    t.equal(counter.bytes, Buffer.byteLength(csv))
    t.equal(out, csv, 'bytes pass through unchanged')
  }
})

t.test('export file name: profiles_<UTC timestamp>.csv', async (t) => {
  t.equal(defaultExportName(new Date('2026-11-23T17:05:09.123Z')), 'profiles_20261123T170509Z.csv')
})

t.test('refresh margin: the last fifth of the lifetime, at most 30 seconds', async (t) => {
  const now = Date.parse('2026-01-01T00:00:00Z')
  const at = (expiresIn: number, remaining: number) =>
    needsRefresh({ expires_in: expiresIn, expires_at: new Date(now + remaining * 1000).toISOString() } as Credentials, now)
  t.equal(at(180, 31), false)
  t.equal(at(180, 30), true)
  t.equal(at(10, 3), false)
  t.equal(at(10, 2), true)
  t.equal(at(180, -5), true)
})

t.test('option parsers normalise good values and reject bad ones', async (t) => {
  t.equal(oneOf(['male', 'female'] as const, 'The gender')(' Male '), 'male')
  t.throws(() => oneOf(['a'] as const, 'X')('b'), InvalidArgumentError)
  t.equal(integerIn(0, 150, '--min-age')('0'), 0)
  t.throws(() => integerIn(0, 150, '--min-age')('1e2'))
  t.throws(() => integerIn(0, 150, '--min-age')(''))
  for (const good of ['0', '1', '0.5', '.5', '1.0', '0.', '0.80']) t.equal(probability('p')(good), Number(good), good)
  for (const bad of ['-0.1', '1.5', 'abc', '', '0x1', '1e-1', 'NaN', 'Infinity']) t.throws(() => probability('p')(bad), bad)
  t.equal(countryCode('ng'), 'NG')
  t.equal(uuid('id')('0190A4B2-7C1E-7D3A-9F00-1234567890AB'), '0190a4b2-7c1e-7d3a-9f00-1234567890ab')
})

t.test('spinner and progress only animate on a terminal', async (t) => {
  const capture = (isTTY: boolean) => {
    const written: string[] = []
    const stream = Object.assign(
      new Writable({
        write(chunk: Buffer, _e, cb) {
          written.push(chunk.toString())
          cb()
        },
      }),
      { isTTY },
    )
    return { stream, written }
  }
  const plainOut = capture(false)
  const plainErr = capture(false)
  const plain = new Output(plainOut.stream, plainErr.stream)
  await plain.spin('Loading…', async () => plain.progress('50%'))
  plain.print('done')
  t.same(plainErr.written, [], 'nothing animated into a pipe')
  t.same(plainOut.written, ['done\n'])

  const ttyOut = capture(true)
  const ttyErr = capture(true)
  const tty = new Output(ttyOut.stream, ttyErr.stream)
  await tty.spin('Loading…', async () => new Promise((r) => setTimeout(r, 200)))
  t.ok(ttyErr.written.some((w) => w.includes('Loading…')), 'spinner drawn on a terminal')
  t.equal(ttyErr.written.at(-1), '\r\u001b[2K', 'and cleared afterwards')
})

t.test('formatTable fits a width by cutting the widest columns, never below their minimum', async (t) => {
  const columns = [{ header: 'ID', min: 8 }, { header: 'NAME', min: 4 }, { header: 'AGE', align: 'right' as const }]
  const rows = [['0190a4b2', 'x'.repeat(200), 36]]
  const natural = formatTable(columns, rows)
  t.equal(natural.split('\n')[2].length, 8 + 2 + 200 + 2 + 3)
  for (const width of [80, 40, 20]) {
    const lines = formatTable(columns, rows, { width }).split('\n')
    t.ok(lines.every((l) => [...l].length <= width), `fits ${width}`)
    t.match(lines[2], /^0190a4b2 {2}x+… {3}36$/, 'the id stays whole, the name is cut with …')
  }
  const tooNarrow = formatTable(columns, rows, { width: 5 }).split('\n')[2]
  t.equal(tooNarrow, '0190a4b2  xxx…   36', 'below every minimum it stops shrinking instead of losing the id')
  t.equal(formatTable(columns, rows, { width: 80, header: (h) => `<${h}>` }).split('\n')[0].slice(0, 3), '<ID', 'header styling hook')
})

t.test('formatTsv: a header and full values, tab-separated, tabs and control characters in cells made spaces', async (t) => {
  t.equal(
    formatTsv([{ header: 'ID', shortId: true }, { header: 'NAME' }], [['0190a4b2-7c1e-7d3a-9f00-1234567890ab', 'a\tb\nc'], ['x', null]]),
    'ID\tNAME\n0190a4b2-7c1e-7d3a-9f00-1234567890ab\ta b c\nx\t-',
  )
})

t.test('Output.table: a terminal gets the fitted table with short ids, a pipe TSV and the footer on stderr', async (t) => {
  const capture = (isTTY: boolean, columns?: number) => {
    const written: string[] = []
    const stream = Object.assign(new Writable({ write: (c: Buffer, _e, cb) => (written.push(c.toString()), cb()) }), { isTTY, columns })
    return { stream, text: () => written.join('') }
  }
  const data = { columns: [{ header: 'ID', shortId: true, min: 8 }, { header: 'NAME' }], rows: [['0190a4b2-7c1e-7d3a-9f00-1234567890ab', 'Ada']], footer: 'page 1 of 1, total 1' }
  const ttyOut = capture(true, 40)
  const ttyErr = capture(true)
  new Output(ttyOut.stream, ttyErr.stream, 'auto').table(data)
  t.equal(ttyOut.text(), '\u001b[1mID        NAME\u001b[22m\n--------  ----\n0190a4b2  Ada\n\n\u001b[2mpage 1 of 1, total 1\u001b[22m\n')
  const plainOut = capture(true, 40)
  new Output(plainOut.stream, capture(true).stream, 'never').table(data)
  t.equal(plainOut.text(), 'ID        NAME\n--------  ----\n0190a4b2  Ada\n\npage 1 of 1, total 1\n', 'never: no escapes')
  const pipeOut = capture(false)
  const pipeErr = capture(false)
  new Output(pipeOut.stream, pipeErr.stream, 'auto').table(data)
  t.equal(pipeOut.text(), 'ID\tNAME\n0190a4b2-7c1e-7d3a-9f00-1234567890ab\tAda\n')
  t.equal(pipeErr.text(), 'page 1 of 1, total 1\n')
  const errors = capture(false)
  new Output(capture(false).stream, errors.stream, 'always').error('boom')
  t.equal(errors.text(), '\u001b[31merror:\u001b[39m boom\n', 'FORCE_COLOR colours a pipe too')
})

t.test('colour mode: NO_COLOR wins, FORCE_COLOR forces (0 and false turn it off), else auto', async (t) => {
  t.equal(colourMode({}), 'auto')
  t.equal(colourMode({ NO_COLOR: '1' }), 'never')
  t.equal(colourMode({ NO_COLOR: '' }), 'auto', 'an empty NO_COLOR is unset (no-color.org)')
  t.equal(colourMode({ FORCE_COLOR: '1' }), 'always')
  t.equal(colourMode({ FORCE_COLOR: '3' }), 'always')
  t.equal(colourMode({ FORCE_COLOR: '0' }), 'never')
  t.equal(colourMode({ FORCE_COLOR: 'false' }), 'never')
  t.equal(colourMode({ NO_COLOR: '1', FORCE_COLOR: '1' }), 'never')
})

/** Runs `csv` through the guard in chunks of `size` bytes. */
async function guarded(csv: string, size: number): Promise<{ out: string; neutralised: number }> {
  const bytes = Buffer.from(csv)
  const chunks: Buffer[] = []
  for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.subarray(i, i + size))
  const guard = new CsvFormulaGuard()
  const parts: Buffer[] = []
  await pipeline(Readable.from(chunks), guard, new Writable({ write: (c: Buffer, _e, cb) => (parts.push(c), cb()) }))
  return { out: Buffer.concat(parts).toString(), neutralised: guard.neutralised }
}

t.test('CsvFormulaGuard: OWASP prefixes, quoted fields, escaped quotes, line breaks, every chunk boundary', async (t) => {
  const csv = [
    'id,name,note',
    '1,=1+1,-5',
    '2,"=HYPERLINK(""http://x"",""y"")",+plain',
    '3,"@a, b","line\r\n=not a cell start"',
    '4,"""=quoted first",',
    '5,"\tTab","\rCR"',
    '6,\tTab unquoted,é=ok',
    '7,"",@',
    '',
  ].join('\r\n')
  const expected = [
    'id,name,note',
    "1,'=1+1,'-5",
    `2,"'=HYPERLINK(""http://x"",""y"")",'+plain`,
    `3,"'@a, b","line\r\n=not a cell start"`,
    '4,"""=quoted first",',
    `5,"'\tTab","'\rCR"`,
    "6,'\tTab unquoted,é=ok",
    `7,"",'@`,
    '',
  ].join('\r\n')
  for (const size of [1, 2, 3, 5, 7, 64, csv.length]) {
    const { out, neutralised } = await guarded(csv, size)
    t.equal(out, expected, `chunks of ${size} bytes`)
    t.equal(neutralised, 9)
  }
  const safe = 'id,name\n1,Ada\n2,"Lovelace, Ada"\n'
  t.equal((await guarded(safe, 3)).out, safe, 'a file without formulas passes unchanged')
  t.equal((await guarded('a,b\n1,\n', 1)).out, 'a,b\n1,\n', 'an empty last field before LF')
  t.equal((await guarded('a,b\r\n1,\r\n', 1)).out, 'a,b\r\n1,\r\n', 'an empty last field before CRLF is not a CR cell')
})

t.test('export progress: a percentage of the known total and an ETA once a second has passed', async (t) => {
  t.equal(progressLine(500, 2048, undefined, 5000), 'Exporting… 500 rows, 2.0 KB')
  t.equal(progressLine(0, 0, 100_000, 0), 'Exporting… 0% · 0 of 100,000 rows · 0 B')
  t.equal(progressLine(25_000, 1024 * 1024, 100_000, 500), 'Exporting… 25% · 25,000 of 100,000 rows · 1.0 MB', 'no ETA before a second')
  t.equal(progressLine(25_000, 1024 * 1024, 100_000, 4000), 'Exporting… 25% · 25,000 of 100,000 rows · 1.0 MB · about 12 s left')
  t.equal(progressLine(100_000, 1024, 100_000, 4000), 'Exporting… 100% · 100,000 of 100,000 rows · 1.0 KB')
  t.equal(progressLine(120, 10, 100, 4000), 'Exporting… 100% · 120 of 100 rows · 10 B', 'rows added meanwhile never exceed 100%')
  t.equal(formatDuration(90_000), '1 min 30 s')
  t.equal(formatDuration(2 * 3600_000 + 5 * 60_000), '2 h 5 min')
})

t.test('short ids: full ids or prefixes in; ambiguity refused with the candidates', async (t) => {
  const parse = idOrPrefix('The session id')
  t.equal(parse(' 0190A4B2 '), '0190a4b2')
  t.equal(parse('0190a4b2-7c1e'), '0190a4b2-7c1e')
  for (const bad of ['019', 'zzzzzzzz', '0190a4b2x', '', '0190a4b2-7c1e-7d3a-9f00-1234567890ab0', 'a\u0000b']) t.throws(() => parse(bad), InvalidArgumentError, bad)
  const ids = ['0190a4b2-0000-7000-8000-000000000001', '0190a4b2-0000-7000-8000-000000000002', '0190ffff-0000-7000-8000-000000000003']
  t.equal(resolvePrefix('0190ff', ids, 'session'), ids[2])
  t.equal(resolvePrefix(ids[0], ids, 'session'), ids[0])
  t.throws(() => resolvePrefix('0190a4b2', ids, 'session'), { exitCode: ExitCode.usage, message: /0190a4b2 is ambiguous: 2 sessions .*give more characters/ })
  t.throws(() => resolvePrefix('abcd', ids, 'session'), { exitCode: ExitCode.notFound, message: 'No session has an id starting with abcd.' })
  t.throws(() => profileId('01a2356f'), /must be given in full: profiles created in the same minute share their first characters/)
  t.throws(() => profileId('42'), /The profile id must be a UUID/)
  t.equal(profileId('0190A4B2-7C1E-7D3A-9F00-1234567890AB'), '0190a4b2-7c1e-7d3a-9f00-1234567890ab')
})

t.test('search queries: the limit is named, control characters refused, examples offered when empty', async (t) => {
  t.equal(searchQuery('  young males  '), 'young males')
  t.equal(searchQuery('é'.repeat(MAX_QUERY_LENGTH)), 'é'.repeat(MAX_QUERY_LENGTH), 'the limit counts characters, not bytes')
  t.throws(() => searchQuery('a'.repeat(MAX_QUERY_LENGTH + 1)), { message: `The search query must be at most ${MAX_QUERY_LENGTH} characters; this one has ${MAX_QUERY_LENGTH + 1}.` })
  t.throws(() => searchQuery('men\u0000'), /control characters/)
  t.throws(() => searchQuery('   '), { message: `The search query must not be empty.\n${searchExamplesText()}` })
  t.match(searchExamplesText(), SEARCH_EXAMPLES[0])
})

t.test('a refused refresh past the granted idle lifetime says so, with the minutes', async (t) => {
  const now = Date.parse('2026-01-01T00:10:00Z')
  const base = { refresh_expires_in: 300, refresh_expires_at: '2026-01-01T00:05:00Z' } as Credentials
  t.equal(sessionEndedMessage(base, now), 'Signed out after 5 minutes without activity: run insighta login')
  t.equal(sessionEndedMessage({ ...base, refresh_expires_in: 60 }, now), 'Signed out after 1 minute without activity: run insighta login')
  t.equal(sessionEndedMessage({ ...base, refresh_expires_at: '2026-01-01T00:15:00Z' }, now), 'Session expired: run insighta login', 'not lapsed: ended elsewhere')
  t.equal(sessionEndedMessage({} as Credentials, now), 'Session expired: run insighta login', 'an older file without the idle lifetime')
})

t.test('sessions: when each one ends, from the API when it says, else last use + idle lifetime', async (t) => {
  const session = { id: 'x', last_used_at: '2026-01-01T00:00:00Z', expires_at: '2026-01-08T00:00:00Z' }
  t.match(withEnds(session, 300), { idle_ends_at: '2026-01-01T00:05:00Z', ends_at: '2026-01-08T00:00:00Z' })
  t.match(withEnds({ ...session, expires_at: '2026-01-01T00:02:00Z' }, 300), { idle_ends_at: '2026-01-01T00:02:00Z' }, 'capped by the absolute end')
  t.match(withEnds({ ...session, idle_expires_at: '2026-01-01T00:04:00Z' }, 300), { idle_ends_at: '2026-01-01T00:04:00Z' }, "the API's own figure wins")
  t.match(withEnds(session, undefined), { idle_ends_at: null }, 'unknown without a lifetime (INSIGHTA_TOKEN)')
})

t.test('the package: version constant, bin, engines, and only its own few dependencies', async (t) => {
  const pkg = JSON.parse(await readFile(new URL('../../cli/package.json', import.meta.url), 'utf8')) as {
    name: string
    version: string
    bin: Record<string, string>
    engines: Record<string, string>
    dependencies: Record<string, string>
    files: string[]
  }
  t.equal(CLI_VERSION, pkg.version, 'cli/version.ts matches cli/package.json')
  t.same(pkg.bin, { insighta: 'dist/main.js' })
  t.equal(pkg.engines.node, '>=20')
  t.same(Object.keys(pkg.dependencies), ['commander'], 'Commander is the one runtime dependency')
  t.same(pkg.files, ['dist', '!dist/.sources-mtime'])
})

t.test('streamedWidths: sized by the first rows, fitted to the terminal, then room given to columns with a max', async (t) => {
  const columns = [{ header: 'ID', min: 8 }, { header: 'NAME', max: 20, min: 4 }, { header: 'AGE', align: 'right' as const }]
  t.same(streamedWidths(columns, [['0190a4b2', 'Ada', 36]], 80), [8, 20, 3], 'a wide terminal: NAME may grow to its max')
  t.same(streamedWidths(columns, [['0190a4b2', 'Ada', 36]], 24), [8, 9, 3], 'a narrow one: only what fits (8 + 2 + 9 + 2 + 3)')
  t.same(streamedWidths(columns, [['0190a4b2', 'x'.repeat(50), 36]], 30), [8, 15, 3], 'long first rows are cut to fit')
})

t.test('Output.tableWriter: one header, later rows in the same widths; a pipe gets TSV with the header once', async (t) => {
  const capture = (isTTY: boolean, columns?: number) => {
    const written: string[] = []
    const stream = Object.assign(new Writable({ write: (c: Buffer, _e, cb) => (written.push(c.toString()), cb()) }), { isTTY, columns })
    return { stream, text: () => written.join('') }
  }
  const columns = [{ header: 'ID', shortId: true, min: 8 }, { header: 'NAME', max: 6 }]
  const id = '0190a4b2-7c1e-7d3a-9f00-1234567890ab'
  const tty = capture(true, 40)
  const write = new Output(tty.stream, capture(true).stream, 'never').tableWriter(columns)
  write([[id, 'Ada']])
  write([])
  write([[id, 'Grace Hopper']])
  t.equal(tty.text(), 'ID        NAME\n--------  ------\n0190a4b2  Ada\n0190a4b2  Grace…\n')
  const pipe = capture(false)
  const writeTsv = new Output(pipe.stream, capture(false).stream).tableWriter(columns)
  writeTsv([[id, 'Ada']])
  writeTsv([[id, 'Grace Hopper']])
  t.equal(pipe.text(), `ID\tNAME\n${id}\tAda\n${id}\tGrace Hopper\n`)
})
