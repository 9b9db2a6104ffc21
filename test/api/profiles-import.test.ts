import { randomBytes } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import http from 'node:http'
import { Readable } from 'node:stream'
import { setTimeout as sleep } from 'node:timers/promises'
import { parse as parseCsv } from 'csv-parse/sync'
import t from 'tap'
import { BATCH_SIZE, CsvRecordReader, ProfileCsvImport, ROWS_PER_TURN } from '../../api/services/csv-import/import.ts'
import { rawText, type CsvRecord } from '../../api/services/csv-import/records.ts'
import { MAX_RAW_CHARS, type ImportReport, type ReasonKey } from '../../contract/import-report.ts'
import { buildTestApi } from '../helpers/api.ts'
import { filePart, multipart } from '../helpers/multipart.ts'

const api = await buildTestApi(t, { seed: true })
const admin = await api.headers('admin')
const analyst = await api.headers('analyst')

const SAMPLE = new URL('../fixtures/profiles-sample.csv', import.meta.url)
const HEADER = 'name,gender,age,country_id,gender_probability,country_probability'

async function upload(csv: string | Buffer, options: { headers?: Record<string, string>; app?: typeof api.app } = {}) {
  const { body, contentType } = multipart([filePart(csv)])
  return (options.app ?? api.app).inject({
    method: 'POST',
    url: '/api/profiles/import',
    headers: { ...(options.headers ?? admin), 'content-type': contentType },
    payload: body,
  })
}

function report(counts: Partial<Omit<ImportReport, 'reasons'>>, reasons: Partial<Record<ReasonKey, number>> = {}) {
  const total = counts.total_rows ?? 0
  const inserted = counts.inserted ?? 0
  return {
    status: 'success',
    total_rows: total,
    inserted,
    skipped: total - inserted,
    reasons: {
      duplicate_name: 0,
      invalid_age: 0,
      invalid_gender: 0,
      invalid_country: 0,
      invalid_probability: 0,
      missing_fields: 0,
      malformed_row: 0,
      ...reasons,
    },
  }
}

/** The report without its rejected rows and links (tested on their own below). */
function counts(body: Record<string, unknown>): Record<string, unknown> {
  const { rejected: _rejected, links: _links, ...rest } = body
  return rest
}

interface StoredRow {
  id: string
  name: string
  gender: string
  age: number
  age_group: string
  country_id: string
  country_name: string
  gender_probability: number
  country_probability: number
}

async function stored(names: string[]): Promise<StoredRow[]> {
  const { rows } = await api.db.pool.query<StoredRow>(
    `SELECT id, name, gender, age, age_group, country_id, country_name, gender_probability, country_probability
       FROM profiles WHERE lower(name) = ANY($1) ORDER BY name`,
    [names.map((n) => n.trim().toLowerCase())],
  )
  return rows
}

async function countLike(prefix: string): Promise<number> {
  const { rows } = await api.db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM profiles WHERE name LIKE $1`, [`${prefix}%`])
  return rows[0].n
}

async function listTotal(): Promise<number> {
  const res = await api.app.inject({ method: 'GET', url: '/api/profiles?limit=1', headers: analyst })
  return res.json().total as number
}

/** n valid rows named "<prefix> <i>" */
function rows(prefix: string, n: number, eol = '\n'): string {
  let out = ''
  for (let i = 0; i < n; i++) out += `${prefix} ${i},${i % 2 ? 'male' : 'female'},${i % 90},NG,0.9,0.5${eol}`
  return out
}

t.test('the sample file imports with one skipped row of each kind', async (t) => {
  const csv = await readFile(SAMPLE)
  const before = await listTotal()
  const res = await upload(csv)
  t.equal(res.statusCode, 200)
  t.same(
    counts(res.json()),
    report(
      { total_rows: 20, inserted: 13 },
      {
        duplicate_name: 1,
        invalid_age: 1,
        invalid_gender: 1,
        invalid_country: 1,
        invalid_probability: 1,
        missing_fields: 1,
        malformed_row: 1,
      },
    ),
  )
  t.equal(await listTotal(), before + 13, 'the cached list total moved (the cache was invalidated)')
  const byName = new Map(
    (await stored(['Okonkwo, Chidi', 'Mbuyi Kabongo', `Seán "Shay" O'Brien`, 'Wanjiru Kamau', 'Zoë Müller'])).map((r) => [r.name, r]),
  )
  const chidi = byName.get('Okonkwo, Chidi')
  const congo = byName.get('Mbuyi Kabongo')
  const seanRow = byName.get(`Seán "Shay" O'Brien`)
  const wanjiru = byName.get('Wanjiru Kamau')
  const zoe = byName.get('Zoë Müller')
  t.match(chidi, { gender: 'male', age: 35, age_group: 'adult', country_id: 'NG', country_name: 'Nigeria', gender_probability: 0.98 })
  t.match(chidi?.id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab]/, 'a v7 id')
  t.match(congo, { country_id: 'CD', country_name: 'DR Congo' }, "the seed's spelling, not the file's")
  t.ok(seanRow, 'doubled quotes inside a quoted field')
  t.match(wanjiru, { gender: 'female', age: 8, age_group: 'child' }, 'gender is case-insensitive and stored lower-case')
  t.ok(zoe, 'non-ASCII names')
  const amara = await stored(['Amara Okafor'])
  t.equal(amara.length, 1)
  t.equal(amara[0].name, 'Amara Okafor', 'the first spelling wins')

  const again = await upload(csv)
  t.equal(again.json().inserted, 0, 'importing twice adds nothing')
  t.equal(again.json().reasons.duplicate_name, 14)
})

t.test('an empty file is a 400; a header alone imports nothing', async (t) => {
  for (const empty of ['', '\n\n', '\ufeff']) {
    const res = await upload(empty)
    t.equal(res.statusCode, 400, JSON.stringify(empty))
    t.match(res.json(), { status: 'error', message: /Empty file/ })
  }
  const res = await upload(`${HEADER}\n`)
  t.equal(res.statusCode, 200)
  t.same(counts(res.json()), report({ total_rows: 0, inserted: 0 }), 'every reason key present')
})

t.test('missing columns are a 400 naming them, and nothing is written', async (t) => {
  const res = await upload('name,gender,age,country_id\nMissing Columns One,male,30,NG\n')
  t.equal(res.statusCode, 400)
  t.match(res.json(), { status: 'error', message: 'Missing required columns: gender_probability, country_probability' })
  t.same(await stored(['Missing Columns One']), [])
  const noHeader = await upload('No Header Person,male,30,NG,0.9,0.5\n')
  t.equal(noHeader.statusCode, 400, 'a file without a header row')
  t.match(noHeader.json().message, /Missing required columns: name, gender, age, country_id/)
})

t.test('columns in any order; extra columns and country_name are ignored', async (t) => {
  const csv =
    'Country_ID, notes ,age,name,country_probability,gender,gender_probability,country_name,extra\n' +
    'gh,likes tea,61,Extra Columns Ama,0.55,FEMALE,0.91,Atlantis,x\n'
  const res = await upload(csv)
  t.same(counts(res.json()), report({ total_rows: 1, inserted: 1 }))
  const [row] = await stored(['Extra Columns Ama'])
  t.match(row, { gender: 'female', age: 61, age_group: 'senior', country_id: 'GH', country_name: 'Ghana', country_probability: 0.55 })
})

t.test('a 10 MB single line', async (t) => {
  const line = 'x'.repeat(10 * 2 ** 20)
  const alone = await upload(line)
  t.equal(alone.statusCode, 400, 'as the whole file: no header')
  t.match(alone.json().message, /Not a CSV file/)

  const csv = `${HEADER}\n${rows('Long Line Before', 2)}${line},male,30,NG,0.9,0.5\n${rows('Long Line After', 2)}`
  const res = await upload(csv)
  t.equal(res.statusCode, 200, 'among rows: one malformed row, the others imported')
  t.same(counts(res.json()), report({ total_rows: 5, inserted: 4 }, { malformed_row: 1 }))
  t.equal(await countLike('Long Line After'), 2, 'parsing resumed on the next line')
})

t.test('an unclosed quote costs one row, not the rest of the file', async (t) => {
  const csv = `${HEADER}\n"Unclosed Quote,male,30,NG,0.9,0.5\n${rows('After Unclosed', 3)}`
  const res = await upload(csv)
  t.same(counts(res.json()), report({ total_rows: 4, inserted: 3 }, { malformed_row: 1 }))
})

t.test('binary garbage is not a CSV file', async (t) => {
  const garbage = randomBytes(256 * 1024)
  const before = await listTotal()
  const res = await upload(garbage)
  t.equal(res.statusCode, 400)
  t.equal(res.json().status, 'error')
  t.equal(await listTotal(), before, 'nothing written')
  const png = Buffer.concat([Buffer.from('\x89PNG\r\n\x1a\n', 'latin1'), randomBytes(1000)])
  t.equal((await upload(png)).statusCode, 400)
})

t.test('a file separated by semicolons is a 400 that says so', async (t) => {
  const res = await upload('name;gender;age;country_id;gender_probability;country_probability\nSemi Colon;male;30;NG;0.9;0.5\n')
  t.equal(res.statusCode, 400)
  t.match(res.json().message, /Missing required columns: name, gender.*separated by ";": use commas/)
  t.same(await stored(['Semi Colon']), [])
})

t.test('rows with too few or too many fields are malformed; a line of commas is blank', async (t) => {
  const csv = `${HEADER}\nToo Few,male,30,NG,0.9\nToo Many,male,30,NG,0.9,0.5,extra\nJust Right Fields,male,30,NG,0.9,0.5\n,,,,,\n`
  const res = await upload(csv)
  t.same(counts(res.json()), report({ total_rows: 3, inserted: 1 }, { malformed_row: 2 }))
})

t.test('names that differ only in case or surrounding spaces are duplicates, in the file and against the table', async (t) => {
  // One batch, so this is also one INSERT statement holding two rows with the same lower(name).
  const csv = `${HEADER}\nAda Lovelace,female,36,GB,0.99,0.8\n  ada LOVELACE  ,female,36,GB,0.99,0.8\nAWINO HASSAN,female,68,TZ,0.66,0.6\nTab\tName,male,30,NG,0.9,0.5\n`
  const res = await upload(csv)
  t.same(counts(res.json()), report({ total_rows: 4, inserted: 1 }, { duplicate_name: 2, malformed_row: 1 }))
  const rowsStored = await stored(['Ada Lovelace'])
  t.equal(rowsStored.length, 1)
  t.equal(rowsStored[0].name, 'Ada Lovelace')
  const trimmed = await upload(`${HEADER}\n   Trimmed Name   ,male,30,NG,0.9,0.5\n`)
  t.equal(trimmed.json().inserted, 1)
  t.equal((await stored(['Trimmed Name']))[0].name, 'Trimmed Name', 'stored trimmed')
})

t.test('ages must be integers from 0 to 150', async (t) => {
  const ages = ['-1', '200', '12.5', 'abc', '1e2', '151']
  const bad = ages.map((a, i) => `Bad Age ${i},male,${a},NG,0.9,0.5\n`).join('')
  const res = await upload(`${HEADER}\n${bad}Age Zero,male,0,NG,0.9,0.5\nAge Max,male,150,NG,0.9,0.5\nAge Spaced,male, 42 ,NG,0.9,0.5\n`)
  t.same(counts(res.json()), report({ total_rows: 9, inserted: 3 }, { invalid_age: 6 }))
  t.same((await stored(['Age Zero', 'Age Max'])).map((r) => [r.age, r.age_group]), [[150, 'senior'], [0, 'child']])
})

t.test('probabilities must be numbers from 0 to 1', async (t) => {
  const csv =
    `${HEADER}\nProb High,male,30,NG,1.2,0.5\nProb Negative,male,30,NG,0.5,-0.1\nProb Word,male,30,NG,high,0.5\n` +
    `Prob Edges,male,30,NG,0,1\nProb Short,male,30,NG,.5,1.0\n`
  const res = await upload(csv)
  t.same(counts(res.json()), report({ total_rows: 5, inserted: 2 }, { invalid_probability: 3 }))
})

t.test('countries must be known ISO codes; genders male or female; required fields present', async (t) => {
  const csv =
    `${HEADER}\nCountry XX,male,30,XX,0.9,0.5\nCountry Long,male,30,NGA,0.9,0.5\nCountry Lower,male,30,ke,0.9,0.5\n` +
    `Gender M,M,30,NG,0.9,0.5\nGender Blank,,30,NG,0.9,0.5\n   ,male,30,NG,0.9,0.5\n`
  const res = await upload(csv)
  t.same(counts(res.json()), report({ total_rows: 6, inserted: 1 }, { invalid_country: 2, invalid_gender: 1, missing_fields: 2 }))
  t.match((await stored(['Country Lower']))[0], { country_id: 'KE', country_name: 'Kenya' })
})

t.test('names over 200 characters or holding control characters are malformed', async (t) => {
  const long = 'N'.repeat(201)
  const emoji = '😀'.repeat(200) // 200 characters, 400 UTF-16 units: allowed
  const csv = `${HEADER}\n${long},male,30,NG,0.9,0.5\n"Line\nBreak",male,30,NG,0.9,0.5\n${emoji},male,30,NG,0.9,0.5\n`
  const res = await upload(csv)
  t.same(counts(res.json()), report({ total_rows: 3, inserted: 1 }, { malformed_row: 2 }))
  t.equal((await stored([emoji])).length, 1)
})

t.test('Windows line endings and a BOM', async (t) => {
  const csv = `\ufeff${HEADER}\r\n"Crlf, Quoted",female,30,NG,0.9,0.5\r\n${rows('Crlf Row', 3, '\r\n')}`
  const res = await upload(csv)
  t.same(counts(res.json()), report({ total_rows: 4, inserted: 4 }))
  const [row] = await stored(['Crlf, Quoted'])
  t.match(row, { name: 'Crlf, Quoted', country_probability: 0.5 }, 'no stray carriage return')
  const bomOnly = await upload(`\ufeff${HEADER}\nBom Person,male,30,NG,0.9,0.5\n`)
  t.same(counts(bomOnly.json()), report({ total_rows: 1, inserted: 1 }))
  const latin1 = await upload(Buffer.concat([Buffer.from(`${HEADER}\n`), Buffer.from('Zo\xeb Latin,female,30,DE,0.9,0.5\n', 'latin1')]))
  t.same(counts(latin1.json()), report({ total_rows: 1, inserted: 0 }, { malformed_row: 1 }), 'not UTF-8: refused, not stored garbled')
})

t.test('only admins import; the upload must be multipart with a "file" field', async (t) => {
  const csv = `${HEADER}\nAnalyst Upload,male,30,NG,0.9,0.5\n`
  const forbidden = await upload(csv, { headers: analyst })
  t.equal(forbidden.statusCode, 403, 'analyst')
  const anonymous = await upload(csv, { headers: { 'x-api-version': '1' } })
  t.equal(anonymous.statusCode, 401, 'no token')
  t.same(await stored(['Analyst Upload']), [])

  const onlyField = multipart([{ name: 'note', content: 'hello' }])
  const noFile = await api.app.inject({
    method: 'POST',
    url: '/api/profiles/import',
    headers: { ...admin, 'content-type': onlyField.contentType },
    payload: onlyField.body,
  })
  t.equal(noFile.statusCode, 400, 'no file field')
  t.match(noFile.json().message, /Missing file/)

  const wrongName = multipart([{ ...filePart(csv), name: 'upload' }])
  const wrong = await api.app.inject({
    method: 'POST',
    url: '/api/profiles/import',
    headers: { ...admin, 'content-type': wrongName.contentType },
    payload: wrongName.body,
  })
  t.equal(wrong.statusCode, 400, 'a file under another field name')

  const raw = await api.app.inject({
    method: 'POST',
    url: '/api/profiles/import',
    headers: { ...admin, 'content-type': 'text/csv' },
    payload: csv,
  })
  t.equal(raw.statusCode, 400, 'a bare CSV body, not multipart')
  const json = await api.app.inject({ method: 'POST', url: '/api/profiles/import', headers: admin, payload: { file: csv } })
  t.equal(json.statusCode, 400, 'JSON')
  const broken = await api.app.inject({
    method: 'POST',
    url: '/api/profiles/import',
    headers: { ...admin, 'content-type': 'multipart/form-data' },
    payload: 'no boundary',
  })
  t.equal(broken.statusCode, 400, 'multipart without a boundary')
  t.same(await stored(['Analyst Upload']), [])

  const fields = multipart([{ name: 'note', content: 'first' }, filePart(`${HEADER}\nAfter A Field,male,30,NG,0.9,0.5\n`)])
  const withField = await api.app.inject({
    method: 'POST',
    url: '/api/profiles/import',
    headers: { ...admin, 'content-type': fields.contentType },
    payload: fields.body,
  })
  t.same(counts(withField.json()), report({ total_rows: 1, inserted: 1 }), 'other form fields before the file are fine')
  const del = await api.app.inject({ method: 'DELETE', url: '/api/profiles/import', headers: admin })
  t.equal(del.statusCode, 405, 'not a profile id')
})

t.test('limits: over the size limit is a 413 with nothing written; over the row limit stops at it', async (t) => {
  const limited = await buildTestApi(t, { db: api.db, env: { IMPORT_MAX_BYTES: '4096' } })
  const headers = await limited.headers('admin')
  const fewRows = await buildTestApi(t, { db: api.db, env: { IMPORT_MAX_ROWS: '3' } })
  const fewRowsAdmin = await fewRows.headers('admin')
  const big = `${HEADER}\n${rows('Too Big', 200)}`
  t.ok(big.length > 4096)
  const res = await upload(big, { app: limited.app, headers })
  t.equal(res.statusCode, 413)
  t.match(res.json(), { status: 'error', message: /File too large: uploads are limited to 4096 bytes/ })
  t.equal(await countLike('Too Big'), 0, 'nothing written')

  // Without Content-Length the size is only known while reading: stops at the limit.
  const { body, contentType } = multipart([filePart(big)])
  const chunked = await limited.app.inject({
    method: 'POST',
    url: '/api/profiles/import',
    headers: { ...headers, 'content-type': contentType },
    payload: Readable.from([body.subarray(0, 1000), body.subarray(1000)]),
  })
  t.equal(chunked.statusCode, 413, 'chunked upload over the limit')
  t.match(chunked.json().message, /File too large/)
  t.equal(await countLike('Too Big'), 0, 'rows before the limit that had not filled a batch are not written')

  const five = await upload(`${HEADER}\n${rows('Row Limit', 5)}`, { app: fewRows.app, headers: fewRowsAdmin })
  t.equal(five.statusCode, 413)
  t.match(five.json(), { status: 'error', message: /Too many rows: at most 3 data rows/ })
  const { status: _status, ...firstThree } = report({ total_rows: 3, inserted: 3 })
  t.same(counts(five.json().report), firstThree, 'with the report of what was imported')
  t.equal(await countLike('Row Limit'), 3, 'the first 3 rows are written')
  const three = await upload(`${HEADER}\n${rows('Row Exact', 3)}`, { app: fewRows.app, headers: fewRowsAdmin })
  t.equal(three.statusCode, 200, 'exactly at the limit is fine')
})

t.test('records are the same however the bytes are chunked, and as csv-parse reads them', async (t) => {
  const text =
    `\ufeff${HEADER}\r\n"Quoted, Comma",male,1,NG,0.1,0.2\r\n"multi\r\nline ""q""",female,2,GH,0.3,0.4\n` +
    `stray"quote,male,3,KE,0.5,0.6\n"closed"after,male,4,KE,0.5,0.6\r\n\r\nZoë Ünal,female,5,DE,0.7,0.8\n` +
    `"a","b",,"",c\nlast,row,no,newline,0,1`
  const expected = parseCsv(text.slice(1), {
    relax_column_count: true,
    relax_quotes: true,
    skip_empty_lines: true,
    record_delimiter: ['\r\n', '\n'],
  }) as string[][]
  t.same(expected[2], ['multi\r\nline "q"', 'female', '2', 'GH', '0.3', '0.4'])
  const bytes = Buffer.from(text)
  for (const size of [1, 2, 3, 5, 8, 13, 64, bytes.length]) {
    const reader = new CsvRecordReader(1024)
    const records: CsvRecord[] = []
    for (let i = 0; i < bytes.length; i += size) records.push(...reader.feed(bytes.subarray(i, i + size)))
    records.push(...reader.end())
    t.same(records.map((r) => r.fields), expected, `pieces of ${size} bytes`)
    t.same(records.map((r) => r.line), [1, 2, 3, 5, 6, 8, 9, 10], `the line each record starts on, pieces of ${size} bytes`)
    t.same(records.map(rawText).slice(2, 4), ['"multi\r\nline ""q""",female,2,GH,0.3,0.4', 'stray"quote,male,3,KE,0.5,0.6'], 'raw text as the file has it')
  }
})

t.test('a record too long or a quote never closed costs one line, whatever the chunking', async (t) => {
  const text = Buffer.from(`a,b\n1,2\n${'x'.repeat(3000)},3\n4,5\n"${'y'.repeat(2000)}\n6,7\n"never closed,8\n9,10\n`)
  for (const size of [7, 100, 1000, text.length]) {
    const reader = new CsvRecordReader(1000)
    const records: CsvRecord[] = []
    for (let i = 0; i < text.length; i += size) records.push(...reader.feed(text.subarray(i, i + size)))
    records.push(...reader.end())
    t.same(records.map((r) => r.fields), [['a', 'b'], ['1', '2'], ['\u0000'], ['4', '5'], ['\u0000'], ['6', '7'], ['\u0000'], ['9', '10']], `pieces of ${size}`)
    t.same(records.map((r) => r.line), [1, 2, 3, 4, 5, 6, 7, 8], `one line each, pieces of ${size}`)
    const raws = records.map(rawText)
    // what was in hand when it was found too long: at least its first maxRecordBytes, cut at MAX_RAW_CHARS
    t.ok(raws[2].startsWith('x'.repeat(1000)) && raws[2].length <= MAX_RAW_CHARS, 'a too-long record keeps its first characters')
    if (size === text.length) t.equal(raws[2], `${'x'.repeat(MAX_RAW_CHARS - 1)}…`, 'cut with an ellipsis')
    t.equal(raws[6], '"never closed,8', 'an unclosed quote keeps its line')
    t.equal(reader.dropped, 3)
  }
})

t.test('two concurrent imports of different files both complete with correct counts', async (t) => {
  const before = await listTotal()
  const started = performance.now()
  const list = (async () => {
    await sleep(50)
    const s = performance.now()
    const res = await api.app.inject({ method: 'GET', url: '/api/profiles?country_id=NG&sort_by=age', headers: analyst })
    return { status: res.statusCode, ms: performance.now() - s }
  })()
  const [a, b, during] = await Promise.all([
    upload(`${HEADER}\n${rows('Concurrent A', 12_000)}`),
    upload(`${HEADER}\n${rows('Concurrent B', 12_000, '\r\n')}${rows('Concurrent A', 10)}`),
    list,
  ])
  t.equal(a.statusCode, 200)
  t.equal(b.statusCode, 200)
  const ra = a.json()
  const rb = b.json()
  t.equal(ra.total_rows, 12_000)
  t.equal(rb.total_rows, 12_010)
  t.equal(ra.inserted + rb.inserted, 24_000, 'the 10 shared names are inserted once')
  t.equal(ra.reasons.duplicate_name + rb.reasons.duplicate_name, 10)
  t.equal(await countLike('Concurrent A'), 12_000)
  t.equal(await countLike('Concurrent B'), 12_000)
  t.equal(await listTotal(), before + 24_000)
  const listed = `a list request during the imports answered ${during.status} in ${Math.round(during.ms)} ms`
  // The embedded database runs one statement at a time: there a list waits behind whole batches.
  if (api.db.kind === 'server') t.equal(during.status, 200, listed)
  else t.comment(listed)
  t.comment(`two 12k-row imports in ${Math.round(performance.now() - started)} ms (${api.db.kind} database)`)
})

t.test('a connection cut halfway keeps the committed batches and the server stays healthy', async (t) => {
  await api.app.listen({ port: 0, host: '127.0.0.1' })
  const address = api.app.server.address()
  if (address === null || typeof address === 'string') throw new Error('not listening on TCP')
  const before = await listTotal() // primes the list cache

  const csv = Buffer.from(`${HEADER}\n${rows('Cut Upload', 12_000)}`)
  const { body, contentType } = multipart([filePart(csv)])
  const cutAt = body.indexOf('Cut Upload 11000,')
  const req = http.request({
    host: '127.0.0.1',
    port: address.port,
    method: 'POST',
    path: '/api/profiles/import',
    headers: { ...admin, 'content-type': contentType, 'content-length': String(body.length) },
  })
  const outcome = new Promise<string>((resolve) => {
    req.on('error', (error) => resolve(`error ${error.message}`))
    req.on('response', (res) => resolve(`response ${res.statusCode}`))
  })
  for (let i = 0; i < cutAt; i += 16 * 1024) {
    if (!req.write(body.subarray(i, Math.min(i + 16 * 1024, cutAt)))) await new Promise((r) => req.once('drain', r))
  }
  // Wait until the server has committed at least one batch, then pull the plug mid-file.
  const deadline = Date.now() + 60_000
  while ((await countLike('Cut Upload')) < BATCH_SIZE && Date.now() < deadline) await sleep(50)
  req.destroy()
  t.match(await outcome, /^error/, 'the client saw its own connection go')

  let committed = -1
  for (let stable = 0; stable < 5 && Date.now() < deadline; ) {
    const n = await countLike('Cut Upload')
    stable = n === committed ? stable + 1 : 0
    committed = n
    await sleep(100)
  }
  t.ok(committed >= BATCH_SIZE, `${committed} rows committed`)
  t.equal(committed % BATCH_SIZE, 0, 'whole batches only: no half-written batch')
  t.ok(committed <= Math.floor(11_000 / BATCH_SIZE) * BATCH_SIZE, 'the rows after the last full batch were not written')

  let total = 0
  for (let i = 0; i < 50 && total !== before + committed; i++) {
    const res = await fetch(`http://127.0.0.1:${address.port}/api/profiles?limit=1`, { headers: analyst })
    t.equal(res.status, 200)
    total = ((await res.json()) as { total: number }).total
    if (total !== before + committed) await sleep(100)
  }
  t.equal(total, before + committed, 'the server answers, and the cache was invalidated for the committed rows')

  const next = await upload(`${HEADER}\n${rows('After Cut', 2)}`)
  t.equal(next.json().inserted, 2, 'and imports again')
})

t.test('an upload that is all there at once still leaves the event loop a turn every ROWS_PER_TURN rows', async (t) => {
  // One chunk, ready at once: only the import's own turns let anything else run between its rows
  // (each batch's INSERT is a wait too, but one every BATCH_SIZE rows).
  const n = 3 * BATCH_SIZE + 17
  const source = Readable.from([Buffer.from(`${HEADER}\n${rows('Turn Taking', n)}`)])
  const { rows: users } = await api.db.pool.query<{ id: string }>('SELECT id FROM users LIMIT 1')
  const job = new ProfileCsvImport(api.db.db, { userId: users[0].id, maxRows: n, concurrency: 2 })
  const seen: number[] = []
  let running = true
  const turn = () => {
    seen.push(job.report.total_rows)
    if (running) setImmediate(turn)
  }
  setImmediate(turn)
  const report = await job.run(source).finally(() => {
    running = false
  })
  t.equal(report.inserted, n)
  t.equal(await countLike('Turn Taking'), n)
  let widest = 0
  for (let i = 1; i < seen.length; i++) widest = Math.max(widest, seen[i] - seen[i - 1])
  t.ok(widest > 0 && widest <= ROWS_PER_TURN, `at most ${ROWS_PER_TURN} rows read between two turns of the event loop (widest: ${widest})`)
})
