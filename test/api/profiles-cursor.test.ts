import t from 'tap'
import { buildTestApi } from '../helpers/api.ts'

const api = await buildTestApi(t, { seed: true })
const analyst = await api.headers('analyst')
const admin = await api.headers('admin')
const get = (url: string) => api.app.inject({ method: 'GET', url, headers: analyst })

interface Page {
  page: number
  total: number
  total_pages: number
  data: { id: string }[]
  links: { self: string; next: string | null; prev: string | null; next_cursor: string | null }
}

async function walk(first: string, via: 'cursor' | 'page'): Promise<{ ids: string[]; pages: Page[] }> {
  const ids: string[] = []
  const pages: Page[] = []
  let url: string | null = first
  while (url) {
    const res = await get(url)
    if (res.statusCode !== 200) throw new Error(`${url}: ${res.statusCode} ${res.body}`)
    const body = res.json() as Page
    pages.push(body)
    ids.push(...body.data.map((p) => p.id))
    url = via === 'cursor' ? body.links.next_cursor : body.links.next
    if (pages.length > 200) throw new Error('too many pages')
  }
  return { ids, pages }
}

t.test('walking by cursor gives every row once, in the same order as by page number, for every sort', async (t) => {
  for (const sort of ['', 'sort_by=age', 'sort_by=age&order=desc', 'sort_by=name', 'sort_by=name&order=desc', 'sort_by=gender_probability', 'sort_by=country_probability&order=desc', 'sort_by=created_at&order=asc']) {
    const first = `/api/profiles?${sort}${sort ? '&' : ''}limit=50`
    const byPage = await walk(first, 'page')
    const byCursor = await walk(first, 'cursor')
    t.equal(byCursor.ids.length, 2026, `${sort || 'default'}: every row`)
    t.equal(new Set(byCursor.ids).size, 2026, `${sort || 'default'}: each once`)
    t.same(byCursor.ids, byPage.ids, `${sort || 'default'}: same order as the page-number walk`)
    t.same(
      byCursor.pages.map((p) => p.page),
      byPage.pages.map((p) => p.page),
      'the envelope names the page a cursor led to',
    )
    t.ok(byCursor.pages.every((p) => p.total === 2026 && p.total_pages === 41), 'the same total on every page')
    t.equal(byCursor.pages[byCursor.pages.length - 1].links.next_cursor, null, 'null on the last page')
  }
})

t.test('a cursor page equals the same page by number, links included', async (t) => {
  const one = (await get('/api/profiles?country_id=NG&sort_by=age&limit=5')).json() as Page
  const two = (await get(one.links.next_cursor as string)).json() as Page
  const byNumber = (await get('/api/profiles?country_id=NG&sort_by=age&page=2&limit=5')).json() as Page
  t.same(two.data, byNumber.data)
  t.equal(two.page, 2)
  t.same({ ...two.links, next_cursor: null }, { ...byNumber.links, next_cursor: null })
  t.match(one.links.next_cursor, /^\/api\/profiles\?country_id=NG&sort_by=age&cursor=[\w-]+\.[\w-]+&limit=5$/)
  const search = (await get('/api/profiles/search?q=young%20males&limit=20')).json() as Page
  const after = (await get(search.links.next_cursor as string)).json() as Page & { interpreted: unknown }
  t.match(search.links.next_cursor, /^\/api\/profiles\/search\?q=young\+males&cursor=/)
  t.same(after.data, ((await get('/api/profiles/search?q=young%20males&page=2&limit=20')).json() as Page).data)
  t.ok(after.interpreted, 'a search page by cursor still explains itself')
})

t.test('forged, damaged and foreign cursors are refused', async (t) => {
  const page = (await get('/api/profiles?gender=female&limit=5')).json() as Page
  const cursor = new URL(page.links.next_cursor as string, 'http://x').searchParams.get('cursor') as string
  const [payload, signature] = cursor.split('.')
  const body = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>
  const forged = Buffer.from(JSON.stringify({ ...body, page: 40 })).toString('base64url')
  const cases: [string, number][] = [
    [`gender=female&cursor=${forged}.${signature}`, 422],
    [`gender=female&cursor=${payload}.${signature.slice(0, -2)}AA`, 422],
    [`gender=female&cursor=${payload}`, 422],
    [`gender=female&cursor=not-a-cursor`, 422],
    [`gender=male&cursor=${cursor}`, 422],
    [`gender=female&sort_by=age&cursor=${cursor}`, 422],
    [`gender=female&cursor=${'a'.repeat(600)}`, 422],
    [`gender=female&cursor=${cursor}%00`, 422],
    [`gender=female&cursor=${cursor}&cursor=${cursor}`, 422],
    ['gender=female&cursor=', 400],
  ]
  for (const [query, status] of cases) {
    const res = await get(`/api/profiles?${query}&limit=5`)
    t.equal(res.statusCode, status, query.slice(0, 50))
    t.equal(res.json().status, 'error')
  }
  t.equal((await get(`/api/profiles?gender=female&cursor=${cursor}&limit=5`)).statusCode, 200, 'the genuine one works')
  const otherSize = await get(`/api/profiles?gender=female&cursor=${cursor}&limit=7`)
  t.equal(otherSize.statusCode, 422, 'with another page size its page number would be wrong: refused')
  t.match(otherSize.json().message, /another query or page size/)
})

t.test('a cursor keeps its place across writes, even when its row is deleted', async (t) => {
  const page = (await get('/api/profiles?sort_by=name&limit=3')).json() as Page
  const next = page.links.next_cursor as string
  const expected = ((await get(next)).json() as Page).data.map((p) => p.id)
  const lastId = page.data[2].id
  const del = await api.app.inject({ method: 'DELETE', url: `/api/profiles/${lastId}`, headers: admin })
  t.equal(del.statusCode, 204)
  const after = (await get(next)).json() as Page
  t.same(after.data.map((p) => p.id), expected, 'the rows after the deleted one, as before')
  t.equal(after.total, page.total - 1, 'the total is the current one')
})
