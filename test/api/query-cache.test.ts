import { randomBytes } from 'node:crypto'
import t from 'tap'
import { MemoryQueryCache, RedisQueryCache } from '../../api/services/query-cache.ts'
import { buildTestApi } from '../helpers/api.ts'
import { startTestRedis } from '../helpers/redis.ts'

t.test('memory cache: hits, TTL expiry, and nothing survives an invalidation', async (t) => {
  let now = 1000
  const cache = new MemoryQueryCache(5000, 100, () => now)
  await cache.set('a', { v: 1 })
  t.same(await cache.get('a'), { v: 1 })
  now += 4999
  t.same(await cache.get('a'), { v: 1 })
  now += 2
  t.equal(await cache.get('a'), undefined, 'expired')
  await cache.set('b', 2)
  await cache.invalidate()
  t.equal(await cache.get('b'), undefined, 'a write empties it')
})

t.test('memory cache: bounded size, ttl 0 disables', async (t) => {
  const cache = new MemoryQueryCache(60_000, 10)
  for (let i = 0; i < 50; i++) await cache.set(`k${i}`, i)
  t.equal(await cache.get('k0'), undefined, 'oldest evicted')
  t.equal(await cache.get('k49'), 49)
  const off = new MemoryQueryCache(0)
  await off.set('x', 1)
  t.equal(await off.get('x'), undefined)
})

t.test('Redis cache: shared by two API instances, a write on one is seen by the other at once', async (t) => {
  const redis = await startTestRedis(t)
  const prefix = `insighta:test:${randomBytes(4).toString('hex')}`
  const errors: unknown[] = []
  const a = new RedisQueryCache(redis.url, 30, (e) => errors.push(e), prefix)
  const b = new RedisQueryCache(redis.url, 30, (e) => errors.push(e), prefix)
  t.teardown(async () => {
    await a.close()
    await b.close()
  })
  await a.invalidate() // connects; a cache that is still connecting only misses
  await b.invalidate()
  await a.set('page:x', { total: 3 })
  t.same(await b.get('page:x'), { total: 3 })
  await b.invalidate()
  t.equal(await a.get('page:x'), undefined, 'invalidated across instances')
  t.same(errors, [])

  // The API wired to Redis: two instances over one database stay coherent across a write.
  const first = await buildTestApi(t, { seed: true, env: { REDIS_URL: redis.url } })
  const second = await buildTestApi(t, { db: first.db, env: { REDIS_URL: redis.url } })
  const h = await first.headers('admin')
  const total = async (api: typeof first) =>
    (await api.app.inject({ method: 'GET', url: '/api/profiles?country_id=AO', headers: h })).json().total
  t.equal(await total(first), 39)
  t.equal(await total(second), 39)
  const victim = (await first.app.inject({ method: 'GET', url: '/api/profiles?country_id=AO', headers: h })).json().data[0]
  const del = await first.app.inject({ method: 'DELETE', url: `/api/profiles/${victim.id}`, headers: h })
  t.equal(del.statusCode, 204)
  t.equal(await total(second), 38, 'the other instance never serves the pre-write total')
})

t.test('Redis down: every call is a miss, requests still succeed', async (t) => {
  const errors: unknown[] = []
  const cache = new RedisQueryCache('redis://127.0.0.1:9/0', 30, (e) => errors.push(e))
  t.teardown(() => cache.close())
  const started = Date.now()
  await cache.set('k', 1)
  t.equal(await cache.get('k'), undefined)
  await cache.invalidate()
  t.ok(Date.now() - started < 2000, 'fails fast')
  t.ok(errors.length >= 1, 'the failed invalidation is reported')
  const api = await buildTestApi(t, { seed: true, env: { REDIS_URL: 'redis://127.0.0.1:9/0' } })
  const res = await api.app.inject({ method: 'GET', url: '/api/profiles', headers: await api.headers('analyst') })
  t.equal(res.statusCode, 200)
  t.equal(res.json().total, 2026)
})

t.test('memory cache on: a page served again is the same body, links follow each spelling, a write shows at once', async (t) => {
  const api = await buildTestApi(t, { seed: true, env: { CACHE_TTL_SECONDS: '30' } })
  const h = await api.headers('admin')
  const get = (url: string) => api.app.inject({ method: 'GET', url, headers: h })
  const first = await get('/api/profiles?country_id=AO&limit=5')
  const again = await get('/api/profiles?country_id=AO&limit=5')
  t.equal(first.statusCode, 200)
  t.equal(again.body, first.body, 'the repeat is byte for byte the same')
  t.match(first.headers['content-type'], /^application\/json; charset=utf-8/)
  t.equal(first.json().links.self, '/api/profiles?country_id=AO&page=1&limit=5')
  const lower = await get('/api/profiles?country_id=ao&limit=5')
  t.equal(lower.json().links.self, '/api/profiles?country_id=AO&page=1&limit=5', 'another spelling of the same filter, its own links')
  const search = await get('/api/profiles/search?q=people%20from%20angola&limit=5')
  const searchAgain = await get('/api/profiles/search?q=people%20from%20angola&limit=5')
  t.equal(searchAgain.body, search.body)
  t.same(search.json().data, first.json().data, 'search and list share the cached page, each with its own envelope')
  t.ok(search.json().interpreted, 'the search body keeps interpreted')
  t.notOk('interpreted' in first.json(), 'the list body does not gain it')
  const victim = first.json().data[0]
  t.equal((await api.app.inject({ method: 'DELETE', url: `/api/profiles/${victim.id}`, headers: h })).statusCode, 204)
  const after = (await get('/api/profiles?country_id=AO&limit=5')).json()
  t.equal(after.total, first.json().total - 1, 'the write is seen at once')
  t.notOk(after.data.some((p: { id: string }) => p.id === victim.id))
})
