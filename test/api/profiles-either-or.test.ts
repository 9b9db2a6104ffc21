import t from 'tap'
import { buildTestApi } from '../helpers/api.ts'

const api = await buildTestApi(t, { seed: true })
const analyst = await api.headers('analyst')
const get = (url: string) => api.app.inject({ method: 'GET', url, headers: analyst })
const total = async (query: string) => {
  const res = await get(`/api/profiles?${query}&limit=1`)
  t.equal(res.statusCode, 200, query)
  return res.json().total as number
}
/** count(*) straight from the table, for comparison */
async function counted(where: string, values: unknown[]): Promise<number> {
  const { rows } = await api.db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM profiles WHERE ${where}`, values)
  return rows[0].n
}

t.test('a comma-separated list means any of its values; one value behaves as before', async (t) => {
  const ng = await total('country_id=NG')
  const gh = await total('country_id=GH')
  t.equal(await total('country_id=NG,GH'), ng + gh)
  t.equal(await total('country_id=ng,%20gh'), ng + gh, 'any case, spaces around commas')
  t.equal(await total('country_id=GH,NG,NG'), ng + gh, 'duplicates count once')
  t.equal(await total('country_id=NG,NG'), ng, 'one distinct value is the single filter')
  t.equal(await total('country_id=NG,GH,KE'), await counted("country_id IN ('NG','GH','KE')", []))
  t.equal(await total('gender=male,female'), 2026, 'both genders: no filter')
  const child = await total('age_group=child')
  const senior = await total('age_group=senior')
  t.equal(await total('age_group=child,senior'), child + senior, 'groups that are not adjacent')
  t.equal(await total('age_group=child,teenager'), await counted('age <= 19', []), 'adjacent groups are one range')
  t.equal(await total('age_group=child,teenager,adult,senior'), 2026)
  t.equal(await total('age_group=child,senior&min_age=10&max_age=70'), await counted('((age BETWEEN 10 AND 12) OR (age BETWEEN 60 AND 70))', []))
  t.equal(
    await total('country_id=NG,GH&gender=female&min_gender_probability=0.8'),
    await counted("country_id IN ('NG','GH') AND gender = 'female' AND gender_probability >= 0.8", []),
    'the count(*) path agrees with the maintained counts path',
  )
})

t.test('pages, links, stats, facets and exports take lists too', async (t) => {
  const page = (await get('/api/profiles?country_id=NG,GH&sort_by=age&limit=5')).json()
  t.ok(page.data.every((p: { country_id: string }) => p.country_id === 'NG' || p.country_id === 'GH'))
  t.equal(page.links.next, '/api/profiles?country_id=GH%2CNG&sort_by=age&page=2&limit=5', 'links carry the canonical list')
  const stats = (await get('/api/profiles/stats?country_id=NG,GH')).json().data
  t.same(stats.by_country.map((c: { country_id: string }) => c.country_id).sort(), ['GH', 'NG'])
  t.equal(stats.total, page.total)
  const facets = (await get('/api/profiles?age_group=child,senior&facets=age_group')).json().facets
  t.same(facets.age_group.filter((a: { count: number }) => a.count > 0).map((a: { value: string }) => a.value), ['child', 'senior'])
  const csv = (await get('/api/profiles/export?format=csv&country_id=NG,GH')).body
  t.equal(csv.trim().split('\n').length - 1, page.total, 'the export has the same rows')
})

t.test('the natural-language search reads several countries as either-or', async (t) => {
  const search = (await get('/api/profiles/search?q=people%20from%20nigeria%20or%20ghana')).json()
  t.equal(search.total, await total('country_id=NG,GH'))
  t.same(search.interpreted.filter, { country_id: ['GH', 'NG'] })
  const same = (await get('/api/profiles/search?q=ghanaians%20and%20nigerians')).json()
  t.equal(same.total, search.total)
})

t.test('bad lists are refused like bad values', async (t) => {
  for (const query of [
    'country_id=NG,',
    'country_id=,NG',
    'country_id=NG,,GH',
    'country_id=NG,XYZ',
    'country_id=NG;GH',
    `country_id=${Array.from({ length: 51 }, () => 'NG').join(',')}`,
    'gender=male,robot',
    'gender=male,female,male',
    'age_group=child,baby',
    'country_id=NG%00,GH',
  ]) {
    const res = await get(`/api/profiles?${query}`)
    t.equal(res.statusCode, 422, query.slice(0, 40))
    t.same(res.json(), { status: 'error', message: 'Invalid query parameters' })
  }
  t.equal((await get('/api/profiles?country_id=NG,GH&country_id=KE')).statusCode, 422, 'a repeated parameter stays ambiguous')
})
