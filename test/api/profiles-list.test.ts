import t from 'tap'
import { buildTestApi } from '../helpers/api.ts'

const api = await buildTestApi(t, { seed: true })
const analyst = await api.headers('analyst')

type ListBody = {
  status: string
  page: number
  limit: number
  total: number
  total_pages: number
  links: { self: string; next: string | null; prev: string | null; next_cursor: string | null }
  data: Record<string, unknown>[]
}

async function list(query: string, headers: Record<string, string> = analyst) {
  const res = await api.app.inject({ method: 'GET', url: `/api/profiles${query}`, headers })
  return { res, body: res.json() as ListBody }
}

t.test('the default page: envelope, 10 contract keys, created_at desc with id ties', async (t) => {
  const { res, body } = await list('')
  t.equal(res.statusCode, 200)
  t.equal(res.headers['x-api-version'], '1')
  t.match(body, { status: 'success', page: 1, limit: 10, total: 2026, total_pages: 203 })
  const { next_cursor: nextCursor, ...pageLinks } = body.links
  t.same(pageLinks, { self: '/api/profiles?page=1&limit=10', next: '/api/profiles?page=2&limit=10', prev: null })
  t.match(nextCursor, /^\/api\/profiles\?cursor=[\w-]+\.[\w-]+&limit=10$/, 'and the keyset link to the same next page')
  t.equal(body.data.length, 10)
  for (const p of body.data) {
    t.same(Object.keys(p).sort(), [
      'age', 'age_group', 'country_id', 'country_name', 'country_probability', 'created_at', 'gender',
      'gender_probability', 'id', 'name',
    ])
    t.match(p.id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/, 'uuid v7')
    t.match(p.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/)
  }
  const keys = body.data.map((p) => `${p.created_at}|${p.id}`)
  t.same(keys, [...keys].sort().reverse(), 'created_at desc, then id desc')
})

t.test('filters combine with AND and are case-insensitive; reference count 43', async (t) => {
  const { body } = await list('?gender=MALE&country_id=ng&min_age=25')
  t.equal(body.total, 43)
  t.ok(body.data.every((p) => p.gender === 'male' && p.country_id === 'NG' && (p.age as number) >= 25))
  t.equal(body.links.self, '/api/profiles?gender=male&country_id=NG&min_age=25&page=1&limit=10')
})

t.test('every filter narrows correctly', async (t) => {
  const cases: [string, (p: Record<string, unknown>) => boolean][] = [
    ['age_group=teenager', (p) => p.age_group === 'teenager'],
    ['min_age=30&max_age=31', (p) => (p.age as number) >= 30 && (p.age as number) <= 31],
    ['min_gender_probability=0.9', (p) => (p.gender_probability as number) >= 0.9],
    ['min_country_probability=0.8&gender=female', (p) => (p.country_probability as number) >= 0.8 && p.gender === 'female'],
    ['age_group=senior&max_age=65', (p) => p.age_group === 'senior' && (p.age as number) <= 65],
  ]
  for (const [query, ok] of cases) {
    const { res, body } = await list(`?${query}&limit=50`)
    t.equal(res.statusCode, 200, query)
    t.ok(body.total > 0, `${query} matches some`)
    t.ok(body.data.every(ok), `${query} rows all match`)
  }
  const all = await list('?age_group=adult&limit=50')
  t.equal(all.body.total, 1224)
})

t.test('min_age > max_age is a valid query with total 0', async (t) => {
  const { res, body } = await list('?min_age=40&max_age=30')
  t.equal(res.statusCode, 200)
  t.match(body, { total: 0, total_pages: 0, data: [], links: { next: null, prev: null } })
})

t.test('a well-formed but unknown country is simply empty', async (t) => {
  const { res, body } = await list('?country_id=XX')
  t.equal(res.statusCode, 200)
  t.equal(body.total, 0)
})

t.test('sorting by every field, both directions, stable pages', async (t) => {
  for (const field of ['age', 'created_at', 'gender_probability', 'country_probability', 'name']) {
    for (const order of ['asc', 'desc']) {
      const a = await list(`?sort_by=${field}&order=${order}&limit=50&page=3`)
      t.equal(a.res.statusCode, 200, `${field} ${order}`)
      const values = a.body.data.map((p) => p[field] as string | number)
      const sorted = [...values].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0))
      if (order === 'desc') sorted.reverse()
      if (field === 'name') {
        t.equal(values.length, 50)
      } else {
        t.same(values, sorted, `${field} ${order} is ordered`)
      }
      const again = await list(`?sort_by=${field}&order=${order}&limit=50&page=3`)
      t.same(again.body.data.map((p) => p.id), a.body.data.map((p) => p.id), 'same page twice')
    }
  }
  const { body } = await list('?sort_by=AGE&order=DESC')
  t.equal(body.links.self, '/api/profiles?sort_by=age&order=desc&page=1&limit=10')
})

t.test('pagination walks every profile exactly once', async (t) => {
  const seen = new Set<string>()
  let url: string | null = '/api/profiles?sort_by=age&limit=50'
  let pages = 0
  while (url) {
    const res = await api.app.inject({ method: 'GET', url, headers: analyst })
    const body = res.json() as ListBody
    for (const p of body.data) seen.add(p.id as string)
    url = body.links.next
    pages++
  }
  t.equal(pages, 41)
  t.equal(seen.size, 2026)
})

t.test('limit is clamped to 50 and the envelope says so; last and beyond-last pages', async (t) => {
  const big = await list('?limit=500')
  t.equal(big.body.limit, 50)
  t.equal(big.body.data.length, 50)
  t.equal(big.body.total_pages, 41)
  const last = await list('?limit=50&page=41')
  t.equal(last.body.data.length, 26)
  t.equal(last.body.links.next, null)
  t.equal(last.body.links.prev, '/api/profiles?page=40&limit=50')
  const beyond = await list('?limit=50&page=9999999')
  t.equal(beyond.res.statusCode, 200)
  t.same(beyond.body.data, [])
  t.equal(beyond.body.total, 2026)
})

t.test('bad input: empty → 400, wrong type or value → 422, all in the envelope', async (t) => {
  const empty = ['gender=', 'age_group=', 'country_id=', 'min_age=', 'max_age=', 'min_gender_probability=',
    'min_country_probability=', 'sort_by=', 'order=', 'page=', 'limit=', 'gender=%20%20', 'gender=&gender=male']
  for (const q of empty) {
    const { res, body } = await list(`?${q}`)
    t.equal(res.statusCode, 400, q)
    t.same(body, { status: 'error', message: 'Invalid query parameters' }, q)
  }
  const huge = 'a'.repeat(10_000)
  const invalid = [
    'gender=other', 'gender=males', 'age_group=baby', 'country_id=NGA', 'country_id=1', 'min_age=abc', 'min_age=-1',
    'min_age=12.5', 'max_age=1e400', 'max_age=151', 'min_gender_probability=1.2', 'min_gender_probability=-0.1',
    'min_country_probability=abc', 'sort_by=height', 'sort_by=age;drop table profiles', 'order=up', 'page=0',
    'page=-1', 'page=abc', 'page=1.5', 'limit=0', 'limit=-5', 'limit=ten', 'gender=male&gender=female',
    `gender=${huge}`, `country_id=${huge}`, `min_age=${'9'.repeat(5000)}`, "country_id=NG' OR '1'='1",
    'sort_by=name%20desc', 'order=asc;--', 'page=99999999999',
  ]
  for (const q of invalid) {
    const { res, body } = await list(`?${q}`)
    t.equal(res.statusCode, 422, q.slice(0, 60))
    t.same(body, { status: 'error', message: 'Invalid query parameters' }, q.slice(0, 60))
  }
  const count = await list('')
  t.equal(count.body.total, 2026, 'nothing was lost')
})

t.test('unknown keys are ignored', async (t) => {
  const { res, body } = await list('?colour=blue&foo=&gender=female')
  t.equal(res.statusCode, 200)
  t.equal(body.total, 1038)
})

t.test('X-API-Version is required on /api/profiles* and checked first', async (t) => {
  const missing = await api.app.inject({ method: 'GET', url: '/api/profiles' })
  t.equal(missing.statusCode, 400)
  t.same(missing.json(), { status: 'error', message: 'API version header required' })
  const wrong = await api.app.inject({ method: 'GET', url: '/api/profiles', headers: { 'x-api-version': '2' } })
  t.equal(wrong.statusCode, 400)
  t.same(wrong.json(), { status: 'error', message: 'Unsupported API version' })
  t.equal(wrong.headers['x-api-version'], '1', 'echoed even on errors')
  for (const path of ['/api/profiles/search?q=men', '/api/profiles/export?format=csv', '/api/profiles/stats', '/api/profiles/abc']) {
    const res = await api.app.inject({ method: 'GET', url: path })
    t.equal(res.statusCode, 400, path)
  }
})
