/**
 * CSRF: one global hook on every unsafe request (Origin / Sec-Fetch-Site, then the session-bound
 * token), tested on every form the portal has.
 */
import t from 'tap'
import { buildFakePortal, PORTAL_ORIGIN } from './helpers.ts'

// Real HTTP and a real database on a shared CI machine: allow more than the default 120 s.
t.setTimeout(300_000)

const portal = await buildFakePortal(t)
const admin = await portal.signIn('octo-admin')
const targetUser = portal.fake.users[1]

const FORMS: [string, Record<string, string>][] = [
  ['/profiles', { name: 'Forged' }],
  ['/profiles/01936f3e-0000-7000-8000-000000000001/delete', {}],
  ['/logout', {}],
  ['/account/sign-out-everywhere', {}],
  [`/account/sessions/${admin.sessionId}/revoke`, {}],
  [`/admin/users/${targetUser.id}/role`, { role: 'admin' }],
  [`/admin/users/${targetUser.id}/status`, { is_active: 'false' }],
]

t.test('a missing or wrong token is refused on every form, and nothing reaches the API', async (t) => {
  for (const [url, form] of FORMS) {
    portal.fake.calls.length = 0
    const missing = await portal.post(url, form, admin, { csrf: null })
    t.equal(missing.statusCode, 403, `${url} without a token`)
    t.match(missing.body, /This form has expired or was sent from another site/)
    const wrong = await portal.post(url, form, admin, { csrf: 'x'.repeat(43) })
    t.equal(wrong.statusCode, 403, `${url} with a wrong token`)
    const other = await portal.signIn('octo-analyst')
    const foreign = await portal.post(url, form, admin, { csrf: other.csrf })
    t.equal(foreign.statusCode, 403, `${url} with another session's token`)
    t.same(portal.fake.calls.filter((c) => !c.startsWith('GET /auth/me')), [], `${url}: the API saw nothing`)
  }
  t.equal(targetUser.role, 'analyst', 'no role changed')
  t.equal(targetUser.is_active, true, 'nobody suspended')
})

t.test('a cross-site Origin or Sec-Fetch-Site is refused even with the right token', async (t) => {
  for (const [url, form] of FORMS) {
    const evil = await portal.post(url, form, admin, { headers: { origin: 'https://evil.example' } })
    t.equal(evil.statusCode, 403, `${url} from evil.example`)
    const nullOrigin = await portal.post(url, form, admin, { headers: { origin: 'null' } })
    t.equal(nullOrigin.statusCode, 403, `${url} from an opaque origin`)
    const site = await portal.app.inject({
      method: 'POST',
      url,
      headers: { cookie: admin.cookie, 'content-type': 'application/x-www-form-urlencoded', 'sec-fetch-site': 'cross-site' },
      payload: new URLSearchParams({ ...form, _csrf: admin.csrf }).toString(),
    })
    t.equal(site.statusCode, 403, `${url} with Sec-Fetch-Site: cross-site`)
  }
  const otherPort = await portal.post('/profiles', { name: 'x' }, admin, { headers: { origin: 'http://localhost:9999' } })
  t.equal(otherPort.statusCode, 403, 'another port is another origin')
})

t.test('a same-origin request with the right token passes (Origin, Sec-Fetch-Site, or neither)', async (t) => {
  const viaOrigin = await portal.post(`/admin/users/${targetUser.id}/role`, { role: 'admin', username: 'octo-analyst' }, admin)
  t.equal(viaOrigin.statusCode, 303)
  t.equal(targetUser.role, 'admin')
  const viaFetchSite = await portal.app.inject({
    method: 'POST',
    url: `/admin/users/${targetUser.id}/role`,
    headers: { cookie: admin.cookie, 'content-type': 'application/x-www-form-urlencoded', 'sec-fetch-site': 'same-origin' },
    payload: new URLSearchParams({ role: 'analyst', _csrf: admin.csrf }).toString(),
  })
  t.equal(viaFetchSite.statusCode, 303)
  t.equal(targetUser.role, 'analyst')
  const neither = await portal.app.inject({
    method: 'POST',
    url: `/admin/users/${targetUser.id}/role`,
    headers: { cookie: admin.cookie, 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({ role: 'analyst', _csrf: admin.csrf }).toString(),
  })
  t.equal(neither.statusCode, 303, 'a non-browser client with the token')
  const header = await portal.app.inject({
    method: 'POST',
    url: `/admin/users/${targetUser.id}/role`,
    headers: { cookie: admin.cookie, 'content-type': 'application/x-www-form-urlencoded', origin: PORTAL_ORIGIN, 'x-csrf-token': admin.csrf },
    payload: 'role=analyst',
  })
  t.equal(header.statusCode, 303, 'the token in the X-CSRF-Token header')
})

t.test('other content types are covered by the same hook', async (t) => {
  const json = await portal.app.inject({
    method: 'POST',
    url: '/profiles',
    headers: { cookie: admin.cookie, 'content-type': 'application/json', origin: PORTAL_ORIGIN },
    payload: JSON.stringify({ name: 'Json Forgery' }),
  })
  t.equal(json.statusCode, 403, 'JSON without a token')
  const text = await portal.app.inject({
    method: 'POST',
    url: '/profiles',
    headers: { cookie: admin.cookie, 'content-type': 'text/plain', origin: 'https://evil.example' },
    payload: 'name=x',
  })
  t.equal(text.statusCode, 403, 'text/plain from another site')
  for (const method of ['PUT', 'PATCH', 'DELETE'] as const) {
    const res = await portal.app.inject({ method, url: '/profiles', headers: { cookie: admin.cookie, origin: 'https://evil.example' } })
    t.equal(res.statusCode, 403, `${method} from another site`)
  }
})

t.test('starting a sign-in needs a same-origin signal (there is no session to bind a token to)', async (t) => {
  const noSignal = await portal.app.inject({ method: 'POST', url: '/auth/login' })
  t.equal(noSignal.statusCode, 403)
  const cross = await portal.app.inject({ method: 'POST', url: '/auth/login', headers: { origin: 'https://evil.example' } })
  t.equal(cross.statusCode, 403)
  const same = await portal.app.inject({ method: 'POST', url: '/auth/login', headers: { 'sec-fetch-site': 'same-origin' } })
  t.equal(same.statusCode, 200)
})
