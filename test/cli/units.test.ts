/**
 * The pure parts: table layout, the page footer, byte sizes, the CSV row counter, terminal-only
 * animations, option parsers, the refresh margin and the export file name.
 */
import { Readable, Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { InvalidArgumentError } from 'commander'
import t from 'tap'
import { CsvCounter, defaultExportName } from '../../cli/commands/profile-export.ts'
import type { Credentials } from '../../cli/credentials.ts'
import { formatBytes, formatTable, Output, pageFooter } from '../../cli/output.ts'
import { needsRefresh } from '../../cli/session.ts'
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
  t.match(table, /Ada\s+female\s+0\.99\s+36\s+adult\s+United Kingdom \(GB\)\s+0\.50/)
  t.match(table, /\n\npage 1 of 1, total 1$/)
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
  t.match(records, /^CURRENT\s+ID\s+EXTRA\n/)
  t.notMatch(records, /NESTED/)
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
