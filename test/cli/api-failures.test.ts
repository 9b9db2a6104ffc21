/**
 * What the user sees when the API is down, is not the API, or says no: one sentence and the exit
 * code for the failure class (docs/cli.md, "Exit codes"), never a stack trace or an HTML page.
 */
import { readdir } from 'node:fs/promises'
import t from 'tap'
import { searchExamplesText } from '../../cli/commands/profiles.ts'
import { ExitCode } from '../../cli/errors.ts'
import { closedPortUrl, expectExit, runCli, tempDir } from './helpers/run-cli.ts'
import { reply, replyJson, startScriptedServer } from './helpers/scripted-server.ts'

// Each case starts real CLI processes (~0.4 s each on an idle machine); leave room on a busy one.
t.setTimeout(300_000)

const ID = '0190a4b2-7c1e-7d3a-9f00-1234567890ab'

async function cli(t: Tap, url: string, args: string[]) {
  const home = await tempDir(t)
  return runCli(args, { home, env: { INSIGHTA_TOKEN: 'test-token', INSIGHTA_API_URL: url } })
}
type Tap = { teardown(fn: () => unknown): void }

t.test('an API that is down: network exit code', async (t) => {
  const url = await closedPortUrl()
  const result = await cli(t, url, ['profiles', 'list'])
  t.equal(result.code, ExitCode.network)
  t.equal(result.stderr, `error: Could not reach the API at ${url} (connection refused; is it running?).\n`)
  t.equal(result.stdout, '')
})

t.test('an unknown host: network exit code', async (t) => {
  const result = await cli(t, 'http://insighta.invalid', ['profiles', 'list'])
  t.equal(result.code, ExitCode.network)
  t.match(result.stderr, /^error: Could not reach the API at http:\/\/insighta\.invalid \((host not found|host name lookup failed)\)\.\n$/)
})

t.test('HTML instead of the API (a proxy error page, a captive portal): server exit code, no HTML shown', async (t) => {
  const server = await startScriptedServer(t)
  const html = '<html><body><h1>502 Bad Gateway</h1><script>x</script></body></html>'
  server.respond = reply(502, html, { 'content-type': 'text/html' })
  const bad = await cli(t, server.url, ['profiles', 'list'])
  t.equal(bad.code, ExitCode.server)
  t.equal(bad.stderr, `error: The API at ${server.url} returned an unexpected response (HTTP 502).\n`)

  server.respond = reply(200, html, { 'content-type': 'text/html' })
  const ok200 = await cli(t, server.url, ['profiles', 'stats'])
  t.equal(ok200.code, ExitCode.server)
  t.equal(ok200.stderr, `error: The API at ${server.url} returned an unexpected response (HTTP 200).\n`)

  server.respond = reply(200, '{"status":"success","page":1,', { 'content-type': 'application/json' })
  const truncated = await cli(t, server.url, ['profiles', 'list'])
  t.equal(truncated.code, ExitCode.server)
  t.match(truncated.stderr, /unexpected response \(HTTP 200\)/)

  server.respond = replyJson(200, { status: 'success', surprise: true })
  const wrongShape = await cli(t, server.url, ['profiles', 'list'])
  t.equal(wrongShape.code, ExitCode.server)
  t.match(wrongShape.stderr, /unexpected response \(HTTP 200\)/)
})

t.test('a redirect is not followed (the token would go along); the message names the target', async (t) => {
  const server = await startScriptedServer(t)
  server.respond = reply(301, '', { location: 'https://api.example.com/api/profiles' })
  const result = await cli(t, server.url, ['profiles', 'list'])
  expectExit(t, result, ExitCode.server)
  t.equal(result.stderr, `error: The API at ${server.url} redirects to https://api.example.com: use that address (insighta login --api-url https://api.example.com).\n`)
  t.equal(server.requests.length, 1)
})

t.test("the API's error message is shown, with the exit code of its status", async (t) => {
  const server = await startScriptedServer(t)
  const cases: [number, string, string[], number, string, Record<string, string>?][] = [
    [404, 'Profile not found', ['profiles', 'get', ID], ExitCode.notFound, 'error: Profile not found.\n'],
    [403, 'Forbidden: admin role required', ['profiles', 'create', '--name', 'Ada'], ExitCode.permission, 'error: Forbidden: admin role required.\n'],
    [422, 'Invalid query parameters', ['profiles', 'list'], ExitCode.usage, 'error: Invalid query parameters.\n'],
    [400, 'Unable to interpret query', ['profiles', 'search', 'hello'], ExitCode.usage, `error: Unable to interpret query.\n${searchExamplesText()}\n`],
    [502, 'Genderize returned an invalid response', ['profiles', 'create', '--name', 'Ada'], ExitCode.server, 'error: Genderize returned an invalid response (request id req-7).\n', { 'x-request-id': 'req-7' }],
    [429, 'Too many requests', ['profiles', 'list'], ExitCode.server, 'error: Too many requests: try again in 12 seconds.\n', { 'retry-after': '12' }],
    [405, 'Method not allowed', ['profiles', 'list'], ExitCode.server, 'error: Method not allowed.\n'],
  ]
  for (const [status, message, args, code, stderr, headers] of cases) {
    server.respond = replyJson(status, { status: 'error', message }, headers)
    const result = await cli(t, server.url, args)
    t.equal(result.code, code, `${status} → exit ${code}`)
    t.equal(result.stderr, stderr, `${status} message`)
  }
})

t.test('control characters from the server never reach the terminal', async (t) => {
  const server = await startScriptedServer(t)
  server.respond = replyJson(404, { status: 'error', message: 'Not\u001b[31m found\u0007' })
  const result = await cli(t, server.url, ['profiles', 'get', ID])
  t.equal(result.code, ExitCode.notFound)
  t.notOk([...result.stderr.slice(0, -1)].some((c) => c.charCodeAt(0) < 0x20), 'no control character before the final newline')
  t.match(result.stderr, /Not \[31m found/)
})

t.test('export: an answer that is not CSV fails and leaves no file behind', async (t) => {
  const server = await startScriptedServer(t)
  server.respond = reply(200, '<html>login</html>', { 'content-type': 'text/html' })
  const home = await tempDir(t)
  const result = await runCli(['profiles', 'export', '--format', 'csv'], { home, env: { INSIGHTA_TOKEN: 'x', INSIGHTA_API_URL: server.url } })
  t.equal(result.code, ExitCode.server)
  t.match(result.stderr, /unexpected response \(HTTP 200\)/)
  t.same(await readdir(home), [])
})

t.test('export: a stream cut off midway leaves no partial file', async (t) => {
  const server = await startScriptedServer(t)
  server.respond = (_request, response) => {
    response.writeHead(200, { 'content-type': 'text/csv; charset=utf-8' })
    response.write('id,name\r\n1,a\r\n')
    setTimeout(() => response.destroy(), 50)
  }
  const home = await tempDir(t)
  const result = await runCli(['profiles', 'export'], { home, env: { INSIGHTA_TOKEN: 'x', INSIGHTA_API_URL: server.url } })
  t.equal(result.code, ExitCode.network)
  t.match(result.stderr, `error: The export from ${server.url} was interrupted (`)
  t.match(result.stderr, /nothing was saved\.\n$/)
  t.same(await readdir(home), [], 'neither the target nor the temporary file')
})

t.test('export: a missing output folder is refused before anything is downloaded', async (t) => {
  const server = await startScriptedServer(t)
  const home = await tempDir(t)
  const result = await runCli(['profiles', 'export', '--output', 'nowhere/x.csv'], { home, env: { INSIGHTA_TOKEN: 'x', INSIGHTA_API_URL: server.url } })
  t.equal(result.code, ExitCode.usage)
  t.match(result.stderr, /error: The folder .*nowhere does not exist\./)
  t.equal(server.requests.length, 0)
})
