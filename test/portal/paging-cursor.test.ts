/**
 * "Next ›" on Profiles and Search goes by the API's keyset cursor (contract §6) and names the page it
 * leads to, so "page x of y" stays right; Previous and the numbered pages go by number. A damaged,
 * forged or foreign cursor is a 422 page with the reason and a link to that page by number. Against
 * the real API, seeded with the 2026 reference profiles.
 */
import t from 'tap'
import { buildTestPortal } from './helpers.ts'

t.setTimeout(300_000)

const portal = await buildTestPortal(t)
const analyst = await portal.signIn('analyst')

const unescape = (html: string) => html.replace(/&amp;/g, '&')
const nextHref = (html: string) => {
  const m = /<a href="([^"]*)" rel="next">Next ›<\/a>/.exec(html)
  return m ? unescape(m[1]) : null
}
const prevHref = (html: string) => {
  const m = /<a href="([^"]*)" rel="prev">‹ Previous<\/a>/.exec(html)
  return m ? unescape(m[1]) : null
}
const rowIds = (html: string) => [...html.matchAll(/<th scope="row" class="cell-name"><a href="\/profiles\/([^"]+)"/g)].map((m) => m[1])
const currentPage = (html: string) => /aria-current="page"><span class="visually-hidden">Page <\/span>([\d,]+)</.exec(html)?.[1]

t.test('Next carries the cursor and the page it leads to; walking by Next gives every row once, as by number', async (t) => {
  const first = await portal.get('/profiles?country_id=NG&sort_by=age&order=desc&limit=20', analyst)
  t.equal(first.statusCode, 200)
  const next = nextHref(first.body)
  t.match(next, /^\/profiles\?country_id=NG&sort_by=age&order=desc&page=2&cursor=[\w-]+\.[\w-]+&limit=20$/, 'page=2&cursor=…')
  t.match(first.body, /rel="prev"|aria-disabled="true">‹ Previous/)

  const byCursor: string[] = [...rowIds(first.body)]
  const byNumber: string[] = [...rowIds(first.body)]
  let url = next
  let page = 1
  while (url !== null) {
    page++
    const res = await portal.get(url, analyst)
    t.equal(res.statusCode, 200, `page ${page} by cursor`)
    t.equal(currentPage(res.body), String(page), 'the page indicator follows')
    t.match(res.body, new RegExp(`, page ${page} of 7\\.`), 'caption: page x of y')
    t.match(res.body, new RegExp(`Showing ${(page - 1) * 20 + 1}–`), 'the count from where this page starts')
    const numbered = await portal.get(`/profiles?country_id=NG&sort_by=age&order=desc&limit=20&page=${page}`, analyst)
    t.same(rowIds(res.body), rowIds(numbered.body), `page ${page}: the same rows as by number`)
    t.equal(prevHref(res.body), page === 2 ? '/profiles?country_id=NG&sort_by=age&order=desc&limit=20' : `/profiles?country_id=NG&sort_by=age&order=desc&page=${page - 1}&limit=20`, 'Previous by number')
    t.notMatch(res.body, /href="[^"]*cursor=[^"]*"(?! rel="next")/, 'only Next carries a cursor')
    byCursor.push(...rowIds(res.body))
    byNumber.push(...rowIds(numbered.body))
    url = nextHref(res.body)
    if (page > 10) break
  }
  t.equal(page, 7, '123 profiles, 7 pages of 20')
  t.equal(byCursor.length, 123)
  t.equal(new Set(byCursor).size, 123, 'each row once')
  t.same(byCursor, byNumber)
})

t.test('on a cursor page, changing a filter, the sort or the page size starts again at page 1 without the cursor', async (t) => {
  const first = await portal.get('/profiles?gender=female&limit=20', analyst)
  const second = await portal.get(nextHref(first.body) ?? '', analyst)
  t.equal(second.statusCode, 200)
  const links = [...second.body.matchAll(/<a class="facet__value[^"]*" href="([^"]*)"/g)].map((m) => unescape(m[1]))
  t.ok(links.length > 10)
  t.ok(links.every((l) => !/[?&](page|cursor)=/.test(l)), 'facet links: no page, no cursor')
  const sorts = [...second.body.matchAll(/<a href="([^"]*)" class="sort-link">/g)].map((m) => unescape(m[1]))
  t.ok(sorts.length > 0 && sorts.every((l) => !/[?&](page|cursor)=/.test(l)), 'sort links: no page, no cursor')
  t.notMatch(second.body, /name="cursor"|name="page"/, 'the filter form does not carry them')
})

t.test('search: Next by cursor, the same rows as by number', async (t) => {
  const first = await portal.get('/search?q=females+above+30&limit=50', analyst)
  const next = nextHref(first.body)
  t.match(next, /^\/search\?q=females\+above\+30&page=2&cursor=[\w-]+\.[\w-]+&limit=50$/)
  const second = await portal.get(next ?? '', analyst)
  t.equal(second.statusCode, 200)
  t.match(second.body, /Showing 51–100 of 673 profiles/)
  t.equal(currentPage(second.body), '2')
  t.same(rowIds(second.body), rowIds((await portal.get('/search?q=females+above+30&limit=50&page=2', analyst)).body))
  t.match(nextHref(second.body), /page=3&cursor=/)
})

t.test("a forged, altered or foreign cursor: the API's 422 on the page, and that page by number", async (t) => {
  const first = await portal.get('/profiles?gender=female&limit=20', analyst)
  const cursor = new URL(nextHref(first.body) ?? '', 'http://x').searchParams.get('cursor') ?? ''
  const [payload, signature] = cursor.split('.')
  const forged = `${Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload, 'base64url').toString()), page: 40 })).toString('base64url')}.${signature}`
  const cases = [
    `/profiles?gender=female&page=2&cursor=${forged}&limit=20`,
    `/profiles?gender=female&page=2&cursor=${payload}.AAAA${signature.slice(4)}&limit=20`,
    `/profiles?gender=male&page=2&cursor=${cursor}&limit=20`,
    `/profiles?gender=female&sort_by=name&page=2&cursor=${cursor}&limit=20`,
  ]
  for (const url of cases) {
    const res = await portal.get(url, analyst)
    t.equal(res.statusCode, 422, url)
    t.match(res.body, /This “Next” link no longer works: Invalid cursor: it belongs to another query or page size, or was altered\./, "the API's reason")
    t.match(res.body, /<a href="\/profiles\?gender=(fe)?male(&amp;sort_by=name)?&amp;page=2&amp;limit=20">Open page 2 by its number<\/a>/, 'the page by number')
    t.notMatch(res.body, /class="data-table/, 'no table of something else')
    t.match(res.body, /<form method="get" action="\/profiles"/, 'the filters are still there')
  }
  const fallback = await portal.get('/profiles?gender=female&page=2&limit=20', analyst)
  t.equal(fallback.statusCode, 200)
  t.match(fallback.body, /Showing 21–40 of 1,038 profiles/)

  const search = await portal.get(`/search?q=females+above+30&page=2&cursor=${cursor}&limit=20`, analyst)
  t.equal(search.statusCode, 422, 'a cursor of another query on Search')
  t.match(search.body, /Invalid cursor: it belongs to another query or page size, or was altered\./)
  t.match(search.body, /href="\/search\?q=females\+above\+30&amp;page=2&amp;limit=20">Open page 2 by its number/)
})

t.test('a cursor the portal itself refuses (control characters, too long) is not sent on', async (t) => {
  for (const cursor of ['abc%00def', 'a'.repeat(600)]) {
    const res = await portal.get(`/profiles?page=3&cursor=${cursor}`, analyst)
    t.equal(res.statusCode, 422)
    t.match(res.body, /This “Next” link no longer works: This link to the next page is damaged\. <a href="\/profiles\?page=3">Open page 3 by its number<\/a>/)
    t.notMatch(res.body, /Some filters are not valid/, 'not a filter error')
  }
  const repeated = await portal.get('/profiles?page=2&cursor=a&cursor=b', analyst)
  t.equal(repeated.statusCode, 422)
  t.match(repeated.body, /Give this value only once|damaged/)
})
