/**
 * Input edges (issue 11 §5): control characters refused by schema on every route, empty bodies with
 * a Content-Type, and what Node or the router reject before a route runs — all in the envelope.
 */
import { connect } from 'node:net'
import { PassThrough } from 'node:stream'
import t from 'tap'
import { buildApiApp } from '../../api/app.ts'
import { loadApiConfig } from '../../api/config.ts'
import { isSafeTextSchema } from '../../contract/text.ts'
import { authHeaders, buildTestApi, TEST_ENV, V1 } from '../helpers/api.ts'

const api = await buildTestApi(t, { seed: true, env: { GITHUB_CLIENT_ID: 'walk-id', GITHUB_CLIENT_SECRET: 'walk-secret' } })

/** The same app, logging at info into memory, so a test can show that no line is an error with a stack. */
const logLines: Record<string, unknown>[] = []
const logStream = new PassThrough()
logStream.on('data', (chunk: Buffer) => {
  for (const line of chunk.toString().split('\n')) if (line.trim()) logLines.push(JSON.parse(line))
})
const logged = await buildApiApp({
  config: loadApiConfig({ ...TEST_ENV, LOG_LEVEL: 'info', GITHUB_CLIENT_ID: 'walk-id', GITHUB_CLIENT_SECRET: 'walk-secret' }),
  db: api.db,
  logStream,
})
t.teardown(() => logged.close())
const admin = await authHeaders(logged, 'admin')

const CONTROL_VALUES = ['a\u0000b', '\u0000', 'a\u001bb', 'line\nbreak', 'a\u007fb', 'a\u0085b', 'a\u009fb']
const UUID = '0190a000-0000-7000-8000-000000000000'

function isEnvelope(body: unknown): boolean {
  return (
    typeof body === 'object' &&
    body !== null &&
    (body as { status?: unknown }).status === 'error' &&
    typeof (body as { message?: unknown }).message === 'string'
  )
}

function errorLines() {
  return logLines.filter((l) => typeof l.level === 'number' && l.level >= 50)
}

t.test('the three reproductions of issue 11: 422 in the envelope, no 500, no error line', async (t) => {
  const before = errorLines().length
  const challenge = 'a'.repeat(43)
  const github = await logged.inject({
    method: 'GET',
    url: `/auth/github?client_id=insighta-cli&redirect_uri=http://127.0.0.1:9/callback&state=a%00b&code_challenge=${challenge}&code_challenge_method=S256`,
  })
  t.equal(github.statusCode, 422)
  t.same(github.json(), { status: 'error', message: 'Invalid query parameters' })
  t.equal(github.headers['x-api-version'], '1')
  t.equal(github.headers['access-control-allow-origin'], '*')

  const users = await logged.inject({ method: 'GET', url: '/api/users?q=%00', headers: admin })
  t.equal(users.statusCode, 422)
  t.same(users.json(), { status: 'error', message: 'Invalid query parameters' })

  const create = await logged.inject({
    method: 'POST',
    url: '/api/profiles',
    headers: { ...admin, 'content-type': 'application/json' },
    payload: '{"name":"a\\u0000b"}',
  })
  t.equal(create.statusCode, 422)
  t.same(create.json(), { status: 'error', message: 'Invalid name: control characters are not allowed' })

  const search = await logged.inject({ method: 'GET', url: '/api/profiles/search?q=young%00males', headers: admin })
  t.equal(search.statusCode, 422)
  const badId = await logged.inject({ method: 'GET', url: '/api/profiles/a%00b', headers: admin })
  t.equal(badId.statusCode, 404, 'a malformed id is an unknown id')
  t.same(badId.json(), { status: 'error', message: 'Profile not found' })

  await new Promise((r) => setImmediate(r))
  t.same(errorLines().slice(before), [], 'nothing logged at error level')
  t.notOk(JSON.stringify(logLines).includes('"stack"'), 'no stack in the log')
})

t.test('plain text still passes: names, queries and states with accents, quotes and emoji', async (t) => {
  const users = await api.app.inject({ method: 'GET', url: `/api/users?q=${encodeURIComponent('Zoë "x" 🚀')}`, headers: await api.headers('admin') })
  t.equal(users.statusCode, 200)
  const search = await api.app.inject({ method: 'GET', url: '/api/profiles/search?q=young%20males%20from%20nigeria', headers: await api.headers('admin') })
  t.equal(search.statusCode, 200)
  t.equal(search.json().total, 9)
})

interface OpenApiParameter {
  name: string
  in: 'query' | 'path' | 'header'
  schema?: Record<string, unknown>
}
interface OpenApiOperation {
  parameters?: OpenApiParameter[]
  requestBody?: { content?: Record<string, { schema?: { properties?: Record<string, Record<string, unknown>> } }> }
}

/** A free-text field: a string with no enum/const narrowing it (those refuse control characters by themselves). */
/**
 * A string input that could carry arbitrary text: no enum or const, and no pattern of its own that
 * already refuses every control value (such as `country_id`'s `^[A-Z]{2}(,[A-Z]{2})*$`).
 */
function isFreeText(schema: Record<string, unknown> | undefined): boolean {
  if (!schema) return false
  if (schema.type !== 'string' || schema.enum !== undefined || schema.const !== undefined) return false
  if (typeof schema.pattern === 'string' && !isSafeTextSchema(schema)) {
    const own = new RegExp(schema.pattern, 'u')
    if (CONTROL_VALUES.every((value) => !own.test(value))) return false
  }
  return true
}

t.test('every route of the OpenAPI document, every declared string field, every control character: never a 5xx', async (t) => {
  const doc = (await api.app.inject({ method: 'GET', url: '/docs/json' })).json() as {
    paths: Record<string, Record<string, OpenApiOperation>>
  }
  const adminHeaders = await api.headers('admin')
  let requests = 0
  let passed = 0
  const undeclared: string[] = []
  for (const [path, operations] of Object.entries(doc.paths)) {
    for (const [method, operation] of Object.entries(operations)) {
      if (!['get', 'post', 'patch', 'delete', 'put'].includes(method)) continue
      const params = operation.parameters ?? []
      const pathParams = params.filter((p) => p.in === 'path').map((p) => p.name)
      const fill = (bad?: { name: string; value: string }) =>
        path.replace(/\{([^}]+)\}/g, (_, name: string) => encodeURIComponent(bad?.name === name ? bad.value : UUID))
      const jsonBody = operation.requestBody?.content?.['application/json']?.schema?.properties ?? {}

      const cases: { label: string; url: string; payload?: Record<string, string>; expect: number[] }[] = []
      for (const value of CONTROL_VALUES) {
        for (const name of pathParams) {
          cases.push({ label: `path ${name}`, url: fill({ name, value }), expect: [404] })
        }
        for (const p of params.filter((p) => p.in === 'query')) {
          const url = `${fill()}?${new URLSearchParams({ [p.name]: value }).toString()}`
          // A free-text field is refused by its own pattern; a typed one (enum, integer) by its type.
          cases.push({ label: `query ${p.name}`, url, expect: [400, 422] })
        }
        for (const [name, schema] of Object.entries(jsonBody)) {
          cases.push({ label: `body ${name}`, url: fill(), payload: { [name]: value }, expect: [400, 422] })
          if (value === CONTROL_VALUES[0] && isFreeText(schema) && !isSafeTextSchema(schema)) undeclared.push(`${method} ${path} body.${name}`)
        }
      }
      for (const p of params) {
        if (p.in !== 'header' && isFreeText(p.schema) && !isSafeTextSchema(p.schema ?? {})) {
          undeclared.push(`${method} ${path} ${p.in}.${p.name}`)
        }
      }

      for (const c of cases) {
        requests += 1
        const res = await api.app.inject({
          method: method.toUpperCase() as 'GET',
          url: c.url,
          headers: { ...adminHeaders, ...V1, ...(c.payload ? { 'content-type': 'application/json' } : {}) },
          ...(c.payload ? { payload: JSON.stringify(c.payload) } : {}),
        })
        const what = `${method.toUpperCase()} ${path} ${c.label}=${JSON.stringify(c.payload ?? c.url)}`
        const ok = res.statusCode < 500 && c.expect.includes(res.statusCode) && isEnvelope(res.json()) && res.headers['x-api-version'] === '1'
        if (!ok) t.fail(`${what}: ${res.statusCode} ${res.body}`)
        else passed += 1
      }
    }
  }
  t.ok(requests > 200, `walked ${requests} requests`)
  t.equal(passed, requests, 'each answered 4xx in the envelope with X-API-Version (expected status per field kind)')
  t.same(undeclared, [], 'every free-text input is declared as SafeText')
})

t.test('a route that takes no body accepts an empty one, whatever its Content-Type', async (t) => {
  const adminHeaders = await api.headers('admin')
  const types = ['application/json', 'application/json; charset=utf-8', 'text/plain', 'application/x-www-form-urlencoded']
  const list = await api.app.inject({ method: 'GET', url: `/api/profiles?limit=${types.length}`, headers: adminHeaders })
  const ids = (list.json().data as { id: string }[]).map((p) => p.id)
  t.equal(ids.length, types.length)
  for (const [i, type] of types.entries()) {
    // As Python `requests` sends it (Content-Length: 0); a JSON type also without any length.
    const length = i === 0 ? {} : { 'content-length': '0' }
    const del = await api.app.inject({ method: 'DELETE', url: `/api/profiles/${ids[i]}`, headers: { ...adminHeaders, 'content-type': type, ...length }, payload: '' })
    t.equal(del.statusCode, 204, `DELETE with ${type} and an empty body`)
    t.equal(del.body, '')
    const gone = await api.app.inject({ method: 'GET', url: `/api/profiles/${ids[i]}`, headers: adminHeaders })
    t.equal(gone.statusCode, 404, 'and the profile is gone')
  }

  const user = await api.user('analyst')
  for (const type of ['application/json', 'text/plain']) {
    const { accessToken, refreshToken } = await user.newSessionTokens()
    const out = await api.app.inject({
      method: 'POST',
      url: '/auth/logout',
      headers: { authorization: `Bearer ${accessToken}`, 'content-type': type, 'content-length': '0' },
      payload: '',
    })
    t.equal(out.statusCode, 200, `logout with ${type} and an empty body`)
    t.same(out.json(), { status: 'success', message: 'Logged out' })
    const refresh = await api.app.inject({ method: 'POST', url: '/auth/refresh', payload: { refresh_token: refreshToken } })
    t.equal(refresh.statusCode, 401, 'the session really ended')
  }
})

t.test('routes that need a body still answer their contract errors', async (t) => {
  const adminHeaders = await api.headers('admin')
  const empty = await api.app.inject({ method: 'POST', url: '/api/profiles', headers: { ...adminHeaders, 'content-type': 'application/json' }, payload: '' })
  t.equal(empty.statusCode, 400)
  t.same(empty.json(), { status: 'error', message: 'Missing request body' })
  const none = await api.app.inject({ method: 'POST', url: '/api/profiles', headers: adminHeaders })
  t.equal(none.statusCode, 400)
  t.same(none.json(), { status: 'error', message: 'Missing request body' })
  const blank = await api.app.inject({ method: 'POST', url: '/api/profiles', headers: adminHeaders, payload: { name: '  ' } })
  t.same(blank.json(), { status: 'error', message: 'Missing or empty name' })
  const missing = await api.app.inject({ method: 'POST', url: '/api/profiles', headers: adminHeaders, payload: {} })
  t.same(missing.json(), { status: 'error', message: 'Missing or empty name' })
  const wrongType = await api.app.inject({ method: 'POST', url: '/api/profiles', headers: adminHeaders, payload: { name: 5 } })
  t.equal(wrongType.statusCode, 422)
  t.same(wrongType.json(), { status: 'error', message: 'Invalid type' })
  const badJson = await api.app.inject({ method: 'POST', url: '/api/profiles', headers: { ...adminHeaders, 'content-type': 'application/json' }, payload: '{"name":' })
  t.equal(badJson.statusCode, 400)
  const poisoned = await api.app.inject({
    method: 'POST',
    url: '/api/profiles',
    headers: { ...adminHeaders, 'content-type': 'application/json' },
    payload: '{"name":"x","__proto__":{"admin":true}}',
  })
  t.equal(poisoned.statusCode, 400, 'prototype poisoning is still refused by the JSON parser')
  const refresh = await api.app.inject({ method: 'POST', url: '/auth/refresh', headers: { 'content-type': 'application/json' }, payload: '' })
  t.equal(refresh.statusCode, 400)
  t.same(refresh.json(), { status: 'error', message: 'Missing or empty refresh_token' })
})

/** One raw HTTP exchange over a socket: what a client sees, bytes and all. */
function rawExchange(port: number, request: Buffer | string): Promise<{ status: number; headers: Record<string, string>; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1')
    const chunks: Buffer[] = []
    const timer = setTimeout(() => {
      socket.destroy()
      reject(new Error('no answer within 10 s'))
    }, 10_000)
    socket.on('data', (d: Buffer) => chunks.push(d))
    socket.on('error', reject)
    socket.on('close', () => {
      clearTimeout(timer)
      const text = Buffer.concat(chunks).toString('latin1')
      const [head, ...rest] = text.split('\r\n\r\n')
      const [statusLine, ...headerLines] = head.split('\r\n')
      const headers: Record<string, string> = {}
      for (const line of headerLines) {
        const i = line.indexOf(':')
        headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim()
      }
      resolve({ status: Number(statusLine.split(' ')[1]), headers, body: rest.join('\r\n\r\n') })
    })
    socket.write(request)
  })
}

t.test('what the router and Node reject answers the envelope too (raw sockets)', async (t) => {
  const base = new URL(await logged.listen({ host: '127.0.0.1', port: 0 }))
  const port = Number(base.port)
  const auth = `Authorization: ${admin.authorization}\r\nX-API-Version: 1\r\n`

  const longId = await rawExchange(port, `GET /api/profiles/${'a'.repeat(5000)} HTTP/1.1\r\nHost: x\r\n${auth}Connection: close\r\n\r\n`)
  t.equal(longId.status, 404, 'a 5,000-character id is an unknown profile, not a 414')
  t.same(JSON.parse(longId.body), { status: 'error', message: 'Profile not found' })
  t.equal(longId.headers['x-api-version'], '1')

  const { accessToken } = await (await api.user('admin')).newSessionTokens()
  const logout = await rawExchange(
    port,
    `POST /auth/logout HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${accessToken}\r\nContent-Type: application/json\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`,
  )
  t.equal(logout.status, 200, 'POST /auth/logout, Content-Type: application/json, Content-Length: 0, over HTTP')
  t.same(JSON.parse(logout.body), { status: 'success', message: 'Logged out' })

  const longDelete = await rawExchange(port, `DELETE /api/profiles/${'b'.repeat(9000)} HTTP/1.1\r\nHost: x\r\n${auth}Connection: close\r\n\r\n`)
  t.equal(longDelete.status, 404)

  const hugeUrl = await rawExchange(port, `GET /api/profiles?gender=${'m'.repeat(17 * 1024)} HTTP/1.1\r\nHost: x\r\n${auth}Connection: close\r\n\r\n`)
  t.equal(hugeUrl.status, 431, 'a 17 KB URL')
  t.same(JSON.parse(hugeUrl.body), { status: 'error', message: 'Request headers or URL too large' })
  t.match(hugeUrl.headers['content-type'], /^application\/json/)
  t.equal(hugeUrl.headers['x-api-version'], '1')
  t.equal(hugeUrl.headers['access-control-allow-origin'], '*')

  const hugeHeader = await rawExchange(port, `GET /health HTTP/1.1\r\nHost: x\r\nX-Filler: ${'f'.repeat(20_000)}\r\n\r\n`)
  t.equal(hugeHeader.status, 431)
  t.ok(isEnvelope(JSON.parse(hugeHeader.body)))

  for (const byte of [0x00, 0x01, 0x7f]) {
    const bad = await rawExchange(
      port,
      Buffer.concat([Buffer.from('GET /health HTTP/1.1\r\nHost: x\r\nX-Bad: a'), Buffer.from([byte]), Buffer.from('b\r\n\r\n')]),
    )
    t.equal(bad.status, 400, `header byte 0x${byte.toString(16)}`)
    t.same(JSON.parse(bad.body), { status: 'error', message: 'Malformed HTTP request' })
    t.equal(bad.headers['x-api-version'], '1')
    t.equal(bad.headers['access-control-allow-origin'], '*')
  }

  const garbage = await rawExchange(port, 'NOT A REQUEST\r\n\r\n')
  t.equal(garbage.status, 400)
  t.ok(isEnvelope(JSON.parse(garbage.body)))

  // The server is still fine afterwards.
  const health = await rawExchange(port, 'GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
  t.equal(health.status, 200)
  await new Promise((r) => setImmediate(r))
  t.same(errorLines(), [], 'parser rejections are not errors of ours')
})
