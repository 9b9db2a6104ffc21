/**
 * The search page reads how its query was understood from the API's `interpreted` (issue 15):
 * chips for the filter, the ignored words, and the API's own examples for a query it cannot read.
 * Against the scriptable fake API, so the portal's page is shown to do no parsing of its own.
 */
import t from 'tap'
import { buildFakePortal } from './helpers.ts'

t.setTimeout(300_000)

const portal = await buildFakePortal(t)
const who = await portal.signIn('octo-analyst')

t.afterEach(() => {
  portal.fake.interpreted = { filter: { gender: 'male', country_id: 'NG' }, ignored_words: [] }
})

const chipsOf = (body: string) => [...body.matchAll(/<li class="chip">([^<]+) <a class="chip__remove" href="([^"]+)"/g)].map((m) => [m[1].trim(), m[2].replace(/&amp;/g, '&')])

t.test('chips come from the API’s interpreted filter, whatever the words were', async (t) => {
  // A query the portal's own parser would read differently: the chips must follow the API.
  portal.fake.interpreted = { filter: { gender: 'female', age_group: 'senior', min_age: 70 }, ignored_words: [] }
  const res = await portal.get('/search?q=young+males+from+nigeria', who)
  t.equal(res.statusCode, 200)
  t.same(chipsOf(res.body), [
    ['Gender: female', '/profiles?age_group=senior&min_age=70'],
    ['Age group: senior (60+)', '/profiles?gender=female&min_age=70'],
    ['Age ≥ 70', '/profiles?gender=female&age_group=senior'],
  ])
  t.match(portal.fake.lastUrls.get('/api/profiles/search'), /[?&]q=young\+males\+from\+nigeria/, 'the query goes to the API as typed')
  t.match(res.body, /href="\/profiles\?gender=female&amp;age_group=senior&amp;min_age=70">Refine with filters/)
  t.notMatch(res.body, /id="ignored-words"/, 'no ignored words, no line')
})

t.test('ignored words are shown, escaped', async (t) => {
  portal.fake.interpreted = { filter: { gender: 'male' }, ignored_words: ['please', '<b>show</b>'] }
  const res = await portal.get('/search?q=please+show+men', who)
  t.match(res.body, /id="ignored-words">Ignored: <span class="ignored-word">please<\/span> <span class="ignored-word">&lt;b&gt;show&lt;\/b&gt;<\/span>/)
  t.notMatch(res.body, /<b>show<\/b>/)
})

t.test('an uninterpretable query shows the API’s examples as links', async (t) => {
  portal.fake.interpreted = undefined
  const res = await portal.get('/search?q=what+is+the+weather', who)
  t.equal(res.statusCode, 200)
  t.match(res.body, /id="unable-title">Unable to interpret query/)
  const links = [...res.body.matchAll(/<li><a href="(\/search\?q=[^"]+)">([^<]+)<\/a><\/li>/g)].map((m) => [m[1].replace(/&amp;/g, '&'), m[2]])
  t.same(links, [
    ['/search?q=women+in+kenya', 'women in kenya'],
    ['/search?q=young+males+from+nigeria', 'young males from nigeria'],
    ['/search?q=seniors+%3Cfrom%3E+%22ghana%22', 'seniors &lt;from&gt; &#34;ghana&#34;'],
  ], 'the examples the API sent, escaped, each a search link')
  t.notMatch(res.body, /<table class="data-table">/)
})

t.test('the portal asks the API for facets with the search', async (t) => {
  await portal.get('/search?q=men', who)
  t.match(portal.fake.lastUrls.get('/api/profiles/search'), /facets=gender%2Cage_group%2Ccountry_id/)
})
