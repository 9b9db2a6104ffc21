import t from 'tap'
import { MAX_SAVED_SEARCHES } from '../../contract/saved-search.ts'
import { buildTestApi } from '../helpers/api.ts'

const api = await buildTestApi(t, { seed: true })
const analyst = await api.headers('analyst')
const admin = await api.headers('admin')

type Headers = Record<string, string>
const save = (headers: Headers, body: unknown) =>
  api.app.inject({ method: 'POST', url: '/api/saved-searches', headers: { ...headers, 'content-type': 'application/json' }, payload: JSON.stringify(body) })
const list = (headers: Headers) => api.app.inject({ method: 'GET', url: '/api/saved-searches', headers })
const remove = (headers: Headers, id: string) => api.app.inject({ method: 'DELETE', url: `/api/saved-searches/${id}`, headers })
const run = (headers: Headers, path: string) => api.app.inject({ method: 'GET', url: path, headers })

async function clear(headers: Headers) {
  for (const s of (await list(headers)).json().data as { id: string }[]) await remove(headers, s.id)
}

t.test('a list filter, saved, listed and run', async (t) => {
  const res = await save(analyst, { name: '  Nigerian men over 25 ', query: 'gender=x&gender=MALE&country_id=ng' })
  t.equal(res.statusCode, 422, 'a repeated parameter is refused as the API refuses it')
  const ok = await save(analyst, { name: '  Nigerian men over 25 ', query: '?gender=MALE&country_id=ng&min_age=25&page=3&foo=bar' })
  t.equal(ok.statusCode, 201)
  const saved = ok.json().data
  t.match(saved, {
    name: 'Nigerian men over 25',
    kind: 'list',
    query: 'gender=male&country_id=NG&min_age=25',
    path: '/api/profiles?gender=male&country_id=NG&min_age=25',
  })
  t.match(saved.id, /^[0-9a-f]{8}-[0-9a-f]{4}-7/)
  t.match(saved.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/)
  t.same(Object.keys(saved).sort(), ['created_at', 'id', 'kind', 'name', 'path', 'query'])
  const listed = (await list(analyst)).json()
  t.same(listed, { status: 'success', data: [saved] })
  const ran = await run(analyst, saved.path)
  t.equal(ran.statusCode, 200)
  t.equal(ran.json().total, 43, "the contract's reference count for this filter")
  await clear(analyst)
})

t.test('a natural-language query, saved and run; sorting kept, paging dropped', async (t) => {
  const res = await save(analyst, { name: 'young men, NG', query: 'q=young males from nigeria&sort_by=age&order=desc&page=2&limit=5' })
  t.equal(res.statusCode, 201)
  const saved = res.json().data
  t.equal(saved.kind, 'search')
  t.equal(saved.query, 'q=young+males+from+nigeria&sort_by=age&order=desc&limit=5')
  const ran = (await run(analyst, saved.path)).json()
  t.equal(ran.total, 9)
  t.equal(ran.limit, 5)
  await clear(analyst)
})

t.test('per user: nobody else sees or deletes them', async (t) => {
  const mine = (await save(analyst, { name: 'mine', query: 'gender=female' })).json().data
  t.same((await list(admin)).json().data, [], "the admin does not see the analyst's")
  t.equal((await remove(admin, mine.id)).statusCode, 404, 'nor delete it')
  t.equal((await save(admin, { name: 'mine', query: 'gender=male' })).statusCode, 201, 'names are per user')
  t.equal((await remove(analyst, mine.id)).statusCode, 204)
  t.equal((await remove(analyst, mine.id)).statusCode, 404, 'gone')
  t.equal((await remove(analyst, 'not-a-uuid')).statusCode, 404)
  t.equal((await remove(analyst, mine.id.toUpperCase())).statusCode, 404)
  await clear(admin)
})

t.test('names are unique per user, whatever their case and spacing', async (t) => {
  t.equal((await save(analyst, { name: 'Kenya', query: 'country_id=KE' })).statusCode, 201)
  const again = await save(analyst, { name: ' KENYA ', query: 'country_id=GH' })
  t.equal(again.statusCode, 409)
  t.same(again.json(), { status: 'error', message: 'A saved search with this name exists' })
  await clear(analyst)
})

t.test('bad input answers the envelope and writes nothing', async (t) => {
  const cases: [unknown, number, string][] = [
    [{ query: 'gender=male' }, 400, 'Missing or empty name'],
    [{ name: '   ', query: 'gender=male' }, 400, 'Missing or empty name'],
    [{ name: 'x' }, 400, 'Missing or empty query'],
    [{ name: 'x', query: '' }, 400, 'Missing or empty query'],
    [{ name: 'x', query: '?' }, 400, 'Missing or empty query'],
    [{ name: 42, query: 'gender=male' }, 422, 'Invalid type'],
    [{ name: 'x', query: ['gender=male'] }, 422, 'Invalid type'],
    [{ name: 'a\u0000b', query: 'gender=male' }, 422, 'Invalid name: control characters are not allowed'],
    [{ name: 'line\nbreak', query: 'gender=male' }, 422, 'Invalid name: control characters are not allowed'],
    [{ name: 'x', query: 'gender=male\u0000' }, 422, 'Invalid query: control characters are not allowed'],
    [{ name: 'n'.repeat(101), query: 'gender=male' }, 422, 'Invalid type'],
    [{ name: 'x', query: `q=${'young '.repeat(200)}` }, 422, 'Invalid type'],
    [{ name: 'x', query: 'gender=robot' }, 422, 'Invalid query: a value is not one the API accepts'],
    [{ name: 'x', query: 'min_age=abc' }, 422, 'Invalid query: a value is not one the API accepts'],
    [{ name: 'x', query: 'gender=' }, 422, 'Invalid query: a parameter is empty or repeated'],
    [{ name: 'x', query: 'sort_by=age&order=asc' }, 422, 'Invalid query: it filters nothing'],
    [{ name: 'x', query: 'foo=bar' }, 422, 'Invalid query: it filters nothing'],
    [{ name: 'x', query: 'q=hello world' }, 422, 'Unable to interpret query'],
    [{ name: 'x', query: "q='; drop table saved_searches; --" }, 422, 'Unable to interpret query'],
  ]
  for (const [body, status, message] of cases) {
    const res = await save(analyst, body)
    t.equal(res.statusCode, status, JSON.stringify(body).slice(0, 60))
    t.same(res.json(), { status: 'error', message }, JSON.stringify(body).slice(0, 60))
  }
  const notJson = await api.app.inject({ method: 'POST', url: '/api/saved-searches', headers: { ...analyst, 'content-type': 'application/json' }, payload: '{' })
  t.equal(notJson.statusCode, 400)
  t.same((await list(analyst)).json().data, [], 'nothing was saved')
  const markup = await save(analyst, { name: '<script>alert(1)</script>', query: 'gender=male' })
  t.equal(markup.statusCode, 201, 'markup is data: stored as given, escaped where it is shown')
  t.equal(markup.json().data.name, '<script>alert(1)</script>')
  await clear(analyst)
})

t.test('signed-in users only; the version header is optional', async (t) => {
  t.equal((await list({})).statusCode, 401)
  t.equal((await save({}, { name: 'x', query: 'gender=male' })).statusCode, 401)
  t.equal((await list({ authorization: 'Bearer nonsense' })).statusCode, 401)
  const { 'x-api-version': _version, ...withoutVersion } = analyst
  t.equal((await list(withoutVersion)).statusCode, 200)
})

t.test(`at most ${MAX_SAVED_SEARCHES} per user, even when saves race`, async (t) => {
  for (let i = 0; i < MAX_SAVED_SEARCHES - 2; i++) t.equal((await save(analyst, { name: `s${i}`, query: `min_age=${i}` })).statusCode, 201)
  const racing = await Promise.all(Array.from({ length: 6 }, (_, i) => save(analyst, { name: `race${i}`, query: 'gender=male' })))
  const statuses = racing.map((r) => r.statusCode).sort()
  t.same(statuses, [201, 201, 422, 422, 422, 422], 'exactly the two that fit')
  t.match(racing.find((r) => r.statusCode === 422)?.json().message, /at most 50/)
  t.equal((await list(analyst)).json().data.length, MAX_SAVED_SEARCHES)
  await clear(analyst)
})

t.test('creates and deletes are in the audit log', async (t) => {
  const user = (await api.user('analyst')).row
  const saved = (await save(analyst, { name: 'audited', query: 'gender=male' })).json().data
  await remove(analyst, saved.id)
  const events = await api.db.db
    .selectFrom('audit_events')
    .select(['event', 'actor_id', 'details'])
    .where('event', 'in', ['saved_search.create', 'saved_search.delete'])
    .where('actor_id', '=', user.id)
    .execute()
  const mine = events.filter((e) => (e.details as { saved_search_id?: string }).saved_search_id === saved.id).map((e) => e.event)
  t.same(mine.sort(), ['saved_search.create', 'saved_search.delete'])
})

t.test("a deleted user's saved searches go with them", async (t) => {
  const other = await api.db.db
    .insertInto('users')
    .values({ id: '01890000-0000-7000-8000-000000000001', github_id: -999_001, username: 'leaving', role: 'analyst' })
    .returning('id')
    .executeTakeFirstOrThrow()
  await api.db.db
    .insertInto('saved_searches')
    .values({ id: '01890000-0000-7000-8000-000000000002', user_id: other.id, name: 'cascade', kind: 'list', query: 'gender=female' })
    .execute()
  await api.db.db.deleteFrom('users').where('id', '=', other.id).execute()
  const left = await api.db.db.selectFrom('saved_searches').select('id').where('user_id', '=', other.id).execute()
  t.same(left, [], 'deleted with the user')
})
