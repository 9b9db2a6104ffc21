/**
 * Slow request bodies are not held forever (issue 11 §3): request, header and keep-alive timeouts
 * come from configuration, a request not received in time is a 408 in the contract's envelope, and
 * a stalled CSV upload aborts with 408 while the batches it committed stay.
 */
import net from 'node:net'
import { sql } from 'kysely'
import t from 'tap'
import { BATCH_SIZE } from '../../api/services/csv-import/import.ts'
import { loadApiConfig } from '../../api/config.ts'
import { buildTestApi } from '../helpers/api.ts'
import { eventually } from '../helpers/slow-client.ts'

const api = await buildTestApi(t, {
  env: {
    HTTP_REQUEST_TIMEOUT_MS: '1500',
    HTTP_HEADERS_TIMEOUT_MS: '1000',
    HTTP_KEEP_ALIVE_TIMEOUT_MS: '500',
  },
})
const url = new URL(await api.app.listen({ host: '127.0.0.1', port: 0 }))

/** A raw connection that records what comes back and when it closes. */
function rawConnection(port = Number(url.port)) {
  const socket = net.connect(port, '127.0.0.1')
  let text = ''
  socket.setEncoding('utf8')
  socket.on('data', (d: string) => (text += d))
  socket.on('error', () => {})
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()))
  let isClosed = false
  void closed.then(() => (isClosed = true))
  return { socket, text: () => text, closed, isClosed: () => isClosed }
}

function bodyOf(response: string): unknown {
  return JSON.parse(response.slice(response.indexOf('\r\n\r\n') + 4))
}

t.test('the server timeouts are the configured ones', async (t) => {
  const server = api.app.server
  t.equal(server.requestTimeout, 1500)
  t.equal(server.headersTimeout, 1000)
  t.equal(server.keepAliveTimeout, 500)
  const defaults = loadApiConfig({})
  t.same(defaults.http, { requestTimeoutMs: 120000, headersTimeoutMs: 10000, keepAliveTimeoutMs: 10000, connectionTimeoutMs: 60000 })
  t.equal(defaults.csvImport.idleTimeoutMs, 15000)
})

t.test('bodies trickling one byte at a time get 408 in the envelope and the connection closes', async (t) => {
  const clients = Array.from({ length: 10 }, () => rawConnection())
  for (const c of clients) {
    c.socket.write('POST /auth/refresh HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{')
  }
  const trickle = setInterval(() => {
    for (const c of clients) if (!c.isClosed()) c.socket.write(' ')
  }, 200)
  t.teardown(() => clearInterval(trickle))
  t.ok(await eventually(() => clients.every((c) => c.isClosed()), 15_000), 'every trickling connection was closed by the server')
  clearInterval(trickle)
  for (const c of clients) {
    t.match(c.text(), /^HTTP\/1\.1 408 /, '408')
    t.match(c.text(), /content-type: application\/json/i)
    t.same(bodyOf(c.text()), { status: 'error', message: 'Request timeout: the request was not received in time' })
  }
})

t.test('headers trickling in get 408 as well', async (t) => {
  const c = rawConnection()
  c.socket.write('GET /api/profiles HTTP/1.1\r\nHost: 127.0.0.1\r\n')
  const trickle = setInterval(() => !c.isClosed() && c.socket.write('X-A: b\r\n'), 200)
  t.teardown(() => clearInterval(trickle))
  t.ok(await eventually(c.isClosed, 15_000), 'closed by the server')
  clearInterval(trickle)
  t.match(c.text(), /^HTTP\/1\.1 408 /)
  t.match(bodyOf(c.text()), { status: 'error', message: /timeout/i })
})

t.test('an idle keep-alive connection is closed after the keep-alive timeout', async (t) => {
  const c = rawConnection()
  c.socket.write('GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n')
  t.ok(await eventually(() => c.text().includes('{"status":"ok"}')), 'answered')
  t.notOk(c.isClosed(), 'kept alive after the response')
  t.ok(await eventually(c.isClosed, 15_000), 'then closed by the server')
})

t.test('a request that arrives in time is unaffected', async (t) => {
  const res = await fetch(`${url.origin}/auth/refresh`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ refresh_token: 'x'.repeat(43) }),
  })
  t.equal(res.status, 401)
})

t.test('a stalled CSV upload aborts with 408; the committed batches stay', async (t) => {
  // Its own app: the whole-request timeout stays long, so only the upload's idle timeout can end it.
  const importer = await buildTestApi(t, { db: api.db, env: { IMPORT_IDLE_TIMEOUT_MS: '800' } })
  const port = Number(new URL(await importer.app.listen({ host: '127.0.0.1', port: 0 })).port)
  const admin = await importer.headers('admin')
  const boundary = 'stalled-upload-boundary'
  const rows = Array.from({ length: BATCH_SIZE * 2 + 100 }, (_, i) => `Stalled Upload ${i},female,30,NG,0.9,0.8`).join('\n')
  const head =
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="p.csv"\r\nContent-Type: text/csv\r\n\r\n` +
    `name,gender,age,country_id,gender_probability,country_probability\n${rows}\n`
  const c = rawConnection(port)
  c.socket.write(
    `POST /api/profiles/import HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: ${admin.authorization}\r\nX-API-Version: 1\r\n` +
      `Content-Type: multipart/form-data; boundary=${boundary}\r\nContent-Length: ${Buffer.byteLength(head) + 100000}\r\n\r\n${head}`,
  )
  // The upload stops here, long before its declared length, and the connection stays open.
  t.ok(await eventually(() => c.text().includes('\r\n\r\n{'), 15_000), 'answered while the upload stalls')
  t.match(c.text(), /^HTTP\/1\.1 408 /)
  const body = bodyOf(c.text()) as { status: string; message: string; report?: { inserted: number } }
  t.match(body, { status: 'error', message: /stalled/i, report: { inserted: Number } })
  t.ok(await eventually(c.isClosed, 5000), 'and the connection is closed')
  const { rows: counted } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM profiles WHERE name LIKE 'Stalled Upload %'`.execute(api.db.db)
  t.ok(counted[0].n >= BATCH_SIZE * 2, `committed batches stay (${counted[0].n})`)
  t.equal(counted[0].n, body.report?.inserted, 'the report says what was committed')

  const list = await importer.app.inject({ method: 'GET', url: '/api/profiles?limit=1', headers: admin })
  t.equal(list.statusCode, 200, 'the API carries on')
})
