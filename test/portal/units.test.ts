/**
 * The portal's pure parts: query parsing, chips, pagination windows, chart geometry, sealing,
 * the sign-in return path and the formatters.
 */
import t from 'tap'
import { barChart, dashboardCharts, histogramChart, niceMax } from '../../portal/charts.ts'
import { ariaSort, eitherOrOptions, filterChips, nextOrder, pageParams, pageWindow, withoutEmptyParams, withoutField } from '../../portal/filters.ts'
import { ownFieldQueries, toggled, withOwnFieldCounts } from '../../portal/facets.ts'
import { cursorOf } from '../../portal/table.ts'
import { deviceLabel, formatDateTime, formatProbability, formatShare, href, safeImageUrl } from '../../portal/format.ts'
import { unverifiedClaims } from '../../portal/jwt.ts'
import { navModel } from '../../portal/nav.ts'
import { safeNext } from '../../portal/routes/auth.ts'
import { SecretBox } from '../../portal/secrets.ts'

t.test('withoutEmptyParams: a shareable URL carries only the set fields', async (t) => {
  t.equal(withoutEmptyParams('/profiles?gender=&age_group=adult&max_age=&min_age=%20'), '/profiles?age_group=adult')
  t.equal(withoutEmptyParams('/profiles?gender=&age_group='), '/profiles')
  t.equal(withoutEmptyParams('/profiles?gender=male&q=a+b'), undefined, 'nothing empty: no redirect')
  t.equal(withoutEmptyParams('/profiles'), undefined)
  t.equal(withoutEmptyParams('/search?q=+++&page=2'), '/search?page=2')
})

t.test('chips and removal', async (t) => {
  const filter = { gender: 'male' as const, age_group: 'senior' as const, country_id: 'CI', min_gender_probability: 0.75 }
  t.same(
    filterChips(filter).map((c) => c.label),
    ['Gender: male', 'Age group: senior (60+)', "Country: Côte d'Ivoire", 'Gender confidence ≥ 0.75'],
  )
  t.same(
    filterChips({ age_group: ['child', 'senior'], country_id: ['GH', 'NG'] }).map((c) => c.label),
    ['Age group: child (0–12) or senior (60+)', 'Country: Ghana or Nigeria'],
    'either-or lists read as "or", with names',
  )
  t.same(withoutField(filter, 'gender'), { age_group: 'senior', country_id: 'CI', min_gender_probability: 0.75 })
  t.same(filter.gender, 'male', 'the original is untouched')
})

t.test('sorting helpers', async (t) => {
  t.equal(nextOrder({ page: 1, limit: 10 }, 'created_at'), 'asc', 'default is created_at desc, so a click flips it')
  t.equal(nextOrder({ page: 1, limit: 10 }, 'age'), 'asc')
  t.equal(nextOrder({ page: 1, limit: 10, sort_by: 'age' }, 'age'), 'desc')
  t.equal(ariaSort({ page: 1, limit: 10 }, 'created_at'), 'descending')
  t.equal(ariaSort({ page: 1, limit: 10, sort_by: 'name' }, 'name'), 'ascending')
  t.equal(ariaSort({ page: 1, limit: 10, sort_by: 'name' }, 'age'), 'none')
})

t.test('page windows', async (t) => {
  t.same(pageWindow(1, 1), [])
  t.same(pageWindow(1, 5), [1, 2, 3, 4, 5], 'a gap of one page shows that page')
  t.same(pageWindow(1, 6), [1, 2, 3, null, 6])
  t.same(pageWindow(5, 9), [1, 2, 3, 4, 5, 6, 7, 8, 9], 'never one page behind "…"')
  t.same(pageWindow(50, 203), [1, null, 48, 49, 50, 51, 52, null, 203])
  t.same(pageWindow(203, 203), [1, null, 201, 202, 203])
  t.same(pageWindow(2, 4), [1, 2, 3, 4])
  for (let total = 2; total <= 30; total++) {
    for (let page = 1; page <= total; page++) {
      const w = pageWindow(page, total)
      w.forEach((n, i) => {
        if (n === null) t.ok((w[i + 1] as number) - (w[i - 1] as number) > 2, `page ${page} of ${total}: a gap hides two or more pages`)
      })
    }
  }
})

t.test('chart geometry', async (t) => {
  t.equal(niceMax(0), 1)
  t.equal(niceMax(7), 10)
  t.equal(niceMax(123), 200)
  t.equal(niceMax(500), 500)
  const bars = barChart([{ label: 'A', value: 50 }, { label: 'B', value: 100 }, { label: 'C', value: 0 }], 150, 'letters')
  t.equal(bars.rows[1].width, 280, 'the largest bar fills the plot')
  t.equal(bars.rows[0].width, 140)
  t.equal(bars.rows[2].width, 0)
  t.equal(bars.rows[0].text, '50 (33%)')
  t.match(bars.summary, /Letters: A 50, B 100, C 0\./)
  const long = barChart([{ label: 'Democratic Republic of the Congo', value: 1 }], 1, 'countries')
  t.equal(long.rows[0].shortLabel, 'Democratic Republ…')
  const hist = histogramChart([
    { from: 10, to: 19, count: 5 },
    { from: 40, to: 49, count: 20 },
  ])
  t.same(hist.columns.map((c) => c.label), ['10–19', '20–29', '30–39', '40–49'], 'gaps filled')
  t.same(hist.columns.map((c) => c.value), [5, 0, 0, 20])
  t.equal(hist.ticks[4].label, '20')
  for (const top of [0, 1, 2, 3, 7, 13, 99, 1234]) {
    const labels = histogramChart([{ from: 20, to: 29, count: top }]).ticks.map((tick) => tick.label)
    t.ok(labels.every((l) => /^[\d,]+$/.test(l)) && new Set(labels).size === labels.length, `max ${top}: whole, distinct ticks ${labels.join(' ')}`)
    t.ok(Number(labels[labels.length - 1].replace(/,/g, '')) >= top, 'the axis reaches the largest column')
  }
  t.same(histogramChart([{ from: 20, to: 29, count: 1 }]).ticks.map((tick) => tick.label), ['0', '1'], 'not "0, 0, 1, 1, 1"')
  t.notOk(barChart([{ label: 'Nigeria', value: 5 }], 5, 'countries').informative, 'one bar at 100 % says nothing')
  t.equal(barChart([{ label: 'Nigeria', value: 5 }, { label: 'Ghana', value: 0 }], 5, 'countries').note, 'All 5 profiles: Nigeria.')
  t.ok(bars.informative)
  t.equal(histogramChart([]).columns.length, 0)
  const charts = dashboardCharts({
    total: 0,
    by_gender: { male: 0, female: 0 },
    by_age_group: { child: 0, teenager: 0, adult: 0, senior: 0 },
    by_country: [],
    age_histogram: [],
  })
  t.equal(charts.countries.summary, 'No top countries to show.')
  t.equal(charts.gender.rows[0].text, '0 (0%)')
})

t.test('sealing: authenticated encryption per purpose', async (t) => {
  const box = new SecretBox(Buffer.alloc(32, 7))
  const sealed = box.seal('api-token', 'secret-token')
  t.notOk(sealed.toString('latin1').includes('secret-token'))
  t.equal(box.open('api-token', sealed), 'secret-token')
  t.equal(box.open('flash', sealed), undefined, 'another purpose cannot open it')
  const tampered = Buffer.from(sealed)
  tampered[tampered.length - 1] ^= 1
  t.equal(box.open('api-token', tampered), undefined, 'tampering is detected')
  t.equal(new SecretBox(Buffer.alloc(32, 8)).open('api-token', sealed), undefined, 'another key cannot open it')
  t.not(box.seal('api-token', 'x').toString('hex'), box.seal('api-token', 'x').toString('hex'), 'a fresh IV each time')
  t.same(box.openJson('flash', box.sealJson('flash', { a: 1 })), { a: 1 })
  t.equal(box.openJson('flash', 'not base64url!'), undefined)
  t.equal(box.openJson('flash', undefined), undefined)
  t.throws(() => new SecretBox(Buffer.alloc(16)))
})

t.test('safeNext keeps visitors on this site', async (t) => {
  t.equal(safeNext('/profiles?gender=male'), '/profiles?gender=male')
  for (const bad of ['//evil.example', '/\\evil', 'https://evil.example', 'profiles', '/login?next=x', '/auth/callback', '/x\r\nSet-Cookie: a=b', 42, undefined, `/${'a'.repeat(2000)}`]) {
    t.equal(safeNext(bad), '/', JSON.stringify(bad))
  }
})

t.test('formatters', async (t) => {
  t.equal(formatProbability(0.876), '0.88', 'confidence in its own unit, 0–1')
  t.equal(formatProbability(1), '1.00')
  t.equal(formatProbability(0), '0.00')
  t.equal(formatShare(1, 3), '33%')
  t.equal(formatShare(1, 300), '0.3%')
  t.equal(formatShare(1, 0), '0%')
  t.equal(formatDateTime('2026-11-23T07:05:00Z'), '23 Nov 2026, 07:05 UTC')
  t.equal(formatDateTime(null), '—')
  t.equal(formatDateTime('yesterday'), 'yesterday')
  t.equal(href('/profiles', { a: 'x y', b: undefined, c: '', d: 0 }), '/profiles?a=x+y&d=0')
  t.equal(href('/profiles', {}), '/profiles')
  t.equal(safeImageUrl('https://avatars.example/u/1'), 'https://avatars.example/u/1')
  t.equal(safeImageUrl('javascript:alert(1)'), undefined)
  t.equal(safeImageUrl('http://insecure.example/a.png'), undefined)
  t.equal(deviceLabel('Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36'), 'Chrome on Linux')
  t.equal(deviceLabel('Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) Gecko/20100101 Firefox/128.0'), 'Firefox on macOS')
  t.equal(deviceLabel('insighta/0.1.0 (build-box; linux)'), 'insighta 0.1.0 on build-box')
  t.equal(deviceLabel('insighta-cli/0.1.0 node/20'), 'insighta CLI')
  t.equal(deviceLabel(null), 'Unknown device')
})

t.test('unverifiedClaims reads a JWT payload and nothing else', async (t) => {
  const payload = Buffer.from(JSON.stringify({ sid: 's1', role: 'admin' })).toString('base64url')
  t.same(unverifiedClaims(`x.${payload}.y`), { sid: 's1', role: 'admin' })
  t.same(unverifiedClaims('not-a-jwt'), {})
  t.same(unverifiedClaims('a.!!!.b'), {})
})

t.test('the nav model: role-dependent links and the current page', async (t) => {
  const analyst = { id: 'u1', username: 'octo-analyst', role: 'analyst' as const, email: null, avatar_url: null }
  t.same(navModel(null, '/'), { links: [], user: null }, 'nothing for a visitor who is not signed in')
  const nav = navModel(analyst, '/profiles/0190b6d2-0000-7000-8000-000000000000')
  t.same(nav.links.map((l) => l.label), ['Dashboard', 'Profiles', 'Search', 'Saved', 'Account'])
  t.same(nav.links.filter((l) => l.current).map((l) => l.href), ['/profiles'], 'a profile page is under Profiles')
  t.same(navModel({ ...analyst, role: 'admin' }, '/').links.map((l) => l.label), ['Dashboard', 'Profiles', 'Search', 'Saved', 'Import', 'Users', 'Account'])
  t.same(navModel(analyst, '/').links.filter((l) => l.current).map((l) => l.href), ['/'], 'the dashboard only on itself')
  t.same(navModel(analyst, '/searches').links.filter((l) => l.current), [], 'a prefix is not a parent')
})

t.test('facets: a value toggles within the either-or list, canonically', async (t) => {
  t.same(toggled({ country_id: 'NG' }, 'country_id', 'GH'), { country_id: ['GH', 'NG'] }, 'added, alphabetical')
  t.same(toggled({ country_id: ['GH', 'NG'] }, 'country_id', 'NG'), { country_id: 'GH' }, 'removed; one value alone is a plain value')
  t.same(toggled({ country_id: 'GH', min_age: 20 }, 'country_id', 'GH'), { min_age: 20 }, 'the last one removed: no filter')
  t.same(toggled({ age_group: 'senior' }, 'age_group', 'child'), { age_group: ['child', 'senior'] }, 'age groups in their declared order')
  t.same(toggled({ gender: 'male' }, 'gender', 'female'), {}, 'every gender is no gender filter')
  t.same(toggled({}, 'gender', 'female'), { gender: 'female' })
  t.same(
    ownFieldQueries({ gender: 'male', country_id: ['GH', 'NG'], min_age: 30 }).map((q) => [q.field, q.query]),
    [
      ['gender', { country_id: 'GH,NG', min_age: 30, limit: 1, facets: 'gender' }],
      ['country_id', { gender: 'male', min_age: 30, limit: 1, facets: 'country_id' }],
    ],
    'each selected field counted without itself',
  )
  t.same(
    withOwnFieldCounts(
      { country_id: ['GH', 'ZW'] },
      { gender: [{ value: 'male', count: 3 }], country_id: [{ value: 'GH', label: 'Ghana', count: 2 }, { value: 'ZW', label: 'Zimbabwe', count: 1 }] },
      { country_id: [{ value: 'NG', label: 'Nigeria', count: 9 }, { value: 'GH', label: 'Ghana', count: 2 }] },
    ),
    { gender: [{ value: 'male', count: 3 }], country_id: [{ value: 'NG', label: 'Nigeria', count: 9 }, { value: 'GH', label: 'Ghana', count: 2 }, { value: 'ZW', label: 'Zimbabwe', count: 1 }] },
    'a selected value beyond the top countries is kept',
  )
  t.same(eitherOrOptions({ country_id: ['GH', 'KE', 'NG'], gender: 'male' }), { country_id: { value: 'GH,KE,NG', label: 'Ghana, Kenya or Nigeria' } })
  t.equal(href('/profiles', { country_id: 'GH,NG', q: 'a, b' }), '/profiles?country_id=GH,NG&q=a,+b', 'commas stay commas')
})

t.test('keyset paging: the cursor of a next_cursor link; a page by number or by cursor', async (t) => {
  t.equal(cursorOf('/api/profiles?country_id=NG&cursor=abc.def&limit=5'), 'abc.def')
  t.equal(cursorOf(null), undefined)
  t.equal(cursorOf(undefined), undefined)
  t.equal(cursorOf('/api/profiles?limit=5'), undefined)
  t.same(pageParams({ page: 3, limit: 20 }), { page: 3, limit: 20 })
  t.same(pageParams({ page: 3, limit: 20, cursor: 'abc.def' }), { cursor: 'abc.def', limit: 20 }, 'the cursor names its page')
})
