/**
 * The portal when things around it fail: its database or the API down (a 503 page with
 * Retry-After, never "500 Something went wrong"), and clients too slow to send a request (408 in
 * the portal's page style).
 */
import net from 'node:net'
import t from 'tap'
import { createDb } from '../../db/index.ts'
import { createTestDatabase } from '../helpers/database.ts'
import { startTcpProxy } from '../helpers/tcp-proxy.ts'
import { startFakeApi } from './fake-api.ts'
import { buildFakePortal } from './helpers.ts'

t.setTimeout(300_000)

t.test('the portal database down: 503 with Retry-After, then back to normal', async (t) => {
  const real = await createTestDatabase(t)
  const url = new URL(real.url)
  const proxy = await startTcpProxy(url.hostname, Number(url.port))
  t.teardown(() => proxy.close())
  url.port = String(proxy.port)
  const db = createDb({ databaseUrl: url.toString(), poolMax: 2, connectionTimeoutMs: 1000 })
  t.teardown(() => db.close())
  // no session cache: every request reads its session row
  const portal = await buildFakePortal(t, { db: { ...db, url: url.toString(), kind: real.kind }, env: { PORTAL_SESSION_CACHE_MS: '0' } })
  const who = await portal.signIn('octo-analyst')
  t.equal((await portal.get('/profiles', who)).statusCode, 200)
  await proxy.cut()
  for (const path of ['/profiles', '/', '/account']) {
    const down = await portal.get(path, who)
    t.equal(down.statusCode, 503, `${path}: 503`)
    t.equal(down.headers['retry-after'], '30', 'Retry-After')
    t.match(down.body, /cannot reach its database/)
    t.match(down.body, /Reference: /, 'the request id, for support')
    t.notMatch(down.body, /Something went wrong|ECONNREFUSED|Connection terminated/, 'no generic 500, no internals')
  }
  const json = await portal.get('/profiles', who, { accept: 'application/json' })
  t.equal(json.statusCode, 503)
  t.equal(json.json().status, 'error')
  await proxy.restore()
  let back = 0
  for (let i = 0; i < 20 && back !== 200; i++) back = (await portal.get('/profiles', who)).statusCode
  t.equal(back, 200, 'the portal recovers when the database is back')
})

t.test('the API unreachable: 503 with Retry-After', async (t) => {
  const fake = await startFakeApi()
  const portal = await buildFakePortal(t, { fake })
  const who = await portal.signIn('octo-analyst')
  t.equal((await portal.get('/profiles', who)).statusCode, 200)
  await fake.close()
  const down = await portal.get('/profiles?gender=female', who)
  t.equal(down.statusCode, 503)
  t.equal(down.headers['retry-after'], '30')
  t.match(down.body, /data service cannot be reached/)
  t.notMatch(down.body, /Something went wrong/)
})

/** Sends `parts` on a raw connection and reads until the portal closes it (bounded). */
async function rawExchange(port: number, parts: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1')
    let answer = ''
    const cap = setTimeout(() => {
      socket.destroy()
      reject(new Error(`no answer within 20 s; got ${JSON.stringify(answer.slice(0, 200))}`))
    }, 20_000)
    socket.setEncoding('utf8')
    socket.on('data', (chunk: string) => {
      answer += chunk
    })
    socket.once('close', () => {
      clearTimeout(cap)
      resolve(answer)
    })
    socket.once('error', () => {})
    socket.once('connect', () => {
      for (const part of parts) socket.write(part)
    })
  })
}

t.test('a request that arrives too slowly is answered 408 in the portal style', async (t) => {
  const portal = await buildFakePortal(t, { env: { PORTAL_REQUEST_TIMEOUT_MS: '1500', PORTAL_HEADERS_TIMEOUT_MS: '600' } })
  await portal.app.listen({ host: '127.0.0.1', port: 0 })
  const port = (portal.app.server.address() as net.AddressInfo).port
  t.equal(portal.app.server.requestTimeout, 1500, 'requestTimeout from the configuration')
  t.equal(portal.app.server.headersTimeout, 600, 'headers timeout from the configuration')
  t.equal(portal.app.server.keepAliveTimeout, 72_000, 'keep-alive timeout (default)')
  t.equal(portal.app.server.timeout, 60_000, 'connection (idle socket) timeout (default)')

  const headers = await rawExchange(port, ['GET /profiles HTTP/1.1\r\nHost: localhost\r\nX-Slow: '])
  t.match(headers, /^HTTP\/1\.1 408 Request Timeout\r\n/, 'headers that never finish: 408')
  t.match(headers, /content-type: text\/html; charset=utf-8/i)
  t.match(headers, /<h1 id="error-title">That took too long<\/h1>/, 'the portal’s error page')
  t.match(headers, /href="\/static\/portal.css"/)

  const body = await rawExchange(port, [
    `POST /auth/login HTTP/1.1\r\nHost: localhost\r\nOrigin: http://localhost:3001\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\nnext=%2F`,
  ])
  t.match(body, /^HTTP\/1\.1 408 /, 'a body that stops arriving: 408')
  t.match(body, /That took too long/)

  const garbage = await rawExchange(port, ['NOT-HTTP\r\n\r\n'])
  t.match(garbage, /^HTTP\/1\.1 400 Bad Request\r\n/, 'a malformed request: 400 in the same style')
  t.match(garbage, /error-page/)

  const fine = await fetch(`http://127.0.0.1:${port}/healthz`)
  t.equal(fine.status, 200, 'ordinary requests are unaffected')
})

t.test('timeouts are configuration, and a headers limit above the request limit is refused', async (t) => {
  const { loadPortalConfig } = await import('../../portal/config.ts')
  t.throws(() => loadPortalConfig({ PORTAL_REQUEST_TIMEOUT_MS: '1000', PORTAL_HEADERS_TIMEOUT_MS: '5000' }), /PORTAL_HEADERS_TIMEOUT_MS/)
  t.throws(() => loadPortalConfig({ PORTAL_REQUEST_TIMEOUT_MS: '0' }), /PORTAL_REQUEST_TIMEOUT_MS/, '0 (no limit) is refused')
  const config = loadPortalConfig({})
  t.same(config.timeouts, { requestMs: 300_000, headersMs: 20_000, connectionMs: 60_000, keepAliveMs: 72_000 })
})
