/**
 * The request log (issue 11 §7, issue 13): one line per request whatever its end — finished, failed,
 * or cut off by the client mid-download or mid-upload — with the request id once, nothing built for
 * a level that does not print, and LOG_FORMAT=pretty for development.
 */
import { newId } from '../../contract/ids.ts'
import { connect, type Socket } from 'node:net'
import { PassThrough } from 'node:stream'
import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { sql } from 'kysely'
import { buildApiApp } from '../../api/app.ts'
import { loadApiConfig } from '../../api/config.ts'
import { authHeaders, buildTestApi, TEST_ENV } from '../helpers/api.ts'
import type { Teardown } from '../helpers/database.ts'

const api = await buildTestApi(t, { seed: true })

interface Capture {
  lines: Record<string, unknown>[]
  raw: string[]
}

/** The API on the shared test database, logging into memory with the given settings. */
async function loggedApi(t: Teardown, env: Record<string, string> = {}) {
  const capture: Capture = { lines: [], raw: [] }
  const stream = new PassThrough()
  stream.on('data', (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n')) {
      if (!line.trim()) continue
      capture.raw.push(line)
      if (line.startsWith('{')) capture.lines.push(JSON.parse(line) as Record<string, unknown>)
    }
  })
  const app = await buildApiApp({ config: loadApiConfig({ ...TEST_ENV, LOG_LEVEL: 'info', ...env }), db: api.db, logStream: stream })
  t.teardown(() => app.close())
  return { app, capture }
}

const accessLines = (c: Capture, reqId?: string) => c.lines.filter((l) => l.msg === 'request' && (reqId === undefined || l.reqId === reqId))

/** Waits (bounded) until `check` holds; the log is written asynchronously to the connection's end. */
async function eventually(check: () => boolean, ms = 10_000): Promise<boolean> {
  const until = Date.now() + ms
  while (Date.now() < until) {
    if (check()) return true
    await sleep(20)
  }
  return check()
}

t.test('one line per request; the request id appears once; errors carry it once too', async (t) => {
  const { app, capture } = await loggedApi(t)
  const analyst = await authHeaders(app, 'analyst')
  const ok = await app.inject({ method: 'GET', url: '/api/profiles?limit=1', headers: { ...analyst, 'x-request-id': 'trace-one-line-1' } })
  t.equal(ok.statusCode, 200)
  const missing = await app.inject({ method: 'GET', url: '/api/profiles', headers: { 'x-request-id': 'trace-one-line-2' } })
  t.equal(missing.statusCode, 400)
  await eventually(() => accessLines(capture).length >= 2)
  for (const id of ['trace-one-line-1', 'trace-one-line-2']) {
    const lines = capture.raw.filter((l) => l.includes(id))
    t.equal(lines.length, 1, `${id}: one line`)
    t.equal(lines[0].split('"reqId"').length - 1, 1, `${id}: reqId once in the line`)
  }
  t.match(accessLines(capture, 'trace-one-line-1')[0], { level: 30, method: 'GET', route: '/api/profiles', url: '/api/profiles?limit=1', status: 200, ms: Number })
  t.match(accessLines(capture, 'trace-one-line-2')[0], { level: 30, status: 400 })
})

t.test('a request that logs nothing builds no child logger; lines it does write, and the access line, carry the request id once', async (t) => {
  const { app, capture } = await loggedApi(t)
  // Every request logger is a child of app.log, made through the factory: count the ones made
  // (pino children inherit from their parent, so a grandchild goes through here too: not counted).
  let built = 0
  type Child = (this: unknown, ...args: unknown[]) => unknown
  const log = app.log as unknown as { child: Child }
  const child = log.child
  log.child = function (this: unknown, ...args: unknown[]) {
    if (this === log) built++
    return child.apply(this, args)
  }
  app.get('/test/request-logger', { config: { access: 'public' } }, async (request) => {
    request.log.debug('below the level: not printed, nothing built')
    if ((request.query as { say?: string }).say) {
      request.log.info({ detail: 'from the handler' }, 'handler line')
      request.log.child({ part: 'nested' }).warn('nested line')
    }
    return { ok: true }
  })
  for (let i = 0; i < 3; i++) {
    await app.inject({ method: 'GET', url: '/health', headers: { 'x-request-id': `trace-lazy-health-${i}` } })
    await app.inject({ method: 'GET', url: '/test/request-logger', headers: { 'x-request-id': `trace-lazy-quiet-${i}` } })
  }
  t.equal(built, 0, 'six requests that log nothing: no child logger built')
  t.ok(await eventually(() => accessLines(capture).length >= 6))
  t.match(accessLines(capture, 'trace-lazy-quiet-1')[0], { level: 30, reqId: 'trace-lazy-quiet-1', method: 'GET', route: '/test/request-logger', url: '/test/request-logger', status: 200, ms: Number })
  t.match(accessLines(capture, 'trace-lazy-health-2')[0], { level: 30, reqId: 'trace-lazy-health-2', method: 'GET', route: '/health', status: 200, ms: Number })

  const res = await app.inject({ method: 'GET', url: '/test/request-logger?say=1', headers: { 'x-request-id': 'trace-lazy-say' } })
  t.equal(res.statusCode, 200)
  t.equal(res.headers['x-request-id'], 'trace-lazy-say')
  t.equal(built, 1, 'a request that writes lines builds its logger once')
  t.ok(await eventually(() => accessLines(capture, 'trace-lazy-say').length === 1))
  const lines = capture.raw.filter((l) => l.includes('trace-lazy-say'))
  t.equal(lines.length, 3, 'the handler line, the nested line, the access line')
  for (const line of lines) t.equal(line.split('"reqId"').length - 1, 1, 'reqId once in each')
  t.match(capture.lines.find((l) => l.msg === 'handler line'), { level: 30, reqId: 'trace-lazy-say', detail: 'from the handler' })
  t.match(capture.lines.find((l) => l.msg === 'nested line'), { level: 40, reqId: 'trace-lazy-say', part: 'nested' })
  t.match(accessLines(capture, 'trace-lazy-say')[0], { level: 30, method: 'GET', route: '/test/request-logger', url: '/test/request-logger?say=1', status: 200, ms: Number })
  t.notOk(capture.raw.some((l) => l.includes('below the level')), 'debug lines are not printed at info')
})

t.test('LOG_LEVEL=warn: no access line is built for a success, 5xx lines still are', async (t) => {
  const { app, capture } = await loggedApi(t, { LOG_LEVEL: 'warn' })
  for (let i = 0; i < 5; i++) await app.inject({ method: 'GET', url: '/health' })
  await sleep(50)
  t.same(accessLines(capture), [], 'nothing at info')
})

t.test('LOG_FORMAT=pretty: one human-readable line per request, secrets still redacted', async (t) => {
  const { app, capture } = await loggedApi(t, { LOG_FORMAT: 'pretty' })
  await app.inject({ method: 'GET', url: '/health?state=SECRETSTATE', headers: { 'x-request-id': 'trace-pretty-1' } })
  t.ok(await eventually(() => capture.raw.some((l) => l.includes('trace-pretty-1'))))
  const line = capture.raw.find((l) => l.includes('trace-pretty-1')) ?? ''
  t.match(line, /^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: GET \/health\?state=%5BREDACTED%5D 200 [\d.]+ms \(trace-pretty-1\)$/)
  t.notOk(capture.raw.join('\n').includes('SECRETSTATE'))
  t.throws(() => loadApiConfig({ LOG_FORMAT: 'yaml' }), /LOG_FORMAT/)
  t.equal(loadApiConfig({}).logFormat, 'json', 'json by default')
})

/** Opens a raw connection and sends `head` (and optionally part of a body). */
function open(port: number, data: string | Buffer): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.write(data)
      resolve(socket)
    })
    socket.on('error', reject)
  })
}

t.test('an export the client abandons mid-download leaves one line: 499, aborted, the cause', async (t) => {
  // Enough rows that the CSV cannot fit in the socket buffers: the response is still being written
  // when the client goes.
  const ids = Array.from({ length: 60000 }, () => newId())
  await sql`INSERT INTO profiles (id, name, gender, gender_probability, age, age_group, country_id, country_name, country_probability)
    SELECT id, 'bulk-export-' || i, 'male', 0.9, 30, 'adult', 'NG', 'Nigeria', 0.5
    FROM unnest(${ids}::uuid[]) WITH ORDINALITY AS t(id, i)`.execute(api.db.db)
  const { app, capture } = await loggedApi(t)
  const analyst = await authHeaders(app, 'analyst')
  const url = new URL(await app.listen({ host: '127.0.0.1', port: 0 }))
  const socket = await open(
    Number(url.port),
    `GET /api/profiles/export?format=csv HTTP/1.1\r\nHost: x\r\nAuthorization: ${analyst.authorization}\r\nX-API-Version: 1\r\nX-Request-Id: trace-export-abort\r\n\r\n`,
  )
  await new Promise<void>((resolve) => socket.once('data', () => resolve()))
  socket.pause()
  await sleep(200)
  socket.destroy()
  t.ok(await eventually(() => accessLines(capture, 'trace-export-abort').length > 0), 'a line is written')
  await sleep(300)
  const lines = accessLines(capture, 'trace-export-abort')
  t.equal(lines.length, 1, 'exactly one')
  t.match(lines[0], {
    level: 30,
    route: '/api/profiles/export',
    status: 499,
    outcome: 'aborted',
    cause: 'client closed the connection before the response was complete',
    sent_status: 200,
    ms: Number,
  })
  t.same(capture.lines.filter((l) => Number(l.level) >= 50), [], 'nothing at error level')
})

t.test('an upload the client aborts leaves one line: 499, aborted; not an error, not "database unavailable"', async (t) => {
  const { app, capture } = await loggedApi(t)
  const admin = await authHeaders(app, 'admin')
  const url = new URL(await app.listen({ host: '127.0.0.1', port: 0 }))
  const boundary = '----insightaabort'
  const rows = Array.from({ length: 2000 }, (_, i) => `upload-abort-${i},female,31,GH,0.9,0.6`).join('\r\n')
  const start = `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="p.csv"\r\nContent-Type: text/csv\r\n\r\nname,gender,age,country_id,gender_probability,country_probability\r\n${rows}\r\n`
  const socket = await open(
    Number(url.port),
    `POST /api/profiles/import HTTP/1.1\r\nHost: x\r\nAuthorization: ${admin.authorization}\r\nX-API-Version: 1\r\nX-Request-Id: trace-upload-abort\r\n` +
      `Content-Type: multipart/form-data; boundary=${boundary}\r\nContent-Length: ${Buffer.byteLength(start) + 1_000_000}\r\n\r\n${start}`,
  )
  await sleep(500)
  socket.destroy()
  t.ok(await eventually(() => accessLines(capture, 'trace-upload-abort').length > 0), 'a line is written')
  await sleep(500)
  const lines = accessLines(capture, 'trace-upload-abort')
  t.equal(lines.length, 1, 'exactly one')
  t.match(lines[0], { level: 30, route: '/api/profiles/import', status: 499, outcome: 'aborted', cause: 'client aborted the request body' })
  t.same(capture.lines.filter((l) => Number(l.level) >= 50), [], 'nothing at error level')
  t.notOk(capture.raw.some((l) => l.includes('database unavailable')), 'not a database outage')
  const health = await app.inject({ method: 'GET', url: '/readyz' })
  t.equal(health.statusCode, 200, 'and the API is fine')
})
