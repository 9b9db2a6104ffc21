/**
 * The plain-English search page: results from the API, the understood filters as removable chips,
 * and a helpful answer when nothing can be understood.
 */
import t from 'tap'
import { buildTestPortal } from './helpers.ts'

// Real HTTP and a real database on a shared CI machine: allow more than the default 120 s.
t.setTimeout(300_000)

const portal = await buildTestPortal(t)
const analyst = await portal.signIn('analyst')

t.test('the contract reference counts come through', async (t) => {
  const cases: [string, number][] = [
    ['young males', 129],
    ['young males from nigeria', 9],
    ['females above 30', 673],
    ['people from angola', 39],
    ['adult males from kenya', 29],
    ['male and female teenagers above 17', 99],
  ]
  for (const [q, total] of cases) {
    const res = await portal.get(`/search?q=${encodeURIComponent(q)}`, analyst)
    t.equal(res.statusCode, 200, q)
    t.match(res.body, new RegExp(`of ${total} profiles`), `${q} → ${total}`)
  }
})

t.test('understood filters are chips; removing one opens Profiles with the rest', async (t) => {
  const res = await portal.get('/search?q=young+males+from+nigeria', analyst)
  const chips = [...res.body.matchAll(/<li class="chip">([^<]+) <a class="chip__remove" href="([^"]+)"/g)].map((m) => [m[1].trim(), m[2].replace(/&amp;/g, '&')])
  t.same(chips, [
    ['Gender: male', '/profiles?country_id=NG&min_age=16&max_age=24'],
    ['Country: Nigeria', '/profiles?gender=male&min_age=16&max_age=24'],
    ['Age ≥ 16', '/profiles?gender=male&country_id=NG&max_age=24'],
    ['Age ≤ 24', '/profiles?gender=male&country_id=NG&min_age=16'],
  ])
  const follow = await portal.get(chips[1][1], analyst)
  t.equal(follow.statusCode, 200)
  t.match(follow.body, /<option value="male" selected>/)
  t.match(follow.body, /Remove “Gender: male”|Filters/)
  t.match(res.body, /href="\/profiles\?gender=male&amp;country_id=NG&amp;min_age=16&amp;max_age=24">Refine with filters/)
  t.match(res.body, /href="\/profiles\/export\?gender=male&amp;country_id=NG&amp;min_age=16&amp;max_age=24" download>Export these as CSV/)
})

t.test('sorting and paging keep the query', async (t) => {
  const res = await portal.get('/search?q=females+above+30&sort_by=age&order=desc&page=2&limit=20', analyst)
  t.equal(res.statusCode, 200)
  t.match(res.body, /Showing 21–40 of 673 profiles/)
  t.match(res.body, /href="\/search\?q=females\+above\+30&amp;sort_by=age&amp;order=desc&amp;page=3&amp;cursor=[\w-]+\.[\w-]+&amp;limit=20" rel="next"/, 'Next by the API’s cursor')
  t.match(res.body, /aria-sort="descending"/)
  const bad = await portal.get('/search?q=women&page=0', analyst)
  t.equal(bad.statusCode, 422)
  t.match(bad.body, /Pages are numbered/)
})

t.test('"Unable to interpret query" is shown with examples', async (t) => {
  for (const q of ['hello there', 'men and women', '!!!']) {
    const res = await portal.get(`/search?q=${encodeURIComponent(q)}`, analyst)
    t.equal(res.statusCode, 200, q)
    t.match(res.body, /Unable to interpret query/)
    t.match(res.body, /href="\/search\?q=young\+males\+from\+nigeria"/, 'example links')
    t.notMatch(res.body, /<table class="data-table[ "]/)
  }
  const blank = await portal.get('/search?q=+++', analyst)
  t.equal(blank.statusCode, 302, 'a blank box is dropped from the URL')
  t.equal(blank.headers.location, '/search')
  t.match((await portal.get('/search', analyst)).body, /Try one of these/, 'a blank box is just the empty page')
  const page = await portal.get('/search', analyst)
  t.match(page.body, /Up to 500 characters\./, 'the limit is stated')
  t.match(page.body, /maxlength="500"/)
  const long = await portal.get(`/search?q=${'men '.repeat(200)}`, analyst)
  t.equal(long.statusCode, 422)
  t.match(long.body, /at most 500 characters/)
  const repeated = await portal.get('/search?q=men&q=women', analyst)
  t.equal(repeated.statusCode, 422, 'a repeated q is ambiguous, as in the API')
  t.match(repeated.body, /only once/)
  const nul = await portal.get('/search?q=men%00', analyst)
  t.not(nul.statusCode, 500, 'a NUL byte is no server error')
})
