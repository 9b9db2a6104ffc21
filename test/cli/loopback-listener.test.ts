/**
 * The login's loopback listener, driven by a raw HTTP client: only `GET /callback` with the right
 * state ends the wait; everything else is a 400 that leaves it waiting; nothing from the request is
 * reflected; one callback only; a taken port and a timeout give clear errors.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import net from 'node:net'
import path from 'node:path'
import t from 'tap'
import { ExitCode } from '../../cli/errors.ts'
import { startLoopbackListener, type LoopbackListener } from '../../cli/loopback-listener.ts'
import { runCli, tempDir, type Teardown } from './helpers/run-cli.ts'

const STATE = 'expected-state-0123456789abcdefghijklmnopqrstu'

interface RawResponse {
  status: number
  headers: string
  body: string
}

/** Sends bytes as given (path, method and Host included) and reads the whole answer. */
function raw(port: number, request: string): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1')
    let data = ''
    socket.setEncoding('utf8')
    socket.on('data', (chunk: string) => (data += chunk))
    socket.on('error', reject)
    socket.on('end', () => {
      const [head, ...rest] = data.split('\r\n\r\n')
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0), headers: head, body: rest.join('\r\n\r\n') })
    })
    socket.write(request)
  })
}

function get(port: number, target: string, host = `127.0.0.1:${port}`): Promise<RawResponse> {
  return raw(port, `GET ${target} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`)
}

function portOf(listener: LoopbackListener): number {
  return Number(new URL(listener.redirectUri).port)
}

async function start(t: Teardown, timeoutMs = 10_000, onCode = async (_code: string) => {}) {
  const codes: string[] = []
  const listener = await startLoopbackListener({
    port: 0,
    state: STATE,
    timeoutMs,
    onCode: async (code) => {
      codes.push(code)
      await onCode(code)
    },
  })
  t.teardown(() => listener.close())
  let settled = false
  void listener.done.then(
    () => (settled = true),
    () => (settled = true),
  )
  return { listener, port: portOf(listener), codes, settled: () => settled }
}

t.test('listens on 127.0.0.1 with an OS-assigned port and a /callback redirect URI', async (t) => {
  const { listener } = await start(t)
  t.match(listener.redirectUri, /^http:\/\/127\.0\.0\.1:\d+\/callback$/)
  t.not(portOf(listener), 0)
})

t.test('anything but GET /callback with the right state gets 400 and the wait goes on', async (t) => {
  const { port, codes, settled, listener } = await start(t)
  const attempts: [string, Promise<RawResponse>][] = [
    ['wrong path', get(port, `/other?state=${STATE}&code=c1`)],
    ['root', get(port, '/')],
    ['favicon', get(port, '/favicon.ico')],
    ['wrong state', get(port, '/callback?state=nope&code=c2')],
    ['missing state', get(port, '/callback?code=c3')],
    ['state prefix', get(port, `/callback?state=${STATE.slice(0, -1)}&code=c4`)],
    ['missing code', get(port, `/callback?state=${STATE}`)],
    ['empty code', get(port, `/callback?state=${STATE}&code=`)],
    ['POST', raw(port, `POST /callback?state=${STATE}&code=c5 HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`)],
    ['foreign Host header', get(port, `/callback?state=${STATE}&code=c6`, 'evil.example:80')],
  ]
  for (const [name, attempt] of attempts) t.equal((await attempt).status, 400, name)
  t.same(codes, [], 'no code was redeemed')
  t.equal(settled(), false, 'still waiting')

  const ok = await get(port, `/callback?state=${STATE}&code=the-code`)
  t.equal(ok.status, 200)
  t.match(ok.body, /You are logged in/)
  await listener.done
  t.same(codes, ['the-code'])
})

t.test('nothing from the request is reflected, and the page forbids scripts and referrers', async (t) => {
  const { port } = await start(t)
  const marker = '<script>alert(1)</script>'
  const bad = await get(port, `/callback?state=${encodeURIComponent(marker)}&code=${encodeURIComponent(marker)}`)
  t.equal(bad.status, 400)
  t.notMatch(bad.body, /script|alert/)
  const good = await get(port, `/callback?state=${STATE}&code=${encodeURIComponent(marker)}&extra=${encodeURIComponent(marker)}`)
  t.equal(good.status, 200)
  t.notMatch(good.body, /script|alert|extra/)
  t.match(good.headers, /content-security-policy: default-src 'none'/i)
  t.match(good.headers, /referrer-policy: no-referrer/i)
  t.match(good.headers, /cache-control: no-store/i)
})

t.test('a second callback is refused, even with the right state', async (t) => {
  let release!: () => void
  const redeeming = new Promise<void>((resolve) => (release = resolve))
  const { port, codes, listener } = await start(t, 10_000, () => redeeming)
  const first = get(port, `/callback?state=${STATE}&code=first`)
  // While the first code is being redeemed, a replay must not be accepted.
  await new Promise((r) => setTimeout(r, 50))
  const second = await get(port, `/callback?state=${STATE}&code=second`)
  t.equal(second.status, 400)
  release()
  t.equal((await first).status, 200)
  await listener.done
  t.same(codes, ['first'])
  await listener.close()
  await t.rejects(get(port, `/callback?state=${STATE}&code=third`), { code: 'ECONNREFUSED' }, 'closed after the login')
})

t.test('a failed redemption shows a generic failure page and rejects the wait', async (t) => {
  const { port, listener } = await start(t, 10_000, async () => {
    throw new Error('The API refused the login: <b>bad</b>')
  })
  const page = await get(port, `/callback?state=${STATE}&code=x`)
  t.equal(page.status, 200)
  t.match(page.body, /Login failed/)
  t.notMatch(page.body, /bad/)
  await t.rejects(listener.done, /refused the login/)
})

t.test('the user pressing Cancel (error with the right state) ends the wait; the reason goes to the terminal only', async (t) => {
  const { port, listener, codes } = await start(t)
  const page = await get(port, `/callback?state=${STATE}&error=access_denied&error_description=%3Cb%3Eno%3C%2Fb%3E`)
  t.equal(page.status, 200)
  t.notMatch(page.body, /<b>|no<\/b>/)
  await t.rejects(listener.done, { message: 'Login did not complete: <b>no</b>.', exitCode: ExitCode.auth })
  t.same(codes, [])
})

t.test('times out with a clear message', async (t) => {
  const { listener } = await start(t, 300)
  await t.rejects(listener.done, { message: /Login timed out/, exitCode: ExitCode.auth })
})

t.test('a port in use is a clear error', async (t) => {
  const blocker = net.createServer()
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', () => resolve()))
  t.teardown(() => new Promise((resolve) => blocker.close(resolve)))
  const port = (blocker.address() as net.AddressInfo).port
  await t.rejects(startLoopbackListener({ port, state: STATE, timeoutMs: 1000, onCode: async () => {} }), {
    message: new RegExp(`Port ${port} on 127\\.0\\.0\\.1 is already in use: choose another with --port`),
    exitCode: ExitCode.usage,
  })

  // The same through the real CLI.
  const home = await tempDir(t)
  const result = await runCli(['login', '--no-browser', '--port', String(port), '--api-url', 'http://127.0.0.1:9'], { home })
  t.equal(result.code, ExitCode.usage)
  t.match(result.stderr, new RegExp(`error: Port ${port} on 127\\.0\\.0\\.1 is already in use`))
})

t.test('through the CLI: the login prints the authorize URL and times out cleanly', async (t) => {
  const home = await tempDir(t)
  const result = await runCli(['login', '--no-browser', '--api-url', 'http://127.0.0.1:9'], {
    home,
    env: { INSIGHTA_LOGIN_TIMEOUT_MS: '700' },
  })
  t.equal(result.code, ExitCode.auth)
  const url = new URL(/http:\/\/127\.0\.0\.1:9\/auth\/github\?\S+/.exec(result.stderr)?.[0] ?? 'http://invalid/')
  t.equal(url.pathname, '/auth/github')
  t.equal(url.searchParams.get('client_id'), 'insighta-cli')
  t.equal(url.searchParams.get('code_challenge_method'), 'S256')
  t.match(url.searchParams.get('code_challenge') ?? '', /^[A-Za-z0-9_-]{43}$/)
  t.match(url.searchParams.get('state') ?? '', /^[A-Za-z0-9_-]{43}$/)
  t.match(url.searchParams.get('redirect_uri') ?? '', /^http:\/\/127\.0\.0\.1:\d+\/callback$/)
  t.match(result.stderr, /error: Login timed out/)
})

t.test('through the CLI: the browser is opened with xdg-open, and the device login used when it cannot be', { skip: process.platform !== 'linux' && 'xdg-open is the Linux opener' }, async (t) => {
  const home = await tempDir(t)
  const bin = path.join(home, 'bin')
  await mkdir(bin)
  const opened = path.join(home, 'opened.txt')
  await writeFile(path.join(bin, 'xdg-open'), `#!/bin/sh\nprintf '%s' "$1" > '${opened}'\n`, { mode: 0o755 })
  const withOpener = await runCli(['login', '--api-url', 'http://127.0.0.1:9'], { home, env: { PATH: bin, DISPLAY: ':0', INSIGHTA_LOGIN_TIMEOUT_MS: '1500' } })
  t.match(withOpener.stderr, /Your browser has been opened to log in\. If it did not open, visit:\n\n {2}http:\/\/127\.0\.0\.1:9\/auth\/github\?/)
  t.match(await readFile(opened, 'utf8'), /^http:\/\/127\.0\.0\.1:9\/auth\/github\?client_id=insighta-cli&/)

  // No opener: the device flow instead (test/cli/device-login.test.ts runs it to the end); here no API answers.
  const noOpener = await runCli(['login', '--api-url', 'http://127.0.0.1:9'], { home, env: { PATH: path.join(home, 'empty'), DISPLAY: ':0', INSIGHTA_LOGIN_TIMEOUT_MS: '700' } })
  t.match(noOpener.stderr, 'No browser can be used here (the browser could not be opened): logging in with a code instead.')
  t.equal(noOpener.code, ExitCode.network)
})
