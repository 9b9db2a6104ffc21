/**
 * Personal access tokens in the portal (issue 14), against the scriptable fake API: Account →
 * Tokens (list, create with the secret shown once, revoke), sign out everywhere with and without
 * revoking tokens, and the admin's view of a user's tokens.
 */
import t from 'tap'
import { buildFakePortal, buildTestPortal, cookieHeaderFrom } from './helpers.ts'

t.setTimeout(300_000)

const portal = await buildFakePortal(t)
const [adminUser, analystUser] = portal.fake.users

type Res = Awaited<ReturnType<typeof portal.get>>

/** Follows a redirect with the flash cookie it set; returns the page. */
function follow(res: Res, who: { cookie: string }): Promise<Res> {
  return portal.get(String(res.headers.location), undefined, { cookie: cookieHeaderFrom(res, who) })
}
const flashOf = (page: Res) => /<div class="flash flash--(\w+)"[^>]*>\s*<p>([^<]*)<\/p>/.exec(page.body)?.slice(1).join(': ') ?? '(no flash)'

t.beforeEach(() => {
  portal.fake.tokens.clear()
})

t.test('create: the secret once, with a copy hint; then listed without it', async (t) => {
  const who = await portal.signIn('octo-analyst')
  const empty = await portal.get('/account/tokens', who)
  t.equal(empty.statusCode, 200)
  t.match(empty.body, /No personal access tokens/)
  t.match(empty.body, /name="scope" value="read" checked/)
  t.notMatch(empty.body, /name="scope" value="admin"/, 'admin scope is not offered to an analyst')

  const res = await portal.post('/account/tokens', { name: 'CI <main>', expires_in_days: '30', scope: 'read' }, who)
  t.equal(res.statusCode, 303)
  t.equal(res.headers.location, '/account/tokens')
  const sent = [...portal.fake.tokens.values()][0]
  t.same({ name: sent.name, scopes: sent.scopes }, { name: 'CI <main>', scopes: ['read'] }, 'sent to the API as JSON')
  const page = await follow(res, who)
  t.match(flashOf(page), /success: Created the token “CI &lt;main&gt;”/)
  const secret = /id="token-secret" class="token-secret__value" type="text" readonly value="(insighta_pat_[A-Za-z0-9_-]+)"/.exec(page.body)?.[1]
  t.ok(secret, 'the secret is on the page')
  t.match(page.body, /shown only this once/)
  t.match(page.body, /copy it/i)
  t.match(page.body, /<th scope="row" class="token-name">CI &lt;main&gt;<\/th>/, 'listed, escaped')
  t.match(page.body, /Never/, 'not used yet')

  const later = await portal.get('/account/tokens', undefined, { cookie: cookieHeaderFrom(page, { cookie: cookieHeaderFrom(res, who) }) })
  t.notMatch(later.body, /insighta_pat_[A-Za-z0-9]/, 'the next view no longer shows the secret')
  const plain = await portal.get('/account/tokens', who)
  t.notMatch(plain.body, /insighta_pat_[A-Za-z0-9]/)
})

t.test('last used: when and from where', async (t) => {
  const who = await portal.signIn('octo-analyst')
  await portal.post('/account/tokens', { name: 'laptop', expires_in_days: '7', scope: 'read' }, who)
  const token = [...portal.fake.tokens.values()][0]
  Object.assign(token, { last_used_at: '2026-12-01T10:00:00Z', last_used_ip: '198.51.100.4', last_used_user_agent: 'curl/8.5.0', expired: true })
  const page = await portal.get('/account/tokens', who)
  t.match(page.body, /198\.51\.100\.4/)
  t.match(page.body, /title="curl\/8\.5\.0"/)
  t.match(page.body, /<span class="badge">expired<\/span>/)
})

t.test('admin scope for admins; bad input gets the form back with a message', async (t) => {
  const admin = await portal.signIn('octo-admin')
  t.match((await portal.get('/account/tokens', admin)).body, /name="scope" value="admin"/)
  const ok = await portal.post('/account/tokens', { name: 'ops', expires_in_days: '90', scope: 'admin' }, admin)
  t.match(flashOf(await follow(ok, admin)), /success/)
  t.same([...portal.fake.tokens.values()][0].scopes, ['admin'])

  const analyst = await portal.signIn('octo-analyst')
  const cases: [Record<string, string>, RegExp][] = [
    [{ name: '', expires_in_days: '30', scope: 'read' }, /error: Give the token a name/],
    [{ name: '   ', expires_in_days: '30', scope: 'read' }, /error: Give the token a name/],
    [{ name: 'x\u0000y', expires_in_days: '30', scope: 'read' }, /error: Give the token a name/],
    [{ name: 'x'.repeat(101), expires_in_days: '30', scope: 'read' }, /error: Give the token a name/],
    [{ name: 'ok', expires_in_days: 'thirty', scope: 'read' }, /error: Expiry is a whole number of days/],
    [{ name: 'ok', expires_in_days: '30', scope: 'root' }, /error: Choose the scope/],
    [{ name: 'ok', expires_in_days: '0', scope: 'read' }, /error: The token was not created: expires_in_days must be between 1 and 90/],
    [{ name: 'ok', expires_in_days: '365', scope: 'read' }, /error: The token was not created: expires_in_days must be between 1 and 90/],
    [{ name: 'ok', expires_in_days: '30', scope: 'admin' }, /error: The token was not created: Only admins can create admin tokens/],
  ]
  for (const [form, message] of cases) {
    const res = await portal.post('/account/tokens', form, analyst)
    t.equal(res.statusCode, 303)
    const page = await follow(res, analyst)
    t.match(flashOf(page), message, JSON.stringify(form).slice(0, 60))
  }
  const kept = await follow(await portal.post('/account/tokens', { name: 'keep me', expires_in_days: 'x', scope: 'read' }, analyst), analyst)
  t.match(kept.body, /id="token-name" name="name"[^>]*value="keep me"/, 'what was typed is kept')
  await portal.post('/account/tokens', { name: 'dup', expires_in_days: '30', scope: 'read' }, analyst)
  const dup = await portal.post('/account/tokens', { name: 'dup', expires_in_days: '30', scope: 'read' }, analyst)
  t.match(flashOf(await follow(dup, analyst)), /error: The token was not created: A token with that name already exists/)
  t.equal((await portal.post('/account/tokens', { name: 'no csrf', expires_in_days: '30', scope: 'read' }, analyst, { csrf: null })).statusCode, 403)
})

t.test('revoke: POST with CSRF, then gone; twice is explained; a bad id is 404', async (t) => {
  const who = await portal.signIn('octo-analyst')
  await portal.post('/account/tokens', { name: 'old', expires_in_days: '30', scope: 'read' }, who)
  const id = [...portal.fake.tokens.keys()][0]
  const page = await portal.get('/account/tokens', who)
  t.match(page.body, new RegExp(`action="/account/tokens/${id}/revoke"[^>]*>\\s*<input type="hidden" name="_csrf" value="${who.csrf}">`))
  t.equal((await portal.post(`/account/tokens/${id}/revoke`, {}, who, { csrf: 'nope' })).statusCode, 403)
  t.ok(portal.fake.tokens.has(id), 'not revoked without the token')
  const res = await portal.post(`/account/tokens/${id}/revoke`, {}, who)
  t.match(flashOf(await follow(res, who)), /success: Token revoked/)
  t.notOk(portal.fake.tokens.has(id))
  const again = await portal.post(`/account/tokens/${id}/revoke`, {}, who)
  t.match(flashOf(await follow(again, who)), /info: That token had already been revoked/)
  t.equal((await portal.post('/account/tokens/not-a-uuid/revoke', {}, who)).statusCode, 404)
})

t.test('another user’s token cannot be revoked from Account → Tokens', async (t) => {
  const admin = await portal.signIn('octo-admin')
  await portal.post('/account/tokens', { name: 'admin-only', expires_in_days: '30', scope: 'read' }, admin)
  const id = [...portal.fake.tokens.keys()][0]
  const analyst = await portal.signIn('octo-analyst')
  const res = await portal.post(`/account/tokens/${id}/revoke`, {}, analyst)
  t.match(flashOf(await follow(res, analyst)), /info: That token had already been revoked/)
  t.ok(portal.fake.tokens.has(id))
})

t.test('sign out everywhere: says what happens to tokens, revokes them only when asked', async (t) => {
  const who = await portal.signIn('octo-analyst')
  const account = await portal.get('/account', who)
  t.match(account.body, /Personal access tokens are not sessions: they keep working unless you tick the box/)
  t.match(account.body, /<input type="checkbox" name="revoke_tokens" value="1">/)

  await portal.post('/account/tokens', { name: 'ci', expires_in_days: '30', scope: 'read' }, who)
  const kept = await portal.post('/account/sign-out-everywhere', {}, who)
  t.equal(kept.headers.location, '/login?signed_out=tokens-kept')
  t.equal(portal.fake.tokens.size, 1, 'the token survives')
  t.match((await portal.get('/login?signed_out=tokens-kept')).body, /Your personal access tokens still work until they expire or you revoke them/)

  const again = await portal.signIn('octo-analyst')
  const res = await portal.post('/account/sign-out-everywhere', { revoke_tokens: '1' }, again)
  t.equal(res.headers.location, '/login?signed_out=with-tokens')
  t.equal(portal.fake.tokens.size, 0, 'revoked with the sessions')
  t.match((await portal.get('/login?signed_out=with-tokens')).body, /and your personal access tokens were revoked/)
  t.equal((await portal.get('/', again)).statusCode, 303, 'signed out')

  const odd = await portal.signIn('octo-analyst')
  const bad = await portal.post('/account/sign-out-everywhere', { revoke_tokens: 'yes please' }, odd)
  t.equal(bad.headers.location, '/login?signed_out=everywhere', 'an odd value does not revoke tokens, and the sign-out still happens')
})

t.test('admin: a user’s tokens from the Users page, and revoking one', async (t) => {
  const analyst = await portal.signIn('octo-analyst')
  await portal.post('/account/tokens', { name: 'analyst ci', expires_in_days: '30', scope: 'read' }, analyst)
  const id = [...portal.fake.tokens.keys()][0]
  const admin = await portal.signIn('octo-admin')
  const users = await portal.get('/admin/users', admin)
  t.match(users.body, new RegExp(`href="/admin/users/${analystUser.id}/tokens"`))
  const page = await portal.get(`/admin/users/${analystUser.id}/tokens`, admin)
  t.equal(page.statusCode, 200)
  t.match(page.body, /Tokens of octo-analyst/)
  t.match(page.body, /analyst ci/)
  const res = await portal.post(`/admin/users/${analystUser.id}/tokens/${id}/revoke`, {}, admin)
  t.equal(res.headers.location, `/admin/users/${analystUser.id}/tokens`)
  t.match(flashOf(await follow(res, admin)), /success: Token revoked/)
  t.notOk(portal.fake.tokens.has(id))
  t.match((await portal.get(`/admin/users/${adminUser.id}/tokens`, admin)).body, /No personal access tokens/)
  t.equal((await portal.get('/admin/users/0193aaaa-0000-7000-8000-000000000000/tokens', admin)).statusCode, 404, 'unknown user')
  t.equal((await portal.get('/admin/users/..%2F/tokens', admin)).statusCode, 404)
  t.equal((await portal.get(`/admin/users/${analystUser.id}/tokens`, analyst)).statusCode, 403, 'analysts may not')
  t.equal((await portal.post(`/admin/users/${analystUser.id}/tokens/${id}/revoke`, {}, analyst)).statusCode, 403)
})

t.test('against the real API: create, the secret works once shown, revoke', async (t) => {
  const real = await buildTestPortal(t)
  const analyst = await real.signIn('analyst')
  const res = await real.post('/account/tokens', { name: 'real ci', expires_in_days: '30', scope: 'read' }, analyst)
  t.equal(res.statusCode, 303)
  const page = await real.get(String(res.headers.location), undefined, { cookie: cookieHeaderFrom(res, analyst) })
  const secret = /id="token-secret" class="token-secret__value" type="text" readonly value="(insighta_pat_[^"]+)"/.exec(page.body)?.[1] ?? ''
  t.match(secret, /^insighta_pat_/)
  t.match(page.body, /<th scope="row" class="token-name">real ci<\/th>/)
  const me = await fetch(`${real.apiUrl}/api/users/me`, { headers: { authorization: `Bearer ${secret}` } })
  t.equal(me.status, 200, 'the token works against the API')
  const over = await real.post('/account/tokens', { name: 'too long', expires_in_days: '1000', scope: 'read' }, analyst)
  const refused = await real.get(String(over.headers.location), undefined, { cookie: cookieHeaderFrom(over, analyst) })
  t.match(flashOf(refused), /error: The token was not created: /, 'the API’s maximum, in its words')
  const admin = await real.post('/account/tokens', { name: 'sneaky', expires_in_days: '30', scope: 'admin' }, analyst)
  const forbidden = await real.get(String(admin.headers.location), undefined, { cookie: cookieHeaderFrom(admin, analyst) })
  t.match(flashOf(forbidden), /error: The token was not created: /, 'an analyst cannot get an admin token')
  const id = /action="\/account\/tokens\/([0-9a-f-]{36})\/revoke"/.exec(page.body)?.[1] ?? ''
  const revoked = await real.post(`/account/tokens/${id}/revoke`, {}, analyst)
  t.equal(revoked.statusCode, 303)
  const after = await fetch(`${real.apiUrl}/api/users/me`, { headers: { authorization: `Bearer ${secret}` } })
  t.equal(after.status, 401, 'revoked: refused at once')
})
