/**
 * Roles by declaration: every route declares its access, undeclared routes are refused, analysts are
 * refused on every admin route, anonymous callers on every protected one, and the version header is
 * checked before authentication.
 */
import t from 'tap'
import { buildTestApi, V1 } from '../helpers/api.ts'
import type { RouteAccessEntry } from '../../api/types.ts'

const api = await buildTestApi(t)
await api.app.ready()
const routes: RouteAccessEntry[] = api.app.routeAccess
const SAMPLE_ID = '01900000-0000-7000-8000-000000000000'

/** /auth/* routes that are public by design: the login flows themselves and logout (which takes either token). */
const PUBLIC_AUTH = new Set(['/auth/github', '/auth/github/callback', '/auth/token', '/auth/refresh', '/auth/logout', '/auth/device/code'])

function concrete(url: string): string {
  return url.replace(/:[A-Za-z_]+/g, SAMPLE_ID)
}

t.test('every registered route under /api/ and /auth/ declares its access', async (t) => {
  const relevant = routes.filter((r) => r.url.startsWith('/api/') || r.url.startsWith('/auth/'))
  t.ok(relevant.length >= 20, `found ${relevant.length} routes`)
  for (const route of relevant) {
    t.not(route.access, undefined, `${route.method} ${route.url} declares access`)
    if (route.url.startsWith('/api/')) t.ok(Array.isArray(route.access) && route.access.length > 0, `${route.method} ${route.url} needs a role`)
    if (route.url.startsWith('/auth/') && route.access === 'public') t.ok(PUBLIC_AUTH.has(route.url), `${route.url} is meant to be public`)
  }
  const undeclared = routes.filter((r) => r.access === undefined && !r.url.startsWith('/docs'))
  t.same(undeclared, [], 'only the generated /docs routes come without a declaration (they are made public)')
})

t.test('a route without a declaration is refused (fail closed)', async (t) => {
  const other = await buildTestApi(t, { db: api.db })
  other.app.get('/api/forgotten', async () => ({ secret: true }))
  other.app.get('/elsewhere', async () => ({ secret: true }))
  const admin = await other.headers('admin')
  for (const url of ['/api/forgotten', '/elsewhere']) {
    const res = await other.app.inject({ method: 'GET', url, headers: admin })
    t.equal(res.statusCode, 403, url)
    t.notMatch(res.body, /secret/)
  }
})

t.test('analysts get 403 on every admin-only route', async (t) => {
  const analyst = await api.headers('analyst')
  const adminOnly = routes.filter((r) => Array.isArray(r.access) && !r.access.includes('analyst') && r.method !== 'HEAD')
  t.ok(adminOnly.length >= 5, adminOnly.map((r) => `${r.method} ${r.url}`).join(', '))
  for (const route of adminOnly) {
    const res = await api.app.inject({
      method: route.method as 'GET',
      url: concrete(route.url),
      headers: { ...analyst, 'content-type': 'application/json' },
      payload: route.method === 'GET' || route.method === 'DELETE' ? undefined : '{}',
    })
    t.equal(res.statusCode, 403, `${route.method} ${route.url}`)
    t.equal(res.json().status, 'error')
  }
})

t.test('anonymous callers get 401 with the challenge on every protected route', async (t) => {
  const protectedRoutes = routes.filter((r) => Array.isArray(r.access) && r.method !== 'HEAD')
  for (const route of protectedRoutes) {
    const res = await api.app.inject({ method: route.method as 'GET', url: concrete(route.url), headers: V1 })
    t.equal(res.statusCode, 401, `${route.method} ${route.url}`)
    t.equal(res.headers['www-authenticate'], 'Bearer realm="insighta"')
  }
})

t.test('X-API-Version is checked before authentication on /api/profiles*, not required elsewhere', async (t) => {
  const noVersion = await api.app.inject({ method: 'GET', url: '/api/profiles' })
  t.equal(noVersion.statusCode, 400)
  t.same(noVersion.json(), { status: 'error', message: 'API version header required' })
  const wrong = await api.app.inject({ method: 'GET', url: '/api/profiles/stats', headers: { 'x-api-version': '2', authorization: 'Bearer nonsense' } })
  t.equal(wrong.statusCode, 400)
  t.same(wrong.json(), { status: 'error', message: 'Unsupported API version' })
  const analyst = await api.headers('analyst')
  const me = await api.app.inject({ method: 'GET', url: '/api/users/me', headers: { authorization: analyst.authorization } })
  t.equal(me.statusCode, 200)
  t.equal(me.headers['x-api-version'], '1', 'echoed everywhere')
})

t.test('the OpenAPI document lists every identity route with its security', async (t) => {
  const doc = (await api.app.inject({ method: 'GET', url: '/docs/json' })).json()
  for (const path of ['/auth/github', '/auth/github/callback', '/auth/token', '/auth/refresh', '/auth/logout', '/auth/logout-all', '/auth/me', '/api/users/me', '/api/users', '/api/users/{id}', '/api/sessions', '/api/sessions/{id}']) {
    t.ok(doc.paths[path], path)
  }
  t.same(doc.paths['/api/users'].get.security, [{ bearer: [] }])
  t.notOk(doc.paths['/auth/token'].post.security)
  t.ok(doc.paths['/api/users'].get.responses['403'])
  t.ok(doc.paths['/auth/github'].get.responses['429'])
})

t.test('a wrong method on a known path is a 405 before authentication; HEAD follows GET', async (t) => {
  const analyst = await api.headers('analyst')
  for (const headers of [V1, analyst]) {
    const res = await api.app.inject({ method: 'DELETE', url: '/api/profiles/export', headers })
    t.equal(res.statusCode, 405)
    t.equal(res.headers.allow, 'GET, HEAD')
  }
  t.equal((await api.app.inject({ method: 'GET', url: '/auth/logout' })).statusCode, 405)
  t.equal((await api.app.inject({ method: 'HEAD', url: `/api/profiles/${SAMPLE_ID}`, headers: analyst })).statusCode, 404)
  t.equal((await api.app.inject({ method: 'HEAD', url: `/api/profiles/${SAMPLE_ID}`, headers: V1 })).statusCode, 401)
  t.equal((await api.app.inject({ method: 'HEAD', url: '/api/users', headers: analyst })).statusCode, 403)
})
