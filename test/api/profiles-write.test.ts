import t from 'tap'
import { buildTestApi } from '../helpers/api.ts'
import { enrichmentAnswers, startEnrichmentStubs } from '../../dev/enrichment-stand-in.ts'

const stubs = await startEnrichmentStubs()
t.teardown(() => stubs.close())
const api = await buildTestApi(t, {
  seed: true,
  env: {
    GENDERIZE_URL: stubs.urls.genderize,
    AGIFY_URL: stubs.urls.agify,
    NATIONALIZE_URL: stubs.urls.nationalize,
    ENRICHMENT_TIMEOUT_MS: '800',
    ENRICHMENT_CACHE_SIZE: '0',
  },
})
const admin = await api.headers('admin')
const analyst = await api.headers('analyst')

const create = (body: unknown, headers: Record<string, string> = admin, contentType = 'application/json') =>
  api.app.inject({
    method: 'POST',
    url: '/api/profiles',
    headers: { ...headers, 'content-type': contentType },
    payload: typeof body === 'string' ? body : JSON.stringify(body),
  })

const total = async () =>
  (await api.app.inject({ method: 'GET', url: '/api/profiles', headers: analyst })).json().total as number

t.beforeEach(() => stubs.reset())

t.test('create enriches through the three services, concurrently, and stores the profile', async (t) => {
  const before = await total()
  const res = await create({ name: '  Harriet Tubman  ' })
  t.equal(res.statusCode, 201)
  const body = res.json()
  const expected = enrichmentAnswers('Harriet Tubman')
  t.equal(body.status, 'success')
  t.match(body.data, {
    name: 'Harriet Tubman',
    gender: expected.genderize.gender,
    gender_probability: expected.genderize.probability,
    age: expected.agify.age,
  })
  t.match(body.data.id, /^[0-9a-f]{8}-[0-9a-f]{4}-7/)
  t.equal(body.data.country_id, expected.nationalize.country[0].country_id)
  t.equal(stubs.calls.genderize.count + stubs.calls.agify.count + stubs.calls.nationalize.count, 3)
  t.equal(await total(), before + 1, 'the list (cache included) sees the new profile at once')

  const got = await api.app.inject({ method: 'GET', url: `/api/profiles/${body.data.id}`, headers: analyst })
  t.same(got.json(), { status: 'success', data: body.data })
})

t.test('a duplicate name (any case, any spaces) answers 200 with the existing record and writes nothing', async (t) => {
  const first = await create({ name: 'Ada Lovelace' })
  t.equal(first.statusCode, 201)
  const before = await total()
  const callsBefore = stubs.calls.genderize.count
  const again = await create({ name: '  ada LOVELACE ' })
  t.equal(again.statusCode, 200)
  t.same(again.json(), { status: 'success', message: 'Profile already exists', data: first.json().data })
  t.equal(stubs.calls.genderize.count, callsBefore, 'no upstream call for a known name')
  t.equal(await total(), before)
  const seeded = await create({ name: 'awino hassan' })
  t.equal(seeded.statusCode, 200, 'seeded names count too')
})

t.test('concurrent creates of one new name store it once', async (t) => {
  const results = await Promise.all(Array.from({ length: 5 }, () => create({ name: 'Grace Hopper' })))
  t.same(results.map((r) => r.statusCode).sort(), [200, 200, 200, 200, 201])
  t.equal(new Set(results.map((r) => r.json().data.id)).size, 1)
})

t.test('names with quotes, commas, emoji and RTL text are stored as given', async (t) => {
  for (const name of [`O'Brien, "Jr"`, 'Zoë 🚀 Ünal', 'محمد علي', '<script>alert(1)</script>']) {
    const res = await create({ name })
    t.equal(res.statusCode, 201, name)
    t.equal(res.json().data.name, name)
  }
})

t.test('create: bad bodies', async (t) => {
  const before = await total()
  const cases: [unknown, number, string][] = [
    [{}, 400, 'Missing or empty name'],
    [{ name: '' }, 400, 'Missing or empty name'],
    [{ name: '   ' }, 400, 'Missing or empty name'],
    [{ name: 123 }, 422, 'Invalid type'],
    [{ name: null }, 422, 'Invalid type'],
    [{ name: ['a'] }, 422, 'Invalid type'],
    [{ name: { first: 'a' } }, 422, 'Invalid type'],
    [{ name: true }, 422, 'Invalid type'],
    [[], 422, 'Invalid type'],
    ['"just a string"', 422, 'Invalid type'],
  ]
  for (const [body, status, message] of cases) {
    const res = await create(body)
    t.equal(res.statusCode, status, JSON.stringify(body))
    t.same(res.json(), { status: 'error', message }, JSON.stringify(body))
  }
  const long = await create({ name: 'x'.repeat(201) })
  t.equal(long.statusCode, 422)
  t.equal(long.json().status, 'error')

  const notJson = await create('{"name": ', admin)
  t.equal(notJson.statusCode, 400)
  t.equal(notJson.json().status, 'error')
  const emptyBody = await create('', admin)
  t.equal(emptyBody.statusCode, 400)
  const text = await create('name=x', admin, 'text/plain')
  t.equal(text.statusCode, 415)
  t.equal(text.json().status, 'error')
  const oversized = await create({ name: 'y'.repeat(100_000) })
  t.equal(oversized.statusCode, 413)
  t.same(oversized.json(), { status: 'error', message: 'Request body too large' })
  t.equal(await total(), before, 'nothing written')
})

t.test('every upstream failure is a 502 naming the service, and nothing is stored', async (t) => {
  const services = [
    ['genderize', 'Genderize'],
    ['agify', 'Agify'],
    ['nationalize', 'Nationalize'],
  ] as const
  const behaviours = ['hang', 'html', '500', 'null', 'malformed-json'] as const
  let n = 0
  for (const [service, label] of services) {
    for (const behaviour of behaviours) {
      stubs.reset()
      stubs.setBehaviour(service, behaviour)
      const before = await total()
      const started = Date.now()
      const res = await create({ name: `Upstream Case ${n++}` })
      t.equal(res.statusCode, 502, `${service} ${behaviour}`)
      t.same(res.json(), { status: 'error', message: `${label} returned an invalid response` }, `${service} ${behaviour}`)
      t.ok(Date.now() - started < 3000, 'bounded by the timeout')
      t.equal(await total(), before, 'nothing stored')
    }
  }
  stubs.reset()
  stubs.setFixed('genderize', { count: 0, name: 'x', gender: 'male', probability: 0.9 })
  const zero = await create({ name: 'Count Zero' })
  t.equal(zero.statusCode, 502, 'count 0 is invalid')
  stubs.reset()
  stubs.setFixed('nationalize', { count: 5, name: 'x', country: [{ country_id: 'NG', probability: 1.7 }] })
  t.equal((await create({ name: 'Bad Probability' })).statusCode, 502)
  stubs.reset()
  stubs.setFixed('agify', { count: 5, name: 'x', age: -3 })
  t.equal((await create({ name: 'Negative Age' })).statusCode, 502)
})

t.test('the upstream unreachable (connection refused) is a 502', async (t) => {
  const dead = await buildTestApi(t, {
    db: api.db,
    env: { GENDERIZE_URL: 'http://127.0.0.1:9', AGIFY_URL: stubs.urls.agify, NATIONALIZE_URL: stubs.urls.nationalize },
  })
  const res = await dead.app.inject({
    method: 'POST',
    url: '/api/profiles',
    headers: { ...(await dead.headers('admin')), 'content-type': 'application/json' },
    payload: { name: 'Nobody Reachable' },
  })
  t.equal(res.statusCode, 502)
  t.same(res.json(), { status: 'error', message: 'Genderize returned an invalid response' })
})

t.test('delete: 204 with an empty body, then 404; malformed ids are 404', async (t) => {
  const created = (await create({ name: 'To Be Deleted' })).json().data
  const before = await total()
  const del = await api.app.inject({ method: 'DELETE', url: `/api/profiles/${created.id}`, headers: admin })
  t.equal(del.statusCode, 204)
  t.equal(del.body, '')
  t.equal(await total(), before - 1, 'the cached total moved at once')
  const again = await api.app.inject({ method: 'DELETE', url: `/api/profiles/${created.id}`, headers: admin })
  t.equal(again.statusCode, 404)
  t.same(again.json(), { status: 'error', message: 'Profile not found' })
  for (const id of ['not-a-uuid', '123', `${created.id}x`, "1' OR '1'='1", 'x'.repeat(150)]) {
    const get = await api.app.inject({ method: 'GET', url: `/api/profiles/${encodeURIComponent(id)}`, headers: analyst })
    t.equal(get.statusCode, 404, id.slice(0, 30))
    t.same(get.json(), { status: 'error', message: 'Profile not found' })
    const d = await api.app.inject({ method: 'DELETE', url: `/api/profiles/${encodeURIComponent(id)}`, headers: admin })
    t.equal(d.statusCode, 404)
  }
  const missing = await api.app.inject({
    method: 'GET',
    url: '/api/profiles/01900000-0000-7000-8000-000000000000',
    headers: analyst,
  })
  t.equal(missing.statusCode, 404)
})

t.test('stats and search see writes at once (no stale cache across a write)', async (t) => {
  const stats = async () =>
    (await api.app.inject({ method: 'GET', url: '/api/profiles/stats', headers: analyst })).json().data.total as number
  const search = async () =>
    (await api.app.inject({ method: 'GET', url: '/api/profiles/search?q=people%20from%20nigeria', headers: analyst })).json()
      .total as number
  const s0 = await stats()
  const q0 = await search()
  stubs.setFixed('nationalize', { count: 9, name: 'x', country: [{ country_id: 'NG', probability: 0.9 }] })
  const created = (await create({ name: 'Cache Buster' })).json().data
  t.equal(await stats(), s0 + 1)
  t.equal(await search(), q0 + 1)
  await api.app.inject({ method: 'DELETE', url: `/api/profiles/${created.id}`, headers: admin })
  t.equal(await stats(), s0)
  t.equal(await search(), q0)
})
