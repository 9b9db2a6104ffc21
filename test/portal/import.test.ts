/**
 * The admin CSV import: a plain multipart form post (no JavaScript) or the script's XHR, streamed
 * through to the API's POST /api/profiles/import, with the report shown after the redirect.
 */
import t from 'tap'
import { buildFakePortal, cookieHeaderFrom, PORTAL_ORIGIN, type FakePortal } from './helpers.ts'

// Real HTTP and a real database on a shared CI machine: allow more than the default 120 s.
t.setTimeout(300_000)

type Part = { name: string; value: string } | { name: string; filename: string; content: string | Buffer; type?: string }

function multipart(parts: Part[]): { payload: Buffer; contentType: string } {
  const boundary = '----tapBoundary7MA4YWxkTrZu0gW'
  const chunks: Buffer[] = []
  for (const part of parts) {
    if ('value' in part) {
      chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${part.name}"\r\n\r\n${part.value}\r\n`))
    } else {
      chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${part.name}"; filename="${part.filename}"\r\nContent-Type: ${part.type ?? 'text/csv'}\r\n\r\n`))
      chunks.push(Buffer.isBuffer(part.content) ? part.content : Buffer.from(part.content))
      chunks.push(Buffer.from('\r\n'))
    }
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`))
  return { payload: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}` }
}

const CSV = 'name,gender,age,country_id,gender_probability,country_probability\nAda,female,36,NG,0.9,0.8\nBayo,male,29,NG,0.8,0.7\n'

const portal = await buildFakePortal(t)
const admin = await portal.signIn('octo-admin')

function upload(p: FakePortal, who: { cookie: string }, parts: Part[], headers: Record<string, string> = {}) {
  const { payload, contentType } = multipart(parts)
  return p.app.inject({ method: 'POST', url: '/import', headers: { cookie: who.cookie, origin: PORTAL_ORIGIN, 'content-type': contentType, ...headers }, payload })
}

t.test('the import page has a plain multipart form with the token before the file', async (t) => {
  const res = await portal.get('/import', admin)
  t.equal(res.statusCode, 200)
  t.match(res.body, /<form method="post" action="\/import" enctype="multipart\/form-data"[^>]*>\s*<input type="hidden" name="_csrf"[^>]*>[\s\S]*<input id="file" name="file" type="file"/)
  t.match(res.body, /<progress id="import-progress-bar"/)
})

t.test('without JavaScript: POST → the file streamed to the API → redirect → the report', async (t) => {
  portal.fake.imports.length = 0
  const res = await upload(portal, admin, [
    { name: '_csrf', value: admin.csrf },
    { name: 'file', filename: 'people.csv', content: CSV },
  ])
  t.equal(res.statusCode, 303)
  t.equal(res.headers.location, '/import')
  t.equal(portal.fake.imports.length, 1)
  t.equal(portal.fake.imports[0].content, CSV, 'the file arrived byte for byte')
  t.match(portal.fake.imports[0].contentType, /^multipart\/form-data; boundary=insighta-/)
  t.match(portal.fake.lastHeaders.get('/api/profiles/import')?.authorization, /^Bearer /)
  const page = await portal.get('/import', undefined, { cookie: cookieHeaderFrom(res, admin) })
  t.match(page.body, /Imported 1 of 2 rows; 1 skipped/)
  t.match(page.body, /<h2 id="report-title">Import report<\/h2>/)
  for (const label of ['Name already exists', 'Invalid age', 'Invalid gender', 'Invalid country', 'Invalid probability', 'Missing fields', 'Malformed row']) {
    t.match(page.body, new RegExp(`<th scope="row">${label}</th>`), label)
  }
  t.match(page.body, /<th scope="row">Name already exists<\/th><td class="num">1<\/td>/)
  const reload = await portal.get('/import', admin)
  t.notMatch(reload.body, /Import report/, 'the report is shown once')
})

t.test('with JavaScript: the XHR gets JSON and the same report after navigating', async (t) => {
  const res = await upload(portal, admin, [{ name: 'file', filename: 'people.csv', content: CSV }], { accept: 'application/json', 'x-csrf-token': admin.csrf })
  t.equal(res.statusCode, 200)
  t.same(res.json(), { status: 'success', message: 'Imported 1 of 2 rows; 1 skipped.', redirect: '/import' })
  const page = await portal.get('/import', undefined, { cookie: cookieHeaderFrom(res, admin) })
  t.match(page.body, /Import report/)
})

t.test('a large file streams through', async (t) => {
  portal.fake.imports.length = 0
  const rows = Array.from({ length: 60_000 }, (_, i) => `Person ${i},female,${i % 90},KE,0.9,0.8`).join('\n')
  const big = `name,gender,age,country_id,gender_probability,country_probability\n${rows}\n`
  const res = await upload(portal, admin, [
    { name: '_csrf', value: admin.csrf },
    { name: 'file', filename: 'big.csv', content: big },
  ])
  t.equal(res.statusCode, 303)
  t.equal(portal.fake.imports[0].bytes, Buffer.byteLength(big))
})

t.test('CSRF: the token must come first (or in the header); cross-site uploads are refused', async (t) => {
  portal.fake.imports.length = 0
  const fileFirst = await upload(portal, admin, [
    { name: 'file', filename: 'people.csv', content: CSV },
    { name: '_csrf', value: admin.csrf },
  ])
  t.equal(fileFirst.statusCode, 403, 'a token after the file is too late')
  const none = await upload(portal, admin, [{ name: 'file', filename: 'people.csv', content: CSV }])
  t.equal(none.statusCode, 403)
  const wrong = await upload(portal, admin, [
    { name: '_csrf', value: 'nope' },
    { name: 'file', filename: 'people.csv', content: CSV },
  ])
  t.equal(wrong.statusCode, 403)
  const wrongHeader = await upload(portal, admin, [{ name: 'file', filename: 'people.csv', content: CSV }], { 'x-csrf-token': 'nope' })
  t.equal(wrongHeader.statusCode, 403)
  const cross = await upload(portal, admin, [{ name: '_csrf', value: admin.csrf }, { name: 'file', filename: 'people.csv', content: CSV }], { origin: 'https://evil.example' })
  t.equal(cross.statusCode, 403)
  t.equal(portal.fake.imports.length, 0, 'nothing reached the API')
})

t.test('analysts cannot import', async (t) => {
  const analyst = await portal.signIn('octo-analyst')
  t.equal((await portal.get('/import', analyst)).statusCode, 403)
  const res = await upload(portal, analyst, [{ name: '_csrf', value: analyst.csrf }, { name: 'file', filename: 'people.csv', content: CSV }])
  t.equal(res.statusCode, 403)
})

t.test('no file, the wrong form, a file over the limit, and API refusals end with a message', async (t) => {
  const noFile = await upload(portal, admin, [{ name: '_csrf', value: admin.csrf }, { name: 'file', filename: '', content: '' }])
  t.equal(noFile.headers.location, '/import')
  t.match((await portal.get('/import', undefined, { cookie: cookieHeaderFrom(noFile, admin) })).body, /Choose a CSV file to import/)

  const notMultipart = await portal.post('/import', { file: 'x' }, admin)
  t.equal(notMultipart.statusCode, 415)

  const small = await buildFakePortal(t, { fake: portal.fake, db: portal.db, env: { PORTAL_UPLOAD_LIMIT_BYTES: '2048' } })
  const who = await small.signIn('octo-admin')
  const tooBig = await upload(small, who, [{ name: '_csrf', value: who.csrf }, { name: 'file', filename: 'big.csv', content: 'x'.repeat(10_000) }])
  t.equal(tooBig.headers.location, '/import')
  t.match((await small.get('/import', undefined, { cookie: cookieHeaderFrom(tooBig, who) })).body, /That file is larger than the 2 KB the portal accepts/)

  portal.fake.options.importStatus = 400
  const refused = await upload(portal, admin, [{ name: '_csrf', value: admin.csrf }, { name: 'file', filename: 'x.txt', content: 'hello' }])
  t.match((await portal.get('/import', undefined, { cookie: cookieHeaderFrom(refused, admin) })).body, /The import was refused: Import refused/)
  portal.fake.options.importStatus = 404
  const missing = await upload(portal, admin, [{ name: '_csrf', value: admin.csrf }, { name: 'file', filename: 'x.csv', content: CSV }])
  t.match((await portal.get('/import', undefined, { cookie: cookieHeaderFrom(missing, admin) })).body, /not available on this server yet/)
  portal.fake.options.importStatus = undefined
})
