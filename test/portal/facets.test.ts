/**
 * The facets side panel on Profiles and Search (issue 15, Datasette-style): counts per value from
 * the API, each value a link that toggles that filter in the URL (only set fields, page 1 again).
 * Page logic against the scriptable fake API; the counts end to end against the real API.
 */
import t from 'tap'
import { buildFakePortal, buildTestPortal } from './helpers.ts'

t.setTimeout(300_000)

const portal = await buildFakePortal(t)
const who = await portal.signIn('octo-analyst')

/** [label, count, href, active] of every facet value on the page, in order. */
function facetLinks(body: string, field: string): [string, string, string, boolean][] {
  const section = new RegExp(`<section class="facet" aria-labelledby="facet-${field}">([\\s\\S]*?)</section>`).exec(body)?.[1] ?? ''
  return [...section.matchAll(/<a class="facet__value( facet__value--active)?" href="([^"]*)"[^>]*><span class="facet__label">([^<]*)<\/span> <span class="facet__count">([^<]*)<\/span>/g)].map((m) => [
    m[3],
    m[4],
    m[2].replace(/&amp;/g, '&'),
    m[1] !== undefined,
  ])
}

t.test('profiles: the panel lists counts per value; a value adds its filter to the URL', async (t) => {
  const res = await portal.get('/profiles', who)
  t.equal(res.statusCode, 200)
  t.match(portal.fake.lastUrls.get('/api/profiles'), /facets=gender%2Cage_group%2Ccountry_id/, 'asked of the API')
  t.match(res.body, /<aside class="facets" aria-labelledby="facets-title">/)
  t.same(facetLinks(res.body, 'gender'), [
    ['Male', '7', '/profiles?gender=male', false],
    ['Female', '5', '/profiles?gender=female', false],
  ])
  t.same(facetLinks(res.body, 'age_group'), [
    ['Adult', '9', '/profiles?age_group=adult', false],
    ['Senior', '3', '/profiles?age_group=senior', false],
  ], 'a value with no profiles is left out')
  t.same(facetLinks(res.body, 'country_id')[1], ['Ghana &lt;b&gt;', '4', '/profiles?country_id=GH', false], 'the label is escaped')
})

t.test('toggling keeps the other filters and the sorting, drops the page, removes an active value', async (t) => {
  const res = await portal.get('/profiles?gender=male&country_id=GH&sort_by=age&order=desc&page=3&limit=20', who)
  t.equal(res.statusCode, 200)
  t.same(facetLinks(res.body, 'gender'), [
    ['Male', '7', '/profiles?country_id=GH&sort_by=age&order=desc&limit=20', true],
    ['Female', '5', '/profiles?gender=female&country_id=GH&sort_by=age&order=desc&limit=20', false],
  ])
  t.same(facetLinks(res.body, 'age_group')[0], ['Adult', '9', '/profiles?gender=male&age_group=adult&country_id=GH&sort_by=age&order=desc&limit=20', false])
  t.match(res.body, /aria-current="true"><span class="facet__label">Male/)
  t.match(res.body, /selected: remove this filter/)
  const follow = await portal.get(facetLinks(res.body, 'gender')[1][2], who)
  t.equal(follow.statusCode, 200, 'a facet link is a valid page')
  t.match(portal.fake.lastUrls.get('/api/profiles'), /gender=female&country_id=GH/)
})

t.test('search: facets refine what was understood, on the Profiles page', async (t) => {
  portal.fake.interpreted = { filter: { gender: 'male', country_id: 'NG' }, ignored_words: [] }
  const res = await portal.get('/search?q=men+from+nigeria&sort_by=name', who)
  t.equal(res.statusCode, 200)
  t.same(facetLinks(res.body, 'gender')[0], ['Male', '7', '/profiles?country_id=NG&sort_by=name', true])
  t.same(facetLinks(res.body, 'age_group')[1], ['Senior', '3', '/profiles?gender=male&age_group=senior&country_id=NG&sort_by=name', false])
})

t.test('an invalid filter shows the form, not a panel', async (t) => {
  const res = await portal.get('/profiles?gender=robot', who)
  t.equal(res.statusCode, 422)
  t.notMatch(res.body, /class="facets"/)
})

t.test('against the real API: the counts add up to the total', async (t) => {
  const real = await buildTestPortal(t)
  const analyst = await real.signIn('analyst')
  const res = await real.get('/profiles?country_id=NG', analyst)
  t.equal(res.statusCode, 200)
  const total = Number(/of ([\d,]+) profiles/.exec(res.body)?.[1].replace(/,/g, ''))
  const genders = facetLinks(res.body, 'gender')
  t.equal(genders.length, 2)
  t.equal(genders.reduce((sum, g) => sum + Number(g[1].replace(/,/g, '')), 0), total, 'male + female = the total')
  const nigeria = facetLinks(res.body, 'country_id')
  t.same(nigeria.map((c) => [c[0], c[2], c[3]]), [['Nigeria', '/profiles', true]], 'the one country, active; its link removes it')
  const male = await real.get(genders.find((g) => g[0] === 'Male')?.[2] ?? '', analyst)
  t.match(male.body, new RegExp(`of ${genders.find((g) => g[0] === 'Male')?.[1]} profiles`), 'following a value shows that many')
})
