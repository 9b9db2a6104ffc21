/**
 * Saved searches in the portal (issue 15), against the scriptable fake API: save the current filter
 * or query from Profiles and Search, list them (nav, list page, dashboard), run and share one by its
 * portal URL, delete one; bad input and API refusals get a clear message.
 */
import t from 'tap'
import { buildFakePortal, cookieHeaderFrom, PORTAL_ORIGIN } from './helpers.ts'

t.setTimeout(300_000)

const portal = await buildFakePortal(t)
type Res = Awaited<ReturnType<typeof portal.get>>
const follow = (res: Res, who: { cookie: string }) => portal.get(String(res.headers.location), undefined, { cookie: cookieHeaderFrom(res, who) })
const flashOf = (page: Res) => /<div class="flash flash--(\w+)"[^>]*>\s*<p>([^<]*)<\/p>/.exec(page.body)?.slice(1).join(': ') ?? '(no flash)'
const decode = (s: string) => s.replace(/&amp;/g, '&')

t.beforeEach(() => {
  portal.fake.savedSearches.length = 0
})

t.test('Profiles: a save form with the current filter (only set fields), and back to the page after saving', async (t) => {
  const who = await portal.signIn('octo-analyst')
  const unfiltered = await portal.get('/profiles', who)
  t.notMatch(unfiltered.body, /action="\/saved-searches"/, 'nothing to save without a filter')
  const res = await portal.get('/profiles?gender=male&country_id=NG&sort_by=age&page=2', who)
  const query = /<input type="hidden" name="query" value="([^"]*)">/.exec(res.body)?.[1]
  t.equal(decode(query ?? ''), 'gender=male&country_id=NG&sort_by=age', 'the filter and sorting, not the page')
  t.match(res.body, new RegExp(`action="/saved-searches"[^>]*>\\s*<input type="hidden" name="_csrf" value="${who.csrf}">`))
  const saved = await portal.post('/saved-searches', { name: 'Nigerian men', query: decode(query ?? ''), back: '/profiles?gender=male&country_id=NG&sort_by=age&page=2' }, who)
  t.equal(saved.statusCode, 303)
  t.equal(saved.headers.location, '/profiles?gender=male&country_id=NG&sort_by=age&page=2')
  t.match(flashOf(await follow(saved, who)), /success: Saved “Nigerian men”/)
  t.same(portal.fake.savedSearches.map((s) => [s.name, s.kind, s.query]), [['Nigerian men', 'list', 'gender=male&country_id=NG&sort_by=age']])
})

t.test('Search: saves the query; listed with a run link and a shareable URL; on the dashboard; deleted', async (t) => {
  const who = await portal.signIn('octo-analyst')
  const res = await portal.get('/search?q=young+males+from+nigeria', who)
  const query = decode(/<input type="hidden" name="query" value="([^"]*)">/.exec(res.body)?.[1] ?? '')
  t.equal(query, 'q=young+males+from+nigeria')
  await portal.post('/saved-searches', { name: 'Young <Nigerian> men', query, back: '/search?q=young+males+from+nigeria' }, who)

  const nav = await portal.get('/', who)
  t.match(nav.body, /href="\/saved-searches"[^>]*>Saved</, 'in the navigation')
  t.match(nav.body, /<section class="card saved-searches" aria-labelledby="saved-title">/, 'on the dashboard')
  t.match(nav.body, /<li><a href="\/search\?q=young\+males\+from\+nigeria">Young &lt;Nigerian&gt; men<\/a>/)

  const list = await portal.get('/saved-searches', who)
  t.equal(list.statusCode, 200)
  t.match(list.body, /<a class="saved-run" href="\/search\?q=young\+males\+from\+nigeria">Young &lt;Nigerian&gt; men<\/a>/)
  t.match(list.body, new RegExp(`class="saved-share" type="text" readonly value="${PORTAL_ORIGIN}/search\\?q=young\\+males\\+from\\+nigeria"`), 'an absolute URL to share')
  const run = await portal.get('/search?q=young+males+from+nigeria', who)
  t.equal(run.statusCode, 200, 'running it is the page itself')

  const id = portal.fake.savedSearches[0].id
  t.equal((await portal.post(`/saved-searches/${id}/delete`, {}, who, { csrf: null })).statusCode, 403, 'CSRF')
  const del = await portal.post(`/saved-searches/${id}/delete`, {}, who)
  t.equal(del.headers.location, '/saved-searches')
  t.match(flashOf(await follow(del, who)), /success: Saved search deleted/)
  t.equal(portal.fake.savedSearches.length, 0)
  const again = await portal.post(`/saved-searches/${id}/delete`, {}, who)
  t.match(flashOf(await follow(again, who)), /info: That saved search had already been deleted/)
  t.equal((await portal.post('/saved-searches/nope/delete', {}, who)).statusCode, 404)
  t.match((await portal.get('/saved-searches', who)).body, /No saved searches yet/)
})

t.test('per user: another user sees none of mine', async (t) => {
  const mine = await portal.signIn('octo-analyst')
  await portal.post('/saved-searches', { name: 'mine', query: 'gender=female' }, mine)
  const other = await portal.signIn('octo-admin')
  t.match((await portal.get('/saved-searches', other)).body, /No saved searches yet/)
  const id = portal.fake.savedSearches[0].id
  const res = await portal.post(`/saved-searches/${id}/delete`, {}, other)
  t.match(flashOf(await follow(res, other)), /info: That saved search had already been deleted/)
  t.equal(portal.fake.savedSearches.length, 1)
})

t.test('bad input and refusals: a clear message, back where the visitor was', async (t) => {
  const who = await portal.signIn('octo-analyst')
  const cases: [Record<string, string>, RegExp][] = [
    [{ name: '', query: 'gender=male' }, /error: Give the search a name/],
    [{ name: '  ', query: 'gender=male' }, /error: Give the search a name/],
    [{ name: 'a\u0000b', query: 'gender=male' }, /error: Give the search a name/],
    [{ name: 'x'.repeat(101), query: 'gender=male' }, /error: Give the search a name/],
    [{ name: 'ok', query: 'q=x'.repeat(400) }, /error: That search cannot be saved/],
    [{ name: 'ok', query: 'gender=male\u0007' }, /error: That search cannot be saved/],
    [{ name: 'ok', query: '' }, /error: The search was not saved: Missing or empty query/],
  ]
  for (const [form, message] of cases) {
    const res = await portal.post('/saved-searches', { ...form, back: '/profiles?gender=male' }, who)
    t.equal(res.headers.location, '/profiles?gender=male', 'back to the page')
    t.match(flashOf(await follow(res, who)), message, JSON.stringify(form).slice(0, 50))
  }
  await portal.post('/saved-searches', { name: 'dup', query: 'gender=male' }, who)
  const dup = await portal.post('/saved-searches', { name: 'dup', query: 'gender=female' }, who)
  t.match(flashOf(await follow(dup, who)), /error: The search was not saved: A saved search with that name already exists/)
  for (const back of ['https://evil.example/', '//evil.example', '/auth/login', '/profiles\r\nx']) {
    const res = await portal.post('/saved-searches', { name: `b${back.length}`, query: 'gender=male', back }, who)
    t.equal(res.headers.location, '/saved-searches', `an unsafe way back (${JSON.stringify(back)}) is ignored`)
  }
})
