/**
 * End to end, in headless Chromium, against the real API and portal (API on 127.0.0.1, portal on
 * localhost, GitHub replaced by its stand-in): a device asks for a code over HTTP, the user opens
 * the verification URL, signs in through GitHub, lands back on /device with the code, approves it,
 * and the device's poll of /auth/token then gets tokens that work. Then an analyst feature: a
 * search saved on the Profiles page is listed and runs from the dashboard.
 */
import path from 'node:path'
import t from 'tap'
import { DEVICE_CODE_GRANT_TYPE } from '../../contract/device.ts'
import { API_VERSION, API_VERSION_HEADER } from '../../contract/headers.ts'
import { ARTIFACTS, signInWithGitHub, startPortalSystem } from './helpers/portal-system.ts'

t.setTimeout(240_000)

const { api: API, portal: PORTAL, page, problems } = await startPortalSystem(t, { apiEnv: { DEVICE_CODE_INTERVAL_SECONDS: '1' } })

interface TokenAnswer {
  status: number
  body: { access_token?: string; refresh_token?: string; error?: string }
}

async function poll(deviceCode: string): Promise<TokenAnswer> {
  const res = await fetch(`${API}/auth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ grant_type: DEVICE_CODE_GRANT_TYPE, device_code: deviceCode, client_id: 'insighta-cli' }),
  })
  return { status: res.status, body: (await res.json()) as TokenAnswer['body'] }
}

t.test('device login: code over HTTP, sign in, approve on /device in Chromium, the poll gets tokens', async (t) => {
  const started = await fetch(`${API}/auth/device/code`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'user-agent': 'insighta-cli/e2e' },
    body: 'client_id=insighta-cli',
  })
  t.equal(started.status, 200)
  const code = (await started.json()) as { device_code: string; user_code: string; verification_uri: string; verification_uri_complete: string; interval: number }
  t.equal(code.verification_uri, `${PORTAL}/device`, 'the verification page is the portal’s')
  const before = await poll(code.device_code)
  t.same([before.status, before.body.error], [400, 'authorization_pending'])

  await page.goto(code.verification_uri_complete)
  t.match(page.url(), /\/login\?next=%2Fdevice%3Fuser_code%3D/, 'not signed in: the login page first')
  await signInWithGitHub(page, 'octo-analyst')
  await page.waitForURL(/\/device\?user_code=/)
  t.pass('back on /device with the code after signing in')
  t.equal(await page.locator('#device-code').textContent(), code.user_code, 'the code to compare with the terminal')
  t.match(await page.locator('h2#device-confirm-title').textContent(), /Sign in Insighta CLI as octo-analyst\?/)
  t.match(await page.locator('.device__agent').textContent(), /insighta-cli\/e2e/, 'what is asking: its user agent')
  await page.screenshot({ path: path.join(ARTIFACTS, 'device-confirm.png') })
  await page.getByRole('button', { name: 'Approve' }).click()
  await page.waitForURL(`${PORTAL}/device`)
  t.match(await page.locator('.flash').textContent(), /Device approved/)

  let answer = await poll(code.device_code)
  // the device waits its interval between polls (bounded: a few tries)
  for (let i = 0; i < 5 && answer.status !== 200 && answer.body.error === 'slow_down'; i++) {
    await new Promise((resolve) => setTimeout(resolve, (code.interval + 1) * 1000))
    answer = await poll(code.device_code)
  }
  t.equal(answer.status, 200, 'tokens after approval')
  t.match(answer.body.access_token, /^eyJ/)
  t.type(answer.body.refresh_token, 'string')
  const me = await fetch(`${API}/auth/me`, { headers: { authorization: `Bearer ${answer.body.access_token}`, [API_VERSION_HEADER]: API_VERSION } })
  t.equal(me.status, 200)
  t.equal(((await me.json()) as { data: { username: string } }).data.username, 'octo-analyst', 'the device is signed in as the approver')
  const twice = await poll(code.device_code)
  t.equal(twice.status, 400, 'the device code yields tokens once')
})

t.test('saved search: save a filter on Profiles, run it from the dashboard, share its URL', async (t) => {
  await page.goto(`${PORTAL}/profiles?gender=female&country_id=KE`)
  const count = await page.locator('#result-count').textContent()
  await page.locator('details.save-search summary').click()
  await page.fill('#save-name', 'Kenyan women')
  await page.getByRole('button', { name: 'Save', exact: true }).click()
  await page.waitForURL(`${PORTAL}/profiles?gender=female&country_id=KE`)
  t.match(await page.locator('.flash').textContent(), /Saved “Kenyan women”/)
  await page.goto(`${PORTAL}/`)
  await page.locator('section.saved-searches').getByRole('link', { name: 'Kenyan women' }).click()
  await page.waitForURL(`${PORTAL}/profiles?gender=female&country_id=KE`)
  t.equal(await page.locator('#result-count').textContent(), count, 'running it shows the same profiles')
  await page.goto(`${PORTAL}/saved-searches`)
  t.equal(await page.locator('input.saved-share').inputValue(), `${PORTAL}/profiles?gender=female&country_id=KE`, 'the URL to share')
  await page.screenshot({ path: path.join(ARTIFACTS, 'saved-searches.png') })
})

t.test('no script errors', async (t) => {
  t.same(problems, [])
})
