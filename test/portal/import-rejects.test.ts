/**
 * The import report's skipped rows in the portal, against the real API: listed by line after the
 * redirect, downloadable as CSV (formula cells neutralised), and the template CSV.
 */
import { parse as parseCsv } from 'csv-parse/sync'
import { sql } from 'kysely'
import t from 'tap'
import { TEMPLATE_CSV } from '../../portal/routes/import.ts'
import { buildTestPortal, cookieHeaderFrom, PORTAL_ORIGIN } from './helpers.ts'
import { multipart as multipartBody, filePart } from '../helpers/multipart.ts'

t.setTimeout(300_000)

const portal = await buildTestPortal(t)
const admin = await portal.signIn('admin')
const analyst = await portal.signIn('analyst')
const HEADER = 'name,gender,age,country_id,gender_probability,country_probability'

async function importCsv(csv: string) {
  const { body, contentType } = multipartBody([{ name: '_csrf', content: admin.csrf }, filePart(csv)])
  const res = await portal.app.inject({
    method: 'POST',
    url: '/import',
    headers: { cookie: admin.cookie, origin: PORTAL_ORIGIN, 'content-type': contentType },
    payload: body,
  })
  t.equal(res.statusCode, 303)
  return portal.get('/import', undefined, { cookie: cookieHeaderFrom(res, admin) })
}

t.test('skipped rows are listed by line, with the raw row escaped, and download as CSV', async (t) => {
  const page = await importCsv(
    `${HEADER}\nPortal Reject Ok,female,30,NG,0.9,0.8\n<script>alert(1)</script>,female,old,NG,0.9,0.8\n=SUM(A1),male,30,NG,0.9,7\n`,
  )
  t.equal(page.statusCode, 200)
  t.match(page.body, /Imported 1 of 3 rows; 2 skipped/)
  t.match(page.body, /All 2 skipped rows, by line/)
  t.match(page.body, /<td class="num">3<\/td><td>Invalid age<\/td><td><code class="raw-row">&lt;script&gt;alert\(1\)&lt;\/script&gt;,female,old,NG,0.9,0.8<\/code><\/td>/)
  t.notMatch(page.body, /<script>alert/, 'raw text is escaped')
  t.match(page.body, /<td class="num">4<\/td><td>Invalid probability<\/td>/)
  const href = /href="(\/import\/[0-9a-f-]{36}\/rejects\.csv)"/.exec(page.body)?.[1]
  t.ok(href, 'a download link')

  const csv = await portal.get(href!, admin)
  t.equal(csv.statusCode, 200)
  t.match(csv.headers['content-type'], /^text\/csv/)
  t.match(csv.headers['content-disposition'], /^attachment; filename="import_[0-9a-f-]{36}_rejects\.csv"/)
  const rows = parseCsv(csv.body) as string[][]
  t.same(rows, [
    ['line', 'reason', 'raw'],
    ['3', 'invalid_age', '<script>alert(1)</script>,female,old,NG,0.9,0.8'],
    ['4', 'invalid_probability', "'=SUM(A1),male,30,NG,0.9,7"],
  ], 'formula cells neutralised, as the portal export does')

  t.equal((await portal.get(href!, analyst)).statusCode, 403, 'admins only')
  const other = await portal.get('/import/019ad000-0000-7000-8000-000000000000/rejects.csv', admin)
  t.equal(other.statusCode, 404)
  t.match(other.body, /no longer available/)
  t.equal((await portal.get('/import/..%2F..%2Fapi/rejects.csv', admin)).statusCode, 404, 'only a UUID reaches the API')

  await sql`UPDATE imports SET expires_at = now() - interval '1 second'`.execute(portal.api.db.db)
  t.equal((await portal.get(href!, admin)).statusCode, 404, 'expired')
})

t.test('over 1,000 skipped rows: the page lists the first 1,000 and offers all', async (t) => {
  const lines = [HEADER]
  for (let i = 0; i < 1200; i++) lines.push(`Portal Many ${i},female,old,NG,0.9,0.8`)
  const page = await importCsv(lines.join('\n'))
  t.match(page.body, /The first 1,000 of 1,200 skipped rows, by line/)
  t.equal(page.body.match(/<code class="raw-row">/g)?.length, 1000)
  t.match(page.body, /Download all 1,200 as CSV/)
})

t.test('an import with nothing skipped has no list; the template downloads', async (t) => {
  const page = await importCsv(`${HEADER}\nPortal Clean,female,30,NG,0.9,0.8\n`)
  t.notMatch(page.body, /Skipped rows/)
  const form = await portal.get('/import', admin)
  t.match(form.body, /<a href="\/import\/template.csv" download>Download a template CSV<\/a>/)
  const template = await portal.get('/import/template.csv', admin)
  t.equal(template.statusCode, 200)
  t.equal(template.body, TEMPLATE_CSV)
  t.equal((await portal.get('/import/template.csv', analyst)).statusCode, 403)
})

t.test('the template imports cleanly through the real API', async (t) => {
  await sql`DELETE FROM profiles WHERE lower(name) IN ('amara okafor', 'okonkwo, chidi', 'wanjiru kamau')`.execute(portal.api.db.db)
  const page = await importCsv(TEMPLATE_CSV)
  t.match(page.body, /Imported 3 of 3 rows; 0 skipped/)
})
