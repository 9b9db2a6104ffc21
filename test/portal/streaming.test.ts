/**
 * The CSV export passes through the portal as a stream: the browser gets the first bytes while the
 * API is still producing the rest, and a browser that goes away stops the API's stream too.
 */
import http from 'node:http'
import t from 'tap'
import { buildFakePortal } from './helpers.ts'

// Real HTTP and a real database on a shared CI machine: allow more than the default 120 s.
t.setTimeout(300_000)

const portal = await buildFakePortal(t)
const url = await portal.app.listen({ host: '127.0.0.1', port: 0 })
const who = await portal.signIn('octo-analyst')

t.test('the first chunk arrives before the API has finished', async (t) => {
  let release: () => void = () => {}
  portal.fake.options.exportGate = new Promise<void>((resolve) => {
    release = resolve
  })
  t.teardown(() => {
    portal.fake.options.exportGate = undefined
  })
  const res = await fetch(`${url}/profiles/export?country_id=NG`, { headers: { cookie: who.cookie } })
  t.equal(res.status, 200)
  t.equal(res.headers.get('content-disposition'), 'attachment; filename="profiles_slow.csv"')
  const reader = res.body!.getReader()
  const first = await reader.read()
  t.equal(Buffer.from(first.value!).toString(), 'id,name\n', 'the header row, while the API waits')
  t.equal(portal.fake.exportOutcome, undefined, 'the API has not finished')
  release()
  let rest = ''
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    rest += Buffer.from(value).toString()
  }
  t.equal(rest.trim().split('\n').length, 1000)
  t.equal(portal.fake.exportOutcome, 'finished')
})

t.test('a browser that goes away mid-download stops the API stream', async (t) => {
  let release: () => void = () => {}
  portal.fake.options.exportGate = new Promise<void>((resolve) => {
    release = resolve
  })
  t.teardown(() => {
    portal.fake.options.exportGate = undefined
    release()
  })
  // node:http rather than fetch: aborting a fetch leaves undici's socket open, a real browser closes it.
  await new Promise<void>((resolve, reject) => {
    const req = http.get(`${url}/profiles/export`, { headers: { cookie: who.cookie } }, (res) => {
      res.once('data', () => {
        req.destroy()
        resolve()
      })
    })
    req.once('error', reject)
  })
  for (let i = 0; i < 50 && portal.fake.exportOutcome === undefined; i++) await new Promise((r) => setTimeout(r, 20))
  t.equal(portal.fake.exportOutcome, 'aborted', 'the portal closed its connection to the API')
})
