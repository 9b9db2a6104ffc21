import t from 'tap'
import { buildTestApi } from '../helpers/api.ts'

const api = await buildTestApi(t, { seed: true })
const analyst = await api.headers('analyst')
const get = (url: string) => api.app.inject({ method: 'GET', url, headers: analyst })

type Value = { value: string; count: number; label?: string }
const sum = (values: Value[]) => values.reduce((n, v) => n + v.count, 0)

t.test('facets count every value of the current filter exactly', async (t) => {
  const res = await get('/api/profiles?facets=gender,age_group,country_id')
  t.equal(res.statusCode, 200)
  const body = res.json()
  t.equal(body.total, 2026)
  t.same(Object.keys(body.facets), ['gender', 'age_group', 'country_id'])
  t.same(body.facets.gender.map((v: Value) => v.value), ['male', 'female'])
  t.same(body.facets.age_group.map((v: Value) => v.value), ['child', 'teenager', 'adult', 'senior'])
  t.equal(sum(body.facets.gender), 2026)
  t.equal(sum(body.facets.age_group), 2026)
  const countries: Value[] = body.facets.country_id
  t.equal(countries.length, 20, 'the top 20 countries')
  t.ok(countries.every((c, i) => i === 0 || countries[i - 1].count >= c.count), 'by count, largest first')
  for (const c of countries.slice(0, 5)) {
    const direct = (await get(`/api/profiles?country_id=${c.value}&limit=1`)).json()
    t.equal(c.count, direct.total, `${c.value} (${c.label}) matches the list total`)
  }
  t.equal(countries.find((c) => c.value === 'CD')?.label, 'DR Congo', "the seed's spelling")
  for (const g of body.facets.gender) t.equal(g.count, (await get(`/api/profiles?gender=${g.value}&limit=1`)).json().total, g.value)
})

t.test('with a filter, including one the maintained counts cannot serve', async (t) => {
  const narrow = (await get('/api/profiles?gender=male&country_id=NG&facets=gender,country_id')).json()
  t.same(narrow.facets.gender, [
    { value: 'male', count: narrow.total },
    { value: 'female', count: 0 },
  ])
  t.same(narrow.facets.country_id, [{ value: 'NG', label: 'Nigeria', count: narrow.total }])
  const probable = (await get('/api/profiles?min_gender_probability=0.9&facets=age_group')).json()
  t.equal(sum(probable.facets.age_group), probable.total, 'exact on the count(*) path too')
  for (const a of probable.facets.age_group) {
    t.equal(a.count, (await get(`/api/profiles?min_gender_probability=0.9&age_group=${a.value}&limit=1`)).json().total, a.value)
  }
  const none = (await get('/api/profiles?min_age=90&max_age=10&facets=gender,country_id')).json()
  t.same(none.facets, { gender: [{ value: 'male', count: 0 }, { value: 'female', count: 0 }], country_id: [] }, 'an empty filter counts zeros')
})

t.test('the search takes facets too, and links keep them', async (t) => {
  const search = (await get('/api/profiles/search?q=young%20males%20from%20nigeria&facets=age_group')).json()
  const list = (await get('/api/profiles?gender=male&country_id=NG&min_age=16&max_age=24&facets=age_group')).json()
  t.same(search.facets, list.facets)
  t.equal(sum(search.facets.age_group), 9)
  const paged = (await get('/api/profiles?gender=female&facets=gender&limit=5')).json()
  t.equal(paged.links.next, '/api/profiles?gender=female&facets=gender&page=2&limit=5')
})

t.test('facets are optional, normalised, and validated', async (t) => {
  const plain = (await get('/api/profiles')).json()
  t.notOk('facets' in plain, 'absent unless asked for')
  const spaced = await get('/api/profiles?facets=GENDER,%20Age_Group,gender')
  t.equal(spaced.statusCode, 200, 'any case, spaces ignored')
  t.same(Object.keys(spaced.json().facets), ['gender', 'age_group'], 'each once, in the order given')
  for (const [url, status] of [
    ['/api/profiles?facets=', 400],
    ['/api/profiles?facets=name', 422],
    ['/api/profiles?facets=gender,,age_group', 422],
    ['/api/profiles?facets=gender&facets=age_group', 422],
    ['/api/profiles?facets=gender%00', 422],
    [`/api/profiles?facets=${'gender,'.repeat(50)}gender`, 422],
  ] as const) {
    const res = await get(url)
    t.equal(res.statusCode, status, url.slice(0, 60))
    t.equal(res.json().status, 'error')
  }
})
