/**
 * The Profiles page, its CSV export, and the admin create/delete forms, against the real API.
 */
import t from 'tap'
import { startEnrichmentStubs } from '../../dev/enrichment-stand-in.ts'
import { buildTestPortal, cookieHeaderFrom } from './helpers.ts'

// Real HTTP and a real database on a shared CI machine: allow more than the default 120 s.
t.setTimeout(300_000)

const stubs = await startEnrichmentStubs()
t.teardown(() => stubs.close())
const portal = await buildTestPortal(t, {
  apiEnv: { GENDERIZE_URL: stubs.urls.genderize, AGIFY_URL: stubs.urls.agify, NATIONALIZE_URL: stubs.urls.nationalize, ENRICHMENT_TIMEOUT_MS: '500' },
})
const admin = await portal.signIn('admin')
const analyst = await portal.signIn('analyst')

function rowNames(html: string): string[] {
  return [...html.matchAll(/<th scope="row" class="cell-name"><a href="\/profiles\/[^"]+" title="[^"]*">([^<]*)<\/a><\/th>/g)].map((m) => m[1])
}

t.test('filters reach the API and the count matches the contract reference', async (t) => {
  const res = await portal.get('/profiles?gender=male&country_id=NG&min_age=25', analyst)
  t.equal(res.statusCode, 200)
  t.match(res.body, /of 43 profiles/, 'list gender=male&country_id=NG&min_age=25 → 43')
  t.match(res.body, /<option value="male" selected>/, 'the form keeps the chosen gender')
  t.match(res.body, /<option value="NG" selected>Nigeria<\/option>/)
  t.match(res.body, /name="min_age" type="number"[^>]*value="25"/)
})

t.test('empty form fields are dropped from the URL, values are case-insensitive', async (t) => {
  const form = await portal.get('/profiles?gender=&age_group=&country_id=ng&min_age=&max_age=&min_gender_probability=&min_country_probability=&limit=10', analyst)
  t.equal(form.statusCode, 302, 'a form submission with empty fields is redirected')
  t.equal(form.headers.location, '/profiles?country_id=ng&limit=10', 'to the URL with only the set fields')
  const res = await portal.get(String(form.headers.location), analyst)
  t.equal(res.statusCode, 200)
  t.match(res.body, /of 123 profiles/, 'Nigeria only')
  t.notMatch(res.body, /href="[^"]*=&amp;/, 'no link on the page carries an empty parameter')
  const upper = await portal.get('/profiles?gender=MALE', analyst)
  t.match(upper.body, /of 988 profiles/)
  const mixed = await portal.get('/profiles?gender=%20Female%20&age_group=ADULT&country_id=ng&min_age=20&max_age=45&min_gender_probability=.8&min_country_probability=0&sort_by=AGE&order=DESC&limit=20', analyst)
  t.equal(mixed.statusCode, 200, 'whitespace and case are normalised as by the API')
  t.match(mixed.body, /<option value="female" selected>/)
  t.match(mixed.body, /<option value="adult" selected>/)
  t.match(mixed.body, /aria-sort="descending"/)
  const dashboard = await portal.get('/?gender=&country_id=NG', analyst)
  t.equal(dashboard.statusCode, 302)
  t.equal(dashboard.headers.location, '/?country_id=NG')
})

t.test('a well-formed but unknown country is what the API says: an empty page, not an error', async (t) => {
  const res = await portal.get('/profiles?country_id=XX', analyst)
  t.equal(res.statusCode, 200)
  t.match(res.body, /No profiles match/)
  t.match(res.body, /Country: XX|country_id=XX/)
})

t.test('tampered and huge values are refused with the form, not sent on', async (t) => {
  const cases: [string, RegExp][] = [
    ['/profiles?gender=robot', /Choose male or female/],
    ['/profiles?age_group=toddler', /Choose one of the age groups/],
    ['/profiles?country_id=NGA', /Choose a country from the list/],
    ['/profiles?country_id=%3Cscript%3E', /Choose a country from the list/],
    ['/profiles?country_id=N%00', /Choose a country from the list/],
    ['/profiles?min_age=-1', /whole number of years/],
    ['/profiles?max_age=99999999999999999999', /whole number of years/],
    ['/profiles?min_age=1e3', /whole number of years/],
    ['/profiles?min_gender_probability=1.5', /from 0 to 1/],
    ['/profiles?min_country_probability=NaN', /from 0 to 1/],
    ['/profiles?min_gender_probability=Infinity', /from 0 to 1/],
    ['/profiles?min_age=abc&max_age=-3&gender=robot', /Choose male or female/],
    ['/profiles?sort_by=password', /Unknown sort column/],
    ['/profiles?order=sideways', /ascending or descending/],
    ['/profiles?page=0', /Pages are numbered/],
    ['/profiles?page=99999999999', /Pages are numbered/],
    ['/profiles?limit=-5', /Page size/],
    ['/profiles?limit=0', /Page size/],
    ['/profiles?page=10000001', /Pages are numbered/],
    ['/profiles?gender=male&gender=female', /only once/],
    [`/profiles?gender=${'m'.repeat(5000)}`, /too long/],
  ]
  for (const [url, message] of cases) {
    const res = await portal.get(url, analyst)
    t.equal(res.statusCode, 422, url.slice(0, 80))
    t.match(res.body, message, url.slice(0, 80))
    t.match(res.body, /role="alert"/)
    t.notMatch(res.body, /<table class="data-table[ "]/, 'no results table')
  }
  const export422 = await portal.get('/profiles/export?min_age=abc', analyst)
  t.equal(export422.statusCode, 422)
  const dashboard = await portal.get('/?gender=x', analyst)
  t.equal(dashboard.statusCode, 422)
})

t.test('a page size above 50 is clamped like the API does; min_age > max_age is valid and empty', async (t) => {
  const res = await portal.get('/profiles?limit=500', analyst)
  t.equal(res.statusCode, 200)
  t.equal(rowNames(res.body).length, 50)
  const empty = await portal.get('/profiles?min_age=60&max_age=20', analyst)
  t.equal(empty.statusCode, 200)
  t.match(empty.body, /No profiles match/)
  t.match(empty.body, /The minimum age \(60\) is above the maximum age \(20\), so no profile can match\./, 'an inverted range says so')
  t.match(empty.body, /href="\/profiles\?min_age=20&amp;max_age=60">Swap them/)
  const ordered = await portal.get('/profiles?min_age=20&max_age=60', analyst)
  t.notMatch(ordered.body, /is above the maximum age/)
  const dashboard = await portal.get('/?min_age=60&max_age=20', analyst)
  t.match(dashboard.body, /is above the maximum age/)
  t.match(dashboard.body, /href="\/\?min_age=20&amp;max_age=60">Swap them/)
  const confidence = await portal.get('/profiles?min_gender_probability=0.8&limit=5', analyst)
  t.match(confidence.body, /Min\. gender confidence <span class="hint">\(0–1/, 'entered 0–1')
  t.notMatch(confidence.body, /<td class="num"[^>]*>\d+%<\/td>/, 'and shown 0–1, not as a percentage')
  t.match(confidence.body, /<td class="num" data-label="Gender conf\.">0\.\d\d<\/td>/)
})

t.test('sortable headers: links, aria-sort and the order they produce', async (t) => {
  const res = await portal.get('/profiles?country_id=KE&sort_by=age&order=asc', analyst)
  t.match(res.body, /<th scope="col" aria-sort="ascending" class="num">\s*<a href="\/profiles\?country_id=KE&amp;sort_by=age&amp;order=desc"/, 'active column offers the other direction')
  t.match(res.body, /aria-sort="none"[^>]*>\s*<a href="\/profiles\?country_id=KE&amp;sort_by=name&amp;order=asc"/, 'other columns keep the filters')
  const ages = [...res.body.matchAll(/<td class="num">(\d+)<\/td>/g)].map((m) => Number(m[1]))
  t.same(ages, [...ages].sort((a, b) => a - b), 'ascending ages')
  const byName = await portal.get('/profiles?sort_by=name&order=desc&limit=20', analyst)
  const names = rowNames(byName.body)
  t.equal(names.length, 20)
  t.ok(names[0] >= names[19], 'descending names')
})

t.test('pagination keeps filters, sort and page size; page links and counts are right', async (t) => {
  const res = await portal.get('/profiles?gender=female&sort_by=age&order=desc&limit=20&page=3', analyst)
  t.equal(res.statusCode, 200)
  t.match(res.body, /Showing 41–60 of 1,038 profiles/)
  t.match(res.body, /href="\/profiles\?gender=female&amp;sort_by=age&amp;order=desc&amp;page=2&amp;limit=20" rel="prev"/)
  t.match(res.body, /href="\/profiles\?gender=female&amp;sort_by=age&amp;order=desc&amp;page=4&amp;cursor=[\w-]+\.[\w-]+&amp;limit=20" rel="next"/, 'Next by the API’s cursor')
  t.match(res.body, /aria-current="page"><span class="visually-hidden">Page <\/span>3</)
  t.match(res.body, /page=52&amp;limit=20"><span class="visually-hidden">Page <\/span>52</, 'last page link')
  const first = await portal.get('/profiles?gender=female', analyst)
  t.match(first.body, /aria-disabled="true">‹ Previous/)
  const beyond = await portal.get('/profiles?gender=female&page=9999', analyst)
  t.equal(beyond.statusCode, 200)
  t.match(beyond.body, /past the end/)
  t.match(beyond.body, /Go to the last page/)
})

t.test('the CSV export streams through the portal with the filters and sort', async (t) => {
  const res = await portal.get('/profiles/export?country_id=NG&gender=male&sort_by=age&order=asc', analyst)
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /^text\/csv/)
  t.match(res.headers['content-disposition'], /^attachment; filename="profiles_\d{8}T\d{6}Z\.csv"$/)
  t.equal(res.headers['cache-control'], 'no-store')
  t.notOk(res.headers['content-length'], 'streamed, not buffered into one length')
  const lines = res.body.trim().split(/\r?\n/)
  t.equal(lines[0], 'id,name,gender,gender_probability,age,age_group,country_id,country_name,country_probability,created_at')
  const list = await portal.get('/profiles?country_id=NG&gender=male', analyst)
  const total = Number(/of ([\d,]+) profiles/.exec(list.body)?.[1].replace(/,/g, ''))
  t.equal(lines.length - 1, total, 'every matching profile, no pagination')
  t.ok(lines.slice(1).every((l) => l.includes(',male,') && l.includes(',NG,')))
  const ages = lines.slice(1).map((l) => Number(l.split(',')[4]))
  t.same(ages, [...ages].sort((a, b) => a - b))
  const page = await portal.get('/profiles?country_id=NG&gender=male&sort_by=age&order=asc', analyst)
  t.match(page.body, /href="\/profiles\/export\?gender=male&amp;country_id=NG&amp;sort_by=age&amp;order=asc" download>Export these as CSV/)
  const all = await portal.get('/profiles/export', analyst)
  t.equal(all.body.trim().split(/\r?\n/).length, 2027, 'the whole table')
})

t.test('the dashboard honours the filters', async (t) => {
  const res = await portal.get('/?country_id=NG', analyst)
  t.equal(res.statusCode, 200)
  t.match(res.body, /<strong>123<\/strong> profiles match these filters/)
  t.match(res.body, /<svg class="chart__svg"[^>]*role="img"/)
  t.match(res.body, /Country: Nigeria/, 'active filter chip')
  t.equal([...res.body.matchAll(/<svg class="chart__svg"/g)].length, 3, 'three charts: a one-country "Top countries" bar would say nothing')
  t.match(res.body, /<p class="chart-note">All 123 profiles: Nigeria\.<\/p>/, 'a sentence instead')
  t.match(res.body, /href="\/profiles\?country_id=NG">Browse them/)
  t.match(res.body, /Country: Nigeria <a class="chip__remove" href="\/"/, 'the chip removes its filter')
  const all = await portal.get('/', analyst)
  t.equal([...all.body.matchAll(/<svg class="chart__svg"/g)].length, 4, 'four charts without filters')
  const two = await portal.get('/?country_id=NG&gender=male', analyst)
  t.match(two.body, /Gender: male <a class="chip__remove" href="\/\?country_id=NG"/)
  t.match(two.body, /Country: Nigeria <a class="chip__remove" href="\/\?gender=male"/)
})

t.test('the dashboard with nothing to show: a message, removable chips, no empty charts', async (t) => {
  const res = await portal.get('/?country_id=NG&min_age=140', analyst)
  t.equal(res.statusCode, 200)
  t.match(res.body, /<strong>0<\/strong> profiles match these filters/)
  t.match(res.body, /No profiles match these filters/)
  t.equal([...res.body.matchAll(/<svg class="chart__svg"/g)].length, 0, 'no chart of zeros')
  t.match(res.body, /Age ≥ 140 <a class="chip__remove" href="\/\?country_id=NG"/)
  t.match(res.body, /<a class="chips__clear" href="\/">Clear all<\/a>/)
  const few = await portal.get('/?country_id=NG&min_age=60', analyst)
  const ticks = [...few.body.matchAll(/<text class="chart__tick" x="40"[^>]*>([^<]+)<\/text>/g)].map((m) => m[1])
  t.ok(ticks.length >= 2, 'an age axis')
  t.ok(ticks.every((label) => /^[\d,]+$/.test(label)), `whole-number axis labels: ${ticks.join(', ')}`)
  t.equal(new Set(ticks).size, ticks.length, 'no label repeated')
})

t.test('create a profile (admin): POST → redirect → the new profile, with a flash', async (t) => {
  stubs.reset()
  const res = await portal.post('/profiles', { name: 'Portal Testperson' }, admin)
  t.equal(res.statusCode, 303)
  t.match(res.headers.location, /^\/profiles\/[0-9a-f-]{36}$/)
  const page = await portal.get(String(res.headers.location), undefined, { cookie: cookieHeaderFrom(res, admin) })
  t.equal(page.statusCode, 200)
  t.match(page.body, /Created the profile “Portal Testperson”/)
  t.match(page.body, /<h1 id="profile-name">Portal Testperson<\/h1>/)
  const again = await portal.post('/profiles', { name: '  portal testperson ' }, admin)
  const shown = await portal.get(String(again.headers.location), undefined, { cookie: cookieHeaderFrom(again, admin) })
  t.match(shown.body, /already exists/, 'an existing name goes to the existing profile')
})

t.test('create shows the 502 reason and keeps the name', async (t) => {
  stubs.setBehaviour('agify', 'null')
  t.teardown(() => stubs.reset())
  const res = await portal.post('/profiles', { name: 'Unlucky Name' }, admin)
  t.equal(res.statusCode, 303)
  t.equal(res.headers.location, '/profiles/new')
  const page = await portal.get('/profiles/new', undefined, { cookie: cookieHeaderFrom(res, admin) })
  t.match(page.body, /Could not create “Unlucky Name”: Agify returned an invalid response/)
  t.match(page.body, /name="name"[^>]*value="Unlucky Name"/)
  t.match(page.body, /role="alert"/)
})

t.test('create refuses an empty, overlong or control-character name before calling the API: the form again, with the message', async (t) => {
  const before = await portal.get('/profiles?limit=1', admin)
  const total = /of ([\d,]+) profiles/.exec(before.body)?.[1]
  for (const [name, message] of [
    ['   ', /Enter a name/],
    ['', /Enter a name/],
    ['x'.repeat(201), /at most 200 characters/],
    ['  ' + 'x'.repeat(200) + '  ', null],
    ['a\u0000b', /not control characters/],
    ['a\u001bb', /not control characters/],
  ] as const) {
    const res = await portal.post('/profiles', { name }, admin)
    if (message === null) {
      t.equal(res.statusCode, 303, 'a 200-character name with spaces around it is fine')
      continue
    }
    t.equal(res.statusCode, 422, JSON.stringify(name.slice(0, 20)))
    t.match(res.body, message)
    t.match(res.body, /<div class="field field--error">/, 'the field is marked')
    t.match(res.body, /aria-invalid="true"/)
    t.match(res.body, /<form method="post" action="\/profiles"/, 'the form is shown again')
  }
  const missing = await portal.app.inject({ method: 'POST', url: '/profiles', headers: { cookie: admin.cookie, origin: 'http://localhost:3001', 'content-type': 'application/x-www-form-urlencoded' }, payload: `_csrf=${encodeURIComponent(admin.csrf)}` })
  t.equal(missing.statusCode, 422, 'no name field at all')
  t.match(missing.body, /Enter a name/)
  const kept = await portal.post('/profiles', { name: 'x'.repeat(201) }, admin)
  t.match(kept.body, new RegExp(`value="${'x'.repeat(201)}"`), 'what was typed is kept')
  const after = await portal.get('/profiles?limit=1', admin)
  t.equal(Number(/of ([\d,]+) profiles/.exec(after.body)?.[1].replace(/,/g, '')), Number(String(total).replace(/,/g, '')) + 1, 'only the valid one was created')
  const tooBig = await portal.post('/profiles', { name: 'y'.repeat(100_000) }, admin)
  t.equal(tooBig.statusCode, 413, 'a form body over the limit')
})

t.test('delete: a confirmation page, then POST deletes and redirects with a flash', async (t) => {
  const created = await portal.post('/profiles', { name: 'To Be Deleted' }, admin)
  const id = String(created.headers.location).split('/').pop()
  const confirm = await portal.get(`/profiles/${id}/delete`, admin)
  t.equal(confirm.statusCode, 200)
  t.match(confirm.body, /Delete “To Be Deleted”\?/)
  t.match(confirm.body, new RegExp(`<form method="post" action="/profiles/${id}/delete"`))
  const gone = await portal.post(`/profiles/${id}/delete`, { name: 'To Be Deleted' }, admin)
  t.equal(gone.statusCode, 303)
  t.equal(gone.headers.location, '/profiles')
  const list = await portal.get('/profiles', undefined, { cookie: cookieHeaderFrom(gone, admin) })
  t.match(list.body, /Deleted the profile “To Be Deleted”/)
  t.equal((await portal.get(`/profiles/${id}`, admin)).statusCode, 404)
  const twice = await portal.post(`/profiles/${id}/delete`, {}, admin)
  const after = await portal.get('/profiles', undefined, { cookie: cookieHeaderFrom(twice, admin) })
  t.match(after.body, /already been deleted/)
})

t.test('analysts cannot use the admin forms, whatever they post', async (t) => {
  const list = await portal.get('/profiles?limit=1', analyst)
  const id = /href="\/profiles\/([0-9a-f-]{36})"/.exec(list.body)?.[1]
  t.ok(id)
  t.notMatch(list.body, /New profile/, 'no create button')
  const detail = await portal.get(`/profiles/${id}`, analyst)
  t.notMatch(detail.body, /Delete this profile/, 'no delete link')
  for (const [url, form] of [
    ['/profiles', { name: 'Sneaky' }],
    [`/profiles/${id}/delete`, {}],
  ] as const) {
    const res = await portal.post(url, form, analyst)
    t.equal(res.statusCode, 403, url)
  }
  t.equal((await portal.get(`/profiles/${id}/delete`, analyst)).statusCode, 403)
  t.equal((await portal.get(`/profiles/${id}`, analyst)).statusCode, 200, 'still there')
})

t.test('no state change on GET: the mutating routes do not answer GET', async (t) => {
  const list = await portal.get('/profiles?limit=1', admin)
  const id = /href="\/profiles\/([0-9a-f-]{36})"/.exec(list.body)?.[1]
  t.equal((await portal.app.inject({ method: 'GET', url: '/logout', headers: { cookie: admin.cookie } })).statusCode, 404)
  t.equal((await portal.get(`/profiles/${id}/delete`, admin)).statusCode, 200, 'GET only asks for confirmation')
  t.equal((await portal.get(`/profiles/${id}`, admin)).statusCode, 200, 'nothing was deleted')
  t.equal((await portal.get('/account/sign-out-everywhere', admin)).statusCode, 404)
})

t.test('import through the portal into the real API: the report comes back', async (t) => {
  const csv =
    'name,gender,age,country_id,gender_probability,country_probability\n' +
    'Imported Person One,female,34,KE,0.9,0.8\n' +
    'Imported Person Two,male,abc,KE,0.9,0.8\n' +
    'Imported Person One,female,34,KE,0.9,0.8\n'
  const boundary = 'tapBoundaryReal'
  const payload =
    `--${boundary}\r\nContent-Disposition: form-data; name="_csrf"\r\n\r\n${admin.csrf}\r\n` +
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="people.csv"\r\nContent-Type: text/csv\r\n\r\n${csv}\r\n` +
    `--${boundary}--\r\n`
  const res = await portal.app.inject({
    method: 'POST',
    url: '/import',
    headers: { cookie: admin.cookie, origin: 'http://localhost:3001', 'content-type': `multipart/form-data; boundary=${boundary}` },
    payload,
  })
  t.equal(res.statusCode, 303)
  const page = await portal.get('/import', undefined, { cookie: cookieHeaderFrom(res, admin) })
  t.match(page.body, /Imported 1 of 3 rows; 2 skipped/)
  t.match(page.body, /<th scope="row">Invalid age<\/th><td class="num">1<\/td>/)
  t.match(page.body, /<th scope="row">Name already exists<\/th><td class="num">1<\/td>/)
  const found = await portal.get('/search?q=kenyan+women', admin)
  t.equal(found.statusCode, 200)
})

t.test('the CSV download neutralises spreadsheet formulas in names (OWASP), quoting intact', async (t) => {
  const names = ['=HYPERLINK("http://x","y")', '+1 Formula', '-2 Formula', '@SUM(A1)', 'Smith, "Jr" Quoted']
  const quote = (v: string) => `"${v.replace(/"/g, '""')}"`
  const csv = 'name,gender,age,country_id,gender_probability,country_probability\n' + names.map((n) => `${quote(n)},male,41,TD,0.9,0.8`).join('\n') + '\n'
  const boundary = 'tapBoundaryFormulas'
  const payload =
    `--${boundary}\r\nContent-Disposition: form-data; name="_csrf"\r\n\r\n${admin.csrf}\r\n` +
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="formulas.csv"\r\nContent-Type: text/csv\r\n\r\n${csv}\r\n` +
    `--${boundary}--\r\n`
  const imported = await portal.app.inject({
    method: 'POST',
    url: '/import',
    headers: { cookie: admin.cookie, origin: 'http://localhost:3001', 'content-type': `multipart/form-data; boundary=${boundary}` },
    payload,
  })
  const report = await portal.get('/import', undefined, { cookie: cookieHeaderFrom(imported, admin) })
  t.match(report.body, /Imported 5 of 5 rows/)
  const res = await portal.get('/profiles/export?country_id=TD&min_age=41&max_age=41&sort_by=name', analyst)
  t.equal(res.statusCode, 200)
  const { parse } = await import('csv-parse/sync')
  const rows = parse(res.body, { columns: true }) as { name: string }[]
  const exported = rows.map((r) => r.name).filter((n) => names.some((given) => n.endsWith(given)))
  t.same(exported.sort(), ["'+1 Formula", "'-2 Formula", "'=HYPERLINK(\"http://x\",\"y\")", "'@SUM(A1)", 'Smith, "Jr" Quoted'].sort())
  const page = await portal.get('/profiles?country_id=TD&min_age=41&max_age=41', analyst)
  t.match(page.body, /=HYPERLINK\(&#34;http:\/\/x&#34;,&#34;y&#34;\)</, 'the page shows the name as it is')
})
