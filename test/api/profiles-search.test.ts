import t from 'tap'
import { SEARCH_EXAMPLES } from '../../contract/nl-parser.ts'
import { buildTestApi } from '../helpers/api.ts'

const api = await buildTestApi(t, { seed: true })
const analyst = await api.headers('analyst')

const search = (q: string, extra = '') =>
  api.app.inject({ method: 'GET', url: `/api/profiles/search?q=${encodeURIComponent(q)}${extra}`, headers: analyst })

t.test("the contract's reference counts on the bare seed", async (t) => {
  const expected: [string, number][] = [
    ['young males', 129],
    ['young males from nigeria', 9],
    ['females above 30', 673],
    ['people from angola', 39],
    ['adult males from kenya', 29],
    ['male and female teenagers above 17', 99],
  ]
  for (const [q, total] of expected) {
    const res = await search(q)
    t.equal(res.statusCode, 200, q)
    t.equal(res.json().total, total, q)
  }
})

t.test('equivalent queries give the same results; envelope and links keep q', async (t) => {
  const a = (await search('young males from nigeria')).json()
  const b = (await search('males from nigeria who are young')).json()
  t.same(a.data, b.data)
  t.equal(a.links.self, '/api/profiles/search?q=young+males+from+nigeria&page=1&limit=10')
  const c = (await search('Nigerian females between ages 20 and 45', '&limit=50')).json()
  const d = (await search('Women aged 20–45 living in Nigeria', '&limit=50')).json()
  t.equal(c.total, d.total)
  t.same(c.data, d.data)
  t.ok(c.total > 0)
})

t.test('pagination and sorting apply', async (t) => {
  const res = (await search('people from nigeria', '&sort_by=age&order=desc&page=2&limit=5')).json()
  t.match(res, { page: 2, limit: 5, total: 123, total_pages: 25 })
  t.equal(res.links.prev, '/api/profiles/search?q=people+from+nigeria&sort_by=age&order=desc&page=1&limit=5')
  const ages = res.data.map((p: { age: number }) => p.age)
  t.same(ages, [...ages].sort((x: number, y: number) => y - x))
})

t.test('an empty intersection is total 0, not an error', async (t) => {
  const res = await search('young seniors')
  t.equal(res.statusCode, 200)
  t.equal(res.json().total, 0)
})

t.test('bad input', async (t) => {
  const missing = await api.app.inject({ method: 'GET', url: '/api/profiles/search', headers: analyst })
  t.equal(missing.statusCode, 400)
  t.same(missing.json(), { status: 'error', message: 'Invalid query parameters' })
  for (const q of ['', '   ']) {
    const res = await search(q)
    t.equal(res.statusCode, 400)
    t.same(res.json(), { status: 'error', message: 'Invalid query parameters' })
  }
  for (const q of ['hello world', "'; drop table profiles; --", '<script>alert(1)</script>', '!!!']) {
    const res = await search(q)
    t.equal(res.statusCode, 400, q)
    t.same(res.json(), { status: 'error', message: 'Unable to interpret query', examples: SEARCH_EXAMPLES })
  }
  const long = await search('young '.repeat(200))
  t.equal(long.statusCode, 422, 'over 500 characters')
  const repeated = await api.app.inject({ method: 'GET', url: '/api/profiles/search?q=men&q=women', headers: analyst })
  t.equal(repeated.statusCode, 422)
  const badPage = await search('men', '&page=0')
  t.equal(badPage.statusCode, 422)
})

t.test('the search explains how it read the query', async (t) => {
  const res = (await search('People who are young males living in Nigeria!')).json()
  t.same(res.interpreted, {
    filter: { country_id: 'NG', gender: 'male', max_age: 24, min_age: 16 },
    ignored_words: ['people', 'who', 'are', 'living', 'in'],
  })
  t.equal(res.total, 9, 'the same rows as "young males from nigeria"')
  t.same(Object.keys(res), ['status', 'page', 'limit', 'total', 'total_pages', 'links', 'data', 'interpreted'])
  const exact = (await search('women over 30')).json()
  t.same(exact.interpreted, { filter: { gender: 'female', min_age: 30 }, ignored_words: [] })
  const list = (await api.app.inject({ method: 'GET', url: '/api/profiles?gender=male', headers: analyst })).json()
  t.notOk('interpreted' in list, 'the list envelope is unchanged')
})

t.test('every example offered for an uninterpretable query is itself a working search', async (t) => {
  for (const example of SEARCH_EXAMPLES) {
    const res = await search(example)
    t.equal(res.statusCode, 200, example)
    t.ok(res.json().total > 0, `${example} finds profiles in the seed`)
  }
})
