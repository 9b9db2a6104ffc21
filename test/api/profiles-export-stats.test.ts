import { parse } from 'csv-parse/sync'
import t from 'tap'
import { newId } from '../../contract/ids.ts'
import { insertProfilesBatch } from '../../db/repositories/profiles.ts'
import { buildTestApi } from '../helpers/api.ts'

const api = await buildTestApi(t, { seed: true })
const analyst = await api.headers('analyst')

const HEADER = 'id,name,gender,gender_probability,age,age_group,country_id,country_name,country_probability,created_at'

t.test('export: the whole filtered set as RFC 4180 CSV, same sort as the list, no pagination', async (t) => {
  const res = await api.app.inject({
    method: 'GET',
    url: '/api/profiles/export?format=CSV&country_id=ng&sort_by=age&order=asc&page=2&limit=5',
    headers: analyst,
  })
  t.equal(res.statusCode, 200)
  t.equal(res.headers['content-type'], 'text/csv; charset=utf-8')
  t.match(res.headers['content-disposition'], /^attachment; filename="profiles_\d{8}T\d{6}Z\.csv"$/)
  const lines = res.body.split('\r\n')
  t.equal(lines[0], HEADER)
  const rows = parse(res.body, { columns: true }) as Record<string, string>[]
  t.equal(rows.length, 123, 'every Nigerian profile, ignoring page and limit')
  t.ok(rows.every((r) => r.country_id === 'NG'))
  const ages = rows.map((r) => Number(r.age))
  t.same(ages, [...ages].sort((a, b) => a - b))
  const list = await api.app.inject({ method: 'GET', url: '/api/profiles?country_id=NG&sort_by=age&order=asc&limit=50', headers: analyst })
  t.same(rows.slice(0, 50).map((r) => r.id), list.json().data.map((p: { id: string }) => p.id), 'same order as the list')
})

t.test('export: tricky names round-trip through CSV quoting', async (t) => {
  const names = [`O'Brien, "Jr"`, 'Line\nBreak', 'Zoë 🚀 Ünal', 'محمد علي', '=HYPERLINK("x")', 'Trailing, comma,']
  await insertProfilesBatch(
    api.db.db,
    names.map((name) => ({
      id: newId(),
      name,
      gender: 'female' as const,
      gender_probability: 0.5,
      age: 33,
      age_group: 'adult' as const,
      country_id: 'XK',
      country_name: 'Kosovo',
      country_probability: 0.25,
    })),
  )
  const res = await api.app.inject({ method: 'GET', url: '/api/profiles/export?format=csv&country_id=XK', headers: analyst })
  const rows = parse(res.body, { columns: true }) as Record<string, string>[]
  t.same(rows.map((r) => r.name).sort(), [...names].sort())
  t.equal(rows[0].country_probability, '0.25')
})

t.test('export: empty result is just the header', async (t) => {
  const res = await api.app.inject({ method: 'GET', url: '/api/profiles/export?format=csv&min_age=90&max_age=10', headers: analyst })
  t.equal(res.statusCode, 200)
  t.equal(res.body, `${HEADER}\r\n`)
})

t.test('export: format missing → 400, unknown → 422, bad filters → 400/422', async (t) => {
  const cases: [string, number][] = [
    ['', 400],
    ['?format=', 400],
    ['?format=json', 422],
    ['?format=xlsx', 422],
    ['?format=csv&format=csv', 422],
    ['?format=csv&gender=x', 422],
    ['?format=csv&sort_by=age;drop', 422],
    ['?format=csv&min_age=', 400],
  ]
  for (const [query, status] of cases) {
    const res = await api.app.inject({ method: 'GET', url: `/api/profiles/export${query}`, headers: analyst })
    t.equal(res.statusCode, status, query)
    t.equal(res.json().status, 'error')
    t.equal(res.json().message, 'Invalid query parameters')
  }
})

t.test('stats: totals by gender, age group, country and a 10-year histogram; filters honoured', async (t) => {
  const all = (await api.app.inject({ method: 'GET', url: '/api/profiles/stats', headers: analyst })).json()
  t.equal(all.status, 'success')
  const d = all.data
  t.equal(d.total, 2026 + 6)
  t.equal(d.by_gender.male + d.by_gender.female, d.total)
  t.equal(d.by_age_group.child + d.by_age_group.teenager + d.by_age_group.adult + d.by_age_group.senior, d.total)
  t.equal(d.by_country.reduce((s: number, c: { count: number }) => s + c.count, 0), d.total)
  t.equal(d.age_histogram.reduce((s: number, b: { count: number }) => s + b.count, 0), d.total)
  t.same(d.by_country[0], { country_id: 'NG', country_name: 'Nigeria', count: 123 })
  const cd = d.by_country.find((c: { country_id: string }) => c.country_id === 'CD')
  t.equal(cd.country_name, 'DR Congo', "the seed's spelling")

  const f = (await api.app.inject({ method: 'GET', url: '/api/profiles/stats?gender=female&min_age=31', headers: analyst })).json().data
  t.equal(f.total, 673 + 6 - (await countAge30Females()), 'the six 33-year-old women added above count too')
  t.equal(f.by_gender.male, 0)
  t.equal(f.by_age_group.child, 0)

  const prob = (await api.app.inject({ method: 'GET', url: '/api/profiles/stats?min_gender_probability=0.9&country_id=KE', headers: analyst })).json().data
  const list = (await api.app.inject({ method: 'GET', url: '/api/profiles?min_gender_probability=0.9&country_id=KE', headers: analyst })).json()
  t.equal(prob.total, list.total, 'probability filters take the exact path')

  const bad = await api.app.inject({ method: 'GET', url: '/api/profiles/stats?gender=', headers: analyst })
  t.equal(bad.statusCode, 400)
  const bad2 = await api.app.inject({ method: 'GET', url: '/api/profiles/stats?min_age=x', headers: analyst })
  t.equal(bad2.statusCode, 422)
})

async function countAge30Females() {
  const res = await api.app.inject({ method: 'GET', url: '/api/profiles?gender=female&min_age=30&max_age=30', headers: analyst })
  return res.json().total as number
}

t.test('maintained counts always equal a real count(*)', async (t) => {
  const filters = ['', '?gender=male', '?country_id=NG&min_age=20&max_age=40', '?age_group=senior&gender=female', '?max_age=12']
  for (const f of filters) {
    const listed = (await api.app.inject({ method: 'GET', url: `/api/profiles${f}`, headers: analyst })).json().total
    const exported = (await api.app.inject({ method: 'GET', url: `/api/profiles/export?format=csv${f.replace('?', '&')}`, headers: analyst })).body
      .split('\r\n')
      .filter((l) => l !== '').length - 1
    t.equal(listed, exported, f || 'all')
  }
})
