/**
 * The facets side panel on Profiles and Search (issue 15, Datasette-style): counts per value from
 * the API, each value a link that toggles that value within the field's either-or list in the URL
 * (canonical lists, only set fields, page 1 again, no cursor). Page logic against the scriptable
 * fake API; counts and toggling end to end against the real API.
 */
import t from 'tap'
import { buildFakePortal, buildTestPortal } from './helpers.ts'

t.setTimeout(300_000)

const portal = await buildFakePortal(t)
const who = await portal.signIn('octo-analyst')

/** [label, count, href, active] of every facet value on the page, in order. */
function facetLinks(body: string, field: string): [string, string, string, boolean][] {
  const section = new RegExp(`<section class="facet" aria-labelledby="facet-${field}">([\\s\\S]*?)</section>`).exec(body)?.[1] ?? ''
  return [
    ...section.matchAll(
      /<a class="facet__value( facet__value--active)?" href="([^"]*)"[^>]*><span class="facet__label">(?:<span class="facet__check" aria-hidden="true">✓ <\/span>)?([^<]*)<\/span> <span class="facet__count">([^<]*)<\/span>/g,
    ),
  ].map((m) => [
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

t.test('toggling keeps the other filters and the sorting, drops the page and the cursor, removes an active value', async (t) => {
  const res = await portal.get('/profiles?gender=male&country_id=GH&sort_by=age&order=desc&page=3&limit=20', who)
  t.equal(res.statusCode, 200)
  t.same(facetLinks(res.body, 'gender'), [
    ['Male', '7', '/profiles?country_id=GH&sort_by=age&order=desc&limit=20', true],
    ['Female', '5', '/profiles?country_id=GH&sort_by=age&order=desc&limit=20', false],
  ], 'male or female is every gender: no gender filter (the canonical form)')
  t.same(facetLinks(res.body, 'age_group')[0], ['Adult', '9', '/profiles?gender=male&age_group=adult&country_id=GH&sort_by=age&order=desc&limit=20', false])
  t.same(facetLinks(res.body, 'country_id'), [
    ['Nigeria', '8', '/profiles?gender=male&country_id=GH,NG&sort_by=age&order=desc&limit=20', false],
    ['Ghana &lt;b&gt;', '4', '/profiles?gender=male&sort_by=age&order=desc&limit=20', true],
  ], 'NG joins GH in the list (alphabetical); GH again removes it')
  t.match(res.body, /aria-current="true"><span class="facet__label"><span class="facet__check" aria-hidden="true">✓ <\/span>Male/, 'a selected value has a checkmark')
  t.match(res.body, /selected: click to remove it from the filter/)
  t.match(res.body, /click to add it: either of the selected/)
  t.ok(portal.fake.urls.some((u) => /^\/api\/profiles\?country_id=GH&limit=1&facets=gender$/.test(u)), 'gender counted without the gender filter', { urls: portal.fake.urls })
  t.ok(portal.fake.urls.some((u) => /^\/api\/profiles\?gender=male&limit=1&facets=country_id$/.test(u)), 'countries counted without the country filter')
  const follow = await portal.get(facetLinks(res.body, 'country_id')[0][2], who)
  t.equal(follow.statusCode, 200, 'a facet link is a valid page')
  t.ok(portal.fake.urls.some((u) => /^\/api\/profiles\?gender=male&country_id=GH%2CNG&sort_by=age&order=desc&page=1&limit=20&facets=/.test(u)), 'the list sent to the API')
  t.same(facetLinks(follow.body, 'country_id').map((c) => c[3]), [true, true], 'both selected')
  t.match(follow.body, /<option value="GH,NG" selected>Ghana or Nigeria<\/option>/, 'the form keeps the list')
})

t.test('search: facets refine what was understood, on the Profiles page', async (t) => {
  portal.fake.interpreted = { filter: { gender: 'male', country_id: 'NG' }, ignored_words: [] }
  const res = await portal.get('/search?q=men+from+nigeria&sort_by=name', who)
  t.equal(res.statusCode, 200)
  t.same(facetLinks(res.body, 'gender')[0], ['Male', '7', '/profiles?country_id=NG&sort_by=name', true])
  t.same(facetLinks(res.body, 'age_group')[1], ['Senior', '3', '/profiles?gender=male&age_group=senior&country_id=NG&sort_by=name', false])
  t.same(facetLinks(res.body, 'country_id')[1], ['Ghana &lt;b&gt;', '4', '/profiles?gender=male&country_id=GH,NG&sort_by=name', false])
})

t.test('an invalid filter shows the form, not a panel', async (t) => {
  const res = await portal.get('/profiles?gender=robot', who)
  t.equal(res.statusCode, 422)
  t.notMatch(res.body, /class="facets"/)
})

t.test('against the real API: counts add up, a value joins or leaves the either-or list, the last one clears the filter', async (t) => {
  const real = await buildTestPortal(t)
  const analyst = await real.signIn('analyst')
  const totalOf = (body: string) => Number(/of ([\d,]+) profiles/.exec(body)?.[1].replace(/,/g, ''))
  const res = await real.get('/profiles?country_id=NG&page=2', analyst)
  t.equal(res.statusCode, 200)
  const total = totalOf(res.body)
  t.equal(total, 123)
  const genders = facetLinks(res.body, 'gender')
  t.equal(genders.length, 2)
  t.equal(genders.reduce((sum, g) => sum + Number(g[1].replace(/,/g, '')), 0), total, 'male + female = the total')

  const countries = facetLinks(res.body, 'country_id')
  t.equal(countries.length, 20, 'the top countries without the country filter, to add one')
  const nigeria = countries.find((c) => c[0] === 'Nigeria')
  t.same(nigeria && [nigeria[1], nigeria[2], nigeria[3]], ['123', '/profiles', true], 'Nigeria selected, its count; its link clears the filter')
  const ghana = countries.find((c) => c[0] === 'Ghana')
  t.ok(ghana, 'Ghana is offered')
  t.same(ghana && [ghana[2], ghana[3]], ['/profiles?country_id=GH,NG', false], 'clicking it gives either country, page 1')
  t.ok(countries.filter((c) => !c[3]).every((c) => /^\/profiles\?country_id=[A-Z]{2},[A-Z]{2}$/.test(c[2]) && c[2].includes('NG')), 'every other value joins NG')

  const both = await real.get(ghana?.[2] ?? '', analyst)
  t.equal(both.statusCode, 200)
  t.equal(totalOf(both.body), total + Number(ghana?.[1].replace(/,/g, '')), 'either: the two counts together')
  const selected = facetLinks(both.body, 'country_id').filter((c) => c[3])
  t.same(selected.map((c) => [c[0], c[2]]), [['Nigeria', '/profiles?country_id=GH'], ['Ghana', '/profiles?country_id=NG']], 'both shown selected; each link removes only itself')
  t.match(both.body, /<option value="GH,NG" selected>Ghana or Nigeria<\/option>/, 'the filter form keeps the list')

  const back = await real.get(selected[0][2], analyst)
  t.equal(totalOf(back.body), Number(ghana?.[1].replace(/,/g, '')), 'Nigeria removed: Ghana alone')
  const cleared = await real.get(facetLinks(back.body, 'country_id').find((c) => c[3])?.[2] ?? '', analyst)
  t.equal(totalOf(cleared.body), 2026, 'the last one removed: no country filter at all')

  const male = await real.get(genders.find((g) => g[0] === 'Male')?.[2] ?? '', analyst)
  t.match(male.body, new RegExp(`of ${genders.find((g) => g[0] === 'Male')?.[1]} profiles`), 'following a value shows that many')
  const groups = facetLinks(male.body, 'age_group')
  const adult = groups.find((g) => g[0] === 'Adult')
  t.match(adult?.[2], /^\/profiles\?gender=male&age_group=adult&country_id=NG$/)
  const adults = await real.get(adult?.[2] ?? '', analyst)
  const senior = facetLinks(adults.body, 'age_group').find((g) => g[0] === 'Senior')
  t.equal(senior?.[2], '/profiles?gender=male&age_group=adult,senior&country_id=NG', 'age groups in the contract’s order')
})
