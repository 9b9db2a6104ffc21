import { readFile } from 'node:fs/promises'
import { parse as parseCsv } from 'csv-parse/sync'
import { sql } from 'kysely'
import t from 'tap'
import { MAX_RAW_CHARS, MAX_REJECTS_LISTED, type ImportReport } from '../../contract/import-report.ts'
import { authHeaders, buildTestApi } from '../helpers/api.ts'
import { filePart, multipart } from '../helpers/multipart.ts'

const api = await buildTestApi(t, { seed: true })
const admin = await api.headers('admin')
const analyst = await api.headers('analyst')
const otherAdmin = await authHeaders(api.app, 'admin')

const SAMPLE = new URL('../fixtures/profiles-sample.csv', import.meta.url)
const HEADER = 'name,gender,age,country_id,gender_probability,country_probability'

async function upload(csv: string | Buffer) {
  const { body, contentType } = multipart([filePart(csv)])
  const res = await api.app.inject({
    method: 'POST',
    url: '/api/profiles/import',
    headers: { ...admin, 'content-type': contentType },
    payload: body,
  })
  return { status: res.statusCode, body: res.json() as ImportReport & { status: string; report?: ImportReport } }
}

async function download(path: string, headers: Record<string, string> = admin) {
  const res = await api.app.inject({ method: 'GET', url: path, headers })
  return { status: res.statusCode, type: res.headers['content-type'], text: res.body, rows: res.statusCode === 200 ? (parseCsv(res.body) as string[][]) : [] }
}

t.test('the sample file lists each skipped row with its line, reason and raw text', async (t) => {
  const { status, body } = await upload(await readFile(SAMPLE))
  t.equal(status, 200)
  t.same(body.rejected, [
    { line: 15, reason: 'duplicate_name', raw: 'amara OKAFOR,female,29,NG,Nigeria,0.97,0.81' },
    { line: 16, reason: 'invalid_age', raw: 'Tomás Novák,male,200,CZ,Czechia,0.99,0.69' },
    { line: 17, reason: 'invalid_gender', raw: 'Kim Min-jun,unknown,30,KR,South Korea,0.5,0.6' },
    { line: 18, reason: 'invalid_country', raw: 'Ana Petrova,female,30,XX,Nowhere,0.9,0.6' },
    { line: 19, reason: 'invalid_probability', raw: 'Omar Haddad,male,30,JO,Jordan,1.2,0.6' },
    { line: 20, reason: 'missing_fields', raw: ',female,30,GH,Ghana,0.9,0.6' },
    { line: 21, reason: 'malformed_row', raw: 'Broken Row,male,30,GH' },
  ])
  t.equal(body.rejected.length, body.skipped, 'every skipped row is listed')
  t.match(body.links.rejects, /^\/api\/profiles\/imports\/[0-9a-f-]{36}\/rejects$/)

  const csv = await download(body.links.rejects!)
  t.equal(csv.status, 200)
  t.match(csv.type, /^text\/csv/)
  t.ok(csv.text.endsWith('\r\n') && csv.text.split('\r\n').length === 9, 'RFC 4180: CRLF rows, header first')
  t.same(csv.rows[0], ['line', 'reason', 'raw'])
  t.same(
    csv.rows.slice(1),
    body.rejected.map((r) => [String(r.line), r.reason, r.raw]),
    'the download holds the same rows',
  )

  const again = await upload(await readFile(SAMPLE))
  t.equal(again.body.rejected.length, 20, 'a second import of the same file: every row is a duplicate or invalid')
  t.same(
    again.body.rejected.map((r) => r.line),
    Array.from({ length: 20 }, (_, i) => i + 2),
    'listed in file order, duplicates (known only when their batch commits) among the others',
  )
  t.same(again.body.rejected[2], { line: 4, reason: 'duplicate_name', raw: '"Okonkwo, Chidi",male,35,NG,Nigeria,0.98,0.66' }, 'quoted records keep their quotes')
  t.not(again.body.links.rejects, body.links.rejects, 'each import has its own rejects')
})

t.test('an import with nothing skipped has an empty list and no link', async (t) => {
  const { status, body } = await upload(`${HEADER}\nNo Reject One,female,30,NG,0.9,0.8\n`)
  t.equal(status, 200)
  t.same(body.rejected, [])
  t.equal(body.links.rejects, null)
})

t.test('lines count every line feed: blank lines, CRLF and line breaks inside quotes', async (t) => {
  const csv =
    `${HEADER}\r\n\r\nLine Three,female,30,NG,0.9,0.8\r\n"Multi\nLine",male,30,NG,0.9,0.8\r\nLine Six,male,x,NG,0.9,0.8\r\n` +
    `Nul\u0000Name,male,30,NG,0.9,0.8\r\n${'y'.repeat(70_000)}\r\nLine Nine,male,30,ZZ,0.9,0.8`
  const { body } = await upload(csv)
  t.same(
    body.rejected.map((r) => [r.line, r.reason]),
    [
      [4, 'malformed_row'],
      [6, 'invalid_age'],
      [7, 'malformed_row'],
      [8, 'malformed_row'],
      [9, 'invalid_country'],
    ],
  )
  t.equal(body.rejected[0].raw, '"Multi\nLine",male,30,NG,0.9,0.8', 'a line break inside quotes is kept')
  t.equal(body.rejected[2].raw, 'Nul\ufffdName,male,30,NG,0.9,0.8', 'NUL is shown as U+FFFD')
  t.equal(body.rejected[3].raw.length, MAX_RAW_CHARS, 'a 70,000-character line is cut')
  t.ok(body.rejected[3].raw.endsWith('…'))
  const csvRows = (await download(body.links.rejects!)).rows
  t.equal(csvRows[2][2], body.rejected[1].raw)
  t.equal(csvRows[4][2].length, MAX_RAW_CHARS)
})

t.test(`over ${MAX_REJECTS_LISTED} rejects: the first ${MAX_REJECTS_LISTED} in the report, all in the download`, async (t) => {
  const lines = [HEADER]
  for (let i = 0; i < 2500; i++) lines.push(i % 5 === 0 ? `Many Rejects ${i},female,30,NG,0.9,0.8` : `Many Rejects ${i},female,old,NG,0.9,0.8`)
  // duplicates of rows earlier in the file come back from the batch writer, after later lines were read
  for (let i = 0; i < 2500; i += 5) lines.push(`many rejects ${i},female,30,NG,0.9,0.8`)
  const { body } = await upload(lines.join('\n'))
  t.equal(body.skipped, 2000 + 500)
  t.equal(body.rejected.length, MAX_REJECTS_LISTED)
  t.same(
    body.rejected.map((r) => r.line),
    Array.from({ length: 2500 }, (_, i) => i + 2).filter((line) => (line - 2) % 5 !== 0).slice(0, MAX_REJECTS_LISTED),
    'the first by line',
  )
  const json = await api.app.inject({ method: 'GET', url: `${body.links.rejects}?format=json`, headers: admin })
  t.equal(json.statusCode, 200)
  t.same(json.json(), { status: 'success', data: body.rejected, total: 2500 }, 'format=json: the first ones and the total')
  const all = await download(body.links.rejects!)
  t.equal(all.rows.length, 1 + 2500, 'every reject in the download, in line order')
  t.same(all.rows.slice(1).map((r) => Number(r[0])), [...all.rows.slice(1).map((r) => Number(r[0]))].sort((a, b) => a - b))
  t.equal(all.rows.filter((r) => r[1] === 'duplicate_name').length, 500)
})

t.test('the rejects of a stopped import come with its error report', async (t) => {
  const many = await buildTestApi(t, { env: { IMPORT_MAX_ROWS: '3' } })
  const headers = await many.headers('admin')
  const { body, contentType } = multipart([filePart(`${HEADER}\nStopped A,female,30,NG,0.9,0.8\nStopped B,female,x,NG,0.9,0.8\nStopped C,female,30,NG,0.9,0.8\nStopped D,female,30,NG,0.9,0.8\n`)])
  const res = await many.app.inject({ method: 'POST', url: '/api/profiles/import', headers: { ...headers, 'content-type': contentType }, payload: body })
  t.equal(res.statusCode, 413)
  const report = (res.json() as { report: ImportReport }).report
  t.same(report.rejected, [{ line: 3, reason: 'invalid_age', raw: 'Stopped B,female,x,NG,0.9,0.8' }])
  const csv = await many.app.inject({ method: 'GET', url: report.links.rejects!, headers })
  t.equal(csv.statusCode, 200)
  t.match(csv.body, /Stopped B/)
})

t.test('the download: safe=true, who may read it, and bad ids', async (t) => {
  const { body } = await upload(`${HEADER}\n=HYPERLINK("http://x"),female,old,NG,0.9,0.8\n+Plus,male,30,NG,2,0.8\n`)
  const path = body.links.rejects!
  const plain = await download(path)
  t.equal(plain.rows[1][2], '=HYPERLINK("http://x"),female,old,NG,0.9,0.8', 'raw by default, as export')
  const safe = await download(`${path}?safe=true`)
  t.same(safe.rows.slice(1).map((r) => r[2][0]), ["'", "'"], 'safe=true neutralises formula cells')

  t.equal((await download(path, analyst)).status, 403, 'analysts cannot')
  const other = await download(path, otherAdmin)
  t.equal(other.status, 404, "another admin does not see someone else's rejects")
  t.match(JSON.parse(other.text), { status: 'error', message: /Import not found/ })
  t.equal((await download('/api/profiles/imports/not-a-uuid/rejects')).status, 404)
  t.equal((await download(`${path}?format=json`, otherAdmin)).status, 404, 'nor as JSON')
  t.equal((await download(`${path}?format=xml`)).status, 422, 'an unknown format is refused, as any invalid query parameter')
  t.equal((await download('/api/profiles/imports/019ad000-0000-7000-8000-000000000000/rejects')).status, 404)
  t.equal((await download(path, { authorization: admin.authorization })).status, 400, 'X-API-Version is required as on every profiles route')
  const noAuth = await api.app.inject({ method: 'GET', url: path, headers: { 'x-api-version': '1' } })
  t.equal(noAuth.statusCode, 401)

  const id = path.split('/')[4]
  await sql`UPDATE imports SET expires_at = now() - interval '1 second' WHERE id = ${id}`.execute(api.db.db)
  t.equal((await download(path)).status, 404, 'expired rejects are gone')
  await upload(`${HEADER}\nSweeper,female,old,NG,0.9,0.8\n`)
  const left = await sql<{ n: number }>`SELECT count(*)::int AS n FROM import_rejects WHERE import_id = ${id}`.execute(api.db.db)
  t.equal(left.rows[0].n, 0, 'and deleted by the next import with rejects')
})
