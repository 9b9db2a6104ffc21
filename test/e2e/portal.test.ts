/**
 * End to end, in headless Chromium, against the real system on two hosts: the API on 127.0.0.1,
 * the portal on localhost, GitHub replaced by its stand-in. Logs in through the stand-in, browses,
 * filters, searches, pages, exports, lets the access token expire, refreshes from two tabs at once,
 * logs out, and checks the cookie jar. Screenshots of every page (390 px phones included) go to
 * test-artifacts/e2e/; the README's also to SCREENSHOTS_DIR when set (`npm run screenshots` sets
 * docs/screenshots), so a test run never writes into the repository's tracked folders.
 */
import { copyFile, mkdir, readFile } from 'node:fs/promises'
import path from 'node:path'
import type { Page } from 'playwright-core'
import t from 'tap'
import { COUNTRIES } from '../../contract/countries.ts'
import { ARTIFACTS, REPO_ROOT, signInWithGitHub, startPortalSystem } from './helpers/portal-system.ts'

t.setTimeout(240_000)

const DOC_SHOTS = process.env.SCREENSHOTS_DIR ? path.resolve(REPO_ROOT, process.env.SCREENSHOTS_DIR) : undefined
const ACCESS_TTL_SECONDS = 10
const REFRESH_MARGIN_SECONDS = 2

if (DOC_SHOTS) await mkdir(DOC_SHOTS, { recursive: true })

// --- the system --------------------------------------------------------------------------------
const { portal: PORTAL, github, stubs, db, context, page, problems } = await startPortalSystem(t, {
  apiEnv: { ACCESS_TOKEN_TTL_SECONDS: String(ACCESS_TTL_SECONDS) },
  portalEnv: { PORTAL_REFRESH_MARGIN_SECONDS: String(REFRESH_MARGIN_SECONDS) },
  browserContext: { acceptDownloads: true },
})

/** `doc` marks the shots a README screenshot script may pick from test-artifacts/e2e/. */
async function shot(name: string, options: { doc?: boolean; fullPage?: boolean; target?: Page } = {}) {
  const file = path.join(ARTIFACTS, `${name}.png`)
  await (options.target ?? page).screenshot({ path: file, fullPage: options.fullPage ?? true })
  if (options.doc && DOC_SHOTS) await copyFile(file, path.join(DOC_SHOTS, `${name}.png`))
}

/** How far the page is wider than its viewport (0 = no horizontal scrolling). */
async function horizontalOverflow(target: Page): Promise<number> {
  return target.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth)
}

async function apiTokensAnywhere(): Promise<string[]> {
  const cookies = await context.cookies()
  return cookies.filter((c) => /^eyJ/.test(c.value) || c.name.includes('refresh') || c.name.includes('access')).map((c) => c.name)
}

// --- the journey ---------------------------------------------------------------------------------
t.test('log in through the GitHub stand-in', async (t) => {
  await page.goto(`${PORTAL}/profiles?gender=female`)
  t.match(page.url(), new RegExp(`^${PORTAL}/login\\?next=`), 'anonymous → login page')
  await shot('01-login', { doc: true, fullPage: false })
  await signInWithGitHub(page, 'octo-admin', async () => {
    t.ok(page.url().startsWith(github.url), 'at the GitHub stand-in')
    await shot('02-github-stand-in', { fullPage: false })
  })
  await page.waitForURL(`${PORTAL}/profiles?gender=female`)
  t.pass('back on the portal, where the visitor was going')
  t.match(await page.locator('.flash').textContent(), /Signed in as octo-admin/)
  const cookies = await context.cookies()
  t.same(cookies.map((c) => `${c.name}@${c.domain}`), ['insighta_session@localhost'], 'one cookie, the portal’s, on the portal’s host')
  const session = cookies[0]
  t.ok(session.httpOnly, 'HttpOnly')
  t.equal(session.sameSite, 'Lax')
  t.same(await apiTokensAnywhere(), [], 'no API token in the jar')
  t.equal(await page.evaluate(() => document.cookie), '', 'scripts see no cookie')
})

t.test('dashboard, filters, sort, pagination, page size', async (t) => {
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Dashboard' }).click()
  await page.waitForURL(`${PORTAL}/`)
  t.equal(await page.locator('svg.chart__svg').count(), 4, 'four server-rendered charts')
  await shot('03-dashboard', { doc: true })

  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Profiles' }).click()
  await page.selectOption('#f-gender', 'female')
  await page.selectOption('#f-country_id', 'NG')
  await page.fill('#f-min_age', '20')
  await page.getByRole('button', { name: 'Apply filters' }).click()
  await page.waitForURL(/gender=female/)
  const count = await page.locator('#result-count').textContent()
  t.match(count, /of \d+ profiles/)
  await page.locator('th a.sort-link', { hasText: 'Age' }).click()
  await page.waitForURL(/sort_by=age/)
  t.equal(await page.locator('th[aria-sort="ascending"]').count(), 1, 'sorted by age, ascending')
  await page.getByRole('link', { name: 'Next ›' }).click()
  await page.waitForURL(/page=2/)
  const url = new URL(page.url())
  t.equal(url.searchParams.get('gender'), 'female', 'the filters survive paging')
  t.equal(url.searchParams.get('country_id'), 'NG')
  t.equal(url.searchParams.get('sort_by'), 'age')
  await page.selectOption('#f-limit', '20')
  await page.waitForURL(/limit=20/)
  t.equal(await page.locator('table.data-table tbody tr').count(), Math.min(20, Number(/of (\d+)/.exec(count ?? '')?.[1])), '20 rows per page')
  await page.goto(`${PORTAL}/profiles`)
  await shot('04-profiles', { doc: true })
})

t.test('facets toggle values in the either-or list; Next goes by the API cursor', async (t) => {
  await page.goto(`${PORTAL}/profiles?country_id=NG&page=2`)
  const countries = page.locator('section.facet[aria-labelledby="facet-country_id"]')
  await countries.getByRole('link', { name: /^Ghana/ }).click()
  await page.waitForURL(/country_id=GH,NG$/)
  t.equal(new URL(page.url()).search, '?country_id=GH,NG', 'either country, canonical, page 1 again')
  t.equal(await countries.locator('a[aria-current="true"]').count(), 2, 'both selected')
  t.equal(await countries.locator('a[aria-current="true"] .facet__check').count(), 2, 'each with a checkmark')
  await page.getByRole('link', { name: 'Next ›' }).click()
  await page.waitForURL(/page=2&cursor=/)
  t.match(await page.locator('#result-count').textContent(), /^Showing 11–20 of /)
  await countries.getByRole('link', { name: /^Nigeria .*selected/ }).click()
  await page.waitForURL(/country_id=GH$/)
  t.equal(new URL(page.url()).search, '?country_id=GH', 'Nigeria removed; cursor and page dropped')
  await countries.getByRole('link', { name: /^Ghana .*selected/ }).click()
  await page.waitForURL(`${PORTAL}/profiles`)
  t.match(await page.locator('#result-count').textContent(), /of 2,026 profiles/, 'the last value removed: no country filter')
})

t.test('export these as CSV: the download streams through the portal', async (t) => {
  await page.goto(`${PORTAL}/profiles?country_id=KE&gender=male`)
  const total = Number(/of ([\d,]+) profiles/.exec((await page.locator('#result-count').textContent()) ?? '')?.[1].replace(/,/g, ''))
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Export these as CSV' }).click()])
  t.match(download.suggestedFilename(), /^profiles_\d{8}T\d{6}Z\.csv$/)
  const file = await download.path()
  const lines = (await readFile(file, 'utf8')).trim().split(/\r?\n/)
  t.match(lines[0], /^id,name,gender,/)
  t.equal(lines.length - 1, total, 'every matching profile')
  t.ok(lines.slice(1).every((l) => l.includes(',male,') && l.includes(',KE,')))
})

t.test('search: chips, removing one, and a query it cannot read', async (t) => {
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Search' }).click()
  await page.fill('#q', 'young males from nigeria')
  await page.getByRole('button', { name: 'Search', exact: true }).click()
  await page.waitForURL(/q=young/)
  t.match(await page.locator('#result-count').textContent(), /of 9 profiles/)
  t.equal(await page.locator('.chip').count(), 4)
  await shot('05-search', { doc: true })
  await page.getByRole('link', { name: /Remove “Country: Nigeria”/ }).click()
  await page.waitForURL(/\/profiles\?gender=male&min_age=16&max_age=24/)
  t.pass('chip removed: the Profiles page with the other filters')
  await page.goto(`${PORTAL}/search?q=${encodeURIComponent('what is the weather')}`)
  t.match(await page.locator('#unable-title').textContent(), /Unable to interpret query/)
  await shot('06-search-unable', { fullPage: false })
})

t.test('profile detail, create (admin) and delete with confirmation', async (t) => {
  await page.goto(`${PORTAL}/profiles/new`)
  await shot('07-profile-new', { fullPage: false })
  await page.fill('#name', 'Chidera Okafor-E2E')
  await page.getByRole('button', { name: 'Create profile' }).click()
  await page.waitForURL(/\/profiles\/[0-9a-f-]{36}$/)
  t.match(await page.locator('.flash').textContent(), /Created the profile/)
  t.equal(await page.locator('h1').textContent(), 'Chidera Okafor-E2E')
  await shot('08-profile', { doc: true, fullPage: false })
  await page.getByRole('link', { name: 'Delete this profile…' }).click()
  await shot('09-profile-delete', { fullPage: false })
  await page.getByRole('button', { name: 'Yes, delete this profile' }).click()
  await page.waitForURL(`${PORTAL}/profiles`)
  t.match(await page.locator('.flash').textContent(), /Deleted the profile “Chidera Okafor-E2E”/)

  stubs.setBehaviour('nationalize', 'empty')
  await page.goto(`${PORTAL}/profiles/new`)
  await page.fill('#name', 'Nobody Knows')
  await page.getByRole('button', { name: 'Create profile' }).click()
  await page.waitForURL(`${PORTAL}/profiles/new`)
  t.match(await page.locator('.flash').textContent(), /Nationalize returned an invalid response/)
  t.equal(await page.inputValue('#name'), 'Nobody Knows', 'the name is kept for another try')
  stubs.reset()
})

t.test('import a CSV with the progress bar (JavaScript) and see the report', async (t) => {
  await page.goto(`${PORTAL}/import`)
  const csv = 'name,gender,age,country_id,gender_probability,country_probability\nE2E Import One,female,41,GH,0.91,0.72\nE2E Import Two,male,200,GH,0.9,0.7\n'
  await page.setInputFiles('#file', { name: 'people.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) })
  await page.getByRole('button', { name: 'Import' }).click()
  await page.waitForSelector('#report-title')
  t.match(await page.locator('.flash').textContent(), /Imported 1 of 2 rows; 1 skipped/)
  t.equal(await page.locator('.rejects-table tbody tr').count(), 1, 'the skipped row is listed')
  t.match(await page.locator('.rejects-table tbody tr').first().textContent(), /3\s*Invalid age\s*E2E Import Two,male,200,GH,0\.9,0\.7/)
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: /Download all 1 as CSV/ }).click()])
  const saved = await readFile((await download.path()) ?? '', 'utf8')
  t.equal(saved, 'line,reason,raw\r\n3,invalid_age,"E2E Import Two,male,200,GH,0.9,0.7"\r\n', 'the browser downloads every skipped row')
  await shot('10-import', { doc: true })
})

t.test('a long skipped row wraps on a phone; the template downloads', async (t) => {
  const phone = await context.newPage()
  await phone.setViewportSize({ width: 390, height: 844 })
  await phone.goto(`${PORTAL}/import`)
  const [template] = await Promise.all([phone.waitForEvent('download'), phone.getByRole('link', { name: 'Download a template CSV' }).click()])
  t.match(await readFile((await template.path()) ?? '', 'utf8'), /^name,gender,age,country_id,gender_probability,country_probability\r\n/)
  const long = `${'x'.repeat(3000)},female,30,NG,0.9,0.8`
  await phone.setInputFiles('#file', { name: 'long.csv', mimeType: 'text/csv', buffer: Buffer.from(`name,gender,age,country_id,gender_probability,country_probability\n${long}\n`) })
  await phone.getByRole('button', { name: 'Import' }).click()
  await phone.waitForSelector('.rejects-table')
  t.equal(await horizontalOverflow(phone), 0, '390 px: a 1,024-character raw row does not widen the page')
  t.match(await phone.locator('.rejects-table code').first().textContent(), /^x{1023}…$/, 'shown cut, as the API keeps it')
  await shot('10-import-rejects-mobile', { target: phone })
  await phone.close()
})

t.test('the longest valid values do not break the Profiles table or the detail page', async (t) => {
  const longest = [...COUNTRIES].sort((a, b) => b.name.length - a.name.length)[0]
  const name = `W${'w'.repeat(198)}Z`
  t.equal(name.length, 200, 'the longest name the API accepts, without a space')
  const csv = `name,gender,age,country_id,gender_probability,country_probability\n${name},female,120,${longest.id},0.123456,0.987654\n`
  await page.goto(`${PORTAL}/import`)
  await page.setInputFiles('#file', { name: 'long.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) })
  await page.getByRole('button', { name: 'Import' }).click()
  await page.waitForSelector('#report-title')
  t.match(await page.locator('.flash').textContent(), /Imported 1 of 1 rows/)
  for (const width of [1280, 390]) {
    const view = await context.newPage()
    await view.setViewportSize({ width, height: 900 })
    await view.goto(`${PORTAL}/profiles?country_id=${longest.id}&min_age=120&max_age=120&limit=50`)
    t.equal(await horizontalOverflow(view), 0, `${width} px: the Profiles page does not scroll sideways`)
    const region = view.locator('.table-scroll')
    t.ok(await region.evaluate((el) => el.scrollWidth <= el.clientWidth + 1), `${width} px: every column fits, nothing pushed off-screen`)
    const link = view.locator('th[scope="row"] a', { hasText: name }).first()
    t.equal(await link.getAttribute('title'), name, 'the full name is available')
    t.equal((await link.textContent())?.trim(), name, 'and shown whole, wrapped')
    await shot(`17-long-name-profiles-${width}`, { target: view })
    await link.click()
    await view.waitForURL(/\/profiles\/[0-9a-f-]{36}$/)
    t.equal(await horizontalOverflow(view), 0, `${width} px: the detail page does not scroll sideways`)
    t.equal((await view.locator('h1').textContent())?.trim(), name)
    await shot(`18-long-name-detail-${width}`, { target: view })
    await view.close()
  }
})

t.test('account and admin users', async (t) => {
  await page.goto(`${PORTAL}/account`)
  t.match(await page.locator('#me-title').textContent(), /octo-admin/)
  t.equal(await page.locator('.badge', { hasText: 'this browser' }).count(), 1, 'this browser’s session is marked')
  await shot('11-account', { doc: true })
  await page.goto(`${PORTAL}/admin/users`)
  t.ok((await page.locator('table.data-table tbody tr').count()) >= 1)
  await shot('12-admin-users', { doc: true })
  await page.goto(`${PORTAL}/no/such/page`)
  await shot('13-not-found', { fullPage: false })
})

t.test('the access token expires and the portal keeps working', async (t) => {
  await page.waitForTimeout((ACCESS_TTL_SECONDS + 1) * 1000)
  const response = await page.goto(`${PORTAL}/profiles?sort_by=name`)
  t.equal(response?.status(), 200, 'refreshed transparently after expiry')
  t.match(page.url(), /\/profiles/)
  t.same(await apiTokensAnywhere(), [], 'the new tokens stay on the server too')
})

t.test('two tabs refreshing at once', async (t) => {
  const second = await context.newPage()
  await second.goto(`${PORTAL}/`)
  await page.waitForTimeout((ACCESS_TTL_SECONDS - REFRESH_MARGIN_SECONDS + 1) * 1000)
  const [a, b] = await Promise.all([page.goto(`${PORTAL}/profiles?page=2`), second.goto(`${PORTAL}/search?q=women+in+kenya`)])
  t.equal(a?.status(), 200)
  t.equal(b?.status(), 200)
  t.match(second.url(), /\/search/, 'neither tab was sent to the login page')
  const again = await page.goto(`${PORTAL}/`)
  t.equal(again?.status(), 200, 'the session is still alive: the refresh token was presented once')
  await second.close()
})

t.test('responsive and print layouts', async (t) => {
  const phone = await context.newPage()
  await phone.setViewportSize({ width: 390, height: 844 })
  for (const [path, name] of [['/profiles', '14-profiles-mobile'], ['/admin/users', '14-users-mobile'], ['/account', '14-account-mobile']]) {
    await phone.goto(`${PORTAL}${path}`)
    t.equal(await horizontalOverflow(phone), 0, `390 px ${path}: no sideways scrolling`)
    const header = await phone.locator('.site-header').boundingBox()
    t.ok(header && header.height <= 100, `390 px ${path}: a compact header (${Math.round(header?.height ?? 0)} px, two rows at most)`)
    const firstRow = phone.locator('table.data-table tbody tr').first()
    const box = await firstRow.boundingBox()
    t.ok(box && box.width <= 390, `390 px ${path}: a table row fits the screen`)
    const cell = firstRow.locator('td[data-label]').first()
    t.match(await cell.evaluate((el) => getComputedStyle(el, '::before').content), /:/, `390 px ${path}: stacked rows name each value`)
    await shot(name, { doc: true, target: phone })
  }
  await phone.goto(`${PORTAL}/`)
  await shot('15-dashboard-mobile', { target: phone })
  await phone.emulateMedia({ media: 'print' })
  await phone.setViewportSize({ width: 800, height: 1100 })
  await shot('16-dashboard-print', { target: phone })
  t.equal(await phone.locator('.site-header').isVisible(), false, 'no navigation on paper')
  await phone.close()
})

t.test('log out: the API session ends, the cookie jar is empty', async (t) => {
  await page.goto(`${PORTAL}/`)
  await page.getByRole('button', { name: 'Sign out' }).click()
  await page.waitForURL(`${PORTAL}/login?signed_out=1`)
  t.match(await page.locator('.flash').textContent(), /You have signed out/)
  const cookies = await context.cookies()
  t.same(cookies.filter((c) => c.name.includes('session')), [], 'no session cookie')
  t.same(cookies.filter((c) => c.domain === '127.0.0.1'), [], 'no cookie for the API’s host')
  t.same(await apiTokensAnywhere(), [])
  await page.goto(`${PORTAL}/profiles`)
  t.match(page.url(), /\/login\?next=/, 'signed out for real')
  const { rows } = await db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM portal_sessions')
  t.equal(rows[0].n, 0, 'no portal session left')
  const live = await db.pool.query<{ n: number }>("SELECT count(*)::int AS n FROM sessions WHERE revoked_at IS NULL AND client_id = 'insighta-portal'")
  t.equal(live.rows[0].n, 0, 'no live API session for the portal')
})

t.test('no script errors on any page', async (t) => {
  t.same(problems, [])
})
