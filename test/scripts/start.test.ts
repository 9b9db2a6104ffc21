/**
 * `npm start` as a new user meets it: the real entry point as a child process on free ports with its
 * own data directory and .env file, signing in through the GitHub stand-in's form, the roles the
 * development start promises, `npm run users` while it runs and after, and a clean SIGTERM.
 * Always on the embedded database (DATABASE_URL is not passed on): that is what npm start defaults to.
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { bearer, cliLogin } from '../helpers/auth.ts'
import { freePort } from '../helpers/ports.ts'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')
const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }
const DATA_DIR = path.join(ROOT, '.data', `test-start-${randomBytes(4).toString('hex')}`)
mkdirSync(DATA_DIR, { recursive: true })
t.teardown(() => rmSync(DATA_DIR, { recursive: true, force: true }))
// A first start initialises PGlite (tens of seconds on a loaded machine) before anything else runs.
t.setTimeout(300_000)

/** `node --import tsx FILE`, as the package.json script says (checked below), so npm adds nothing. */
function nodeArgs(script: 'start' | 'users'): string[] {
  const match = /^node (--import tsx) (scripts\/\w+\.ts)$/.exec(pkg.scripts[script])
  if (!match) throw new Error(`package.json "${script}" is not "node --import tsx scripts/….ts": ${pkg.scripts[script]}`)
  return [...match[1].split(' '), match[2]]
}

const [apiPort, portalPort, githubPort, enrichmentPort, wrongPort] = await Promise.all([1, 2, 3, 4, 5].map(() => freePort()))
const ENV_FILE = path.join(DATA_DIR, 'test.env')
// PORT comes only from the file; PORTAL_PORT is in both and the real environment must win.
writeFileSync(ENV_FILE, `# a .env as a user writes it\nPORT=${apiPort}\nPORTAL_PORT=${wrongPort}\nLOG_LEVEL="info"\n`)

/** A clean environment: nothing of the test run's own configuration leaks into the child. */
const childEnv: Record<string, string> = {
  PATH: process.env.PATH ?? '/usr/bin:/bin',
  HOME: process.env.HOME ?? '/root',
  ENV_FILE,
  DATA_DIR,
  PORTAL_PORT: String(portalPort),
  GITHUB_STAND_IN_PORT: String(githubPort),
  ENRICHMENT_STAND_IN_PORT: String(enrichmentPort),
}

function runUsers(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [...nodeArgs('users'), ...args], {
    cwd: ROOT,
    env: childEnv,
    encoding: 'utf8',
    timeout: 60_000,
  })
  return { status: result.status, stdout: result.stdout, stderr: result.stderr }
}

/** What a user does on the stand-in's authorize page: submit its form as `login`, over HTTP. */
const standInForm = {
  async approve(authorizeUrl: string, login: string): Promise<string> {
    const page = await fetch(authorizeUrl)
    const html = await page.text()
    if (page.status !== 200) throw new Error(`authorize page ${page.status}`)
    const form = /<form method="post" action="\/login\/oauth\/authorize" class="users">([\s\S]*?)<\/form>/.exec(html)
    if (!form) throw new Error('no sign-in form on the stand-in page')
    const fields = new URLSearchParams()
    for (const m of form[1].matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) {
      fields.set(m[1], m[2].replaceAll('&quot;', '"').replaceAll('&#39;', "'").replaceAll('&lt;', '<').replaceAll('&gt;', '>').replaceAll('&amp;', '&'))
    }
    fields.set('login', login)
    const response = await fetch(new URL('/login/oauth/authorize', authorizeUrl), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: fields.toString(),
      redirect: 'manual',
    })
    const location = response.headers.get('location')
    if (response.status !== 302 || !location) throw new Error(`stand-in answered ${response.status}`)
    return location
  },
}

async function me(apiUrl: string, token: string): Promise<{ status: number; role?: string; username?: string }> {
  const response = await fetch(`${apiUrl}/api/users/me`, { headers: bearer(token) })
  const body = (await response.json()) as { data?: { role: string; username: string } }
  return { status: response.status, role: body.data?.role, username: body.data?.username }
}

t.test('package.json runs start and users through one node process', async (t) => {
  t.equal(pkg.scripts.start, 'node --import tsx scripts/start.ts')
  t.equal(pkg.scripts.users, 'node --import tsx scripts/users.ts')
})

t.test('npm start: .env, roles, users while it runs, SIGTERM', async (t) => {
  const child: ChildProcessWithoutNullStreams = spawn(process.execPath, nodeArgs('start'), { cwd: ROOT, env: childEnv })
  let output = ''
  child.stdout.on('data', (d: Buffer) => (output += d.toString()))
  child.stderr.on('data', (d: Buffer) => (output += d.toString()))
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL')
  })
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not ready after 240 s:\n${output}`)), 240_000)
    const check = () => {
      if (/ready in [\d.]+ s/.test(output)) {
        clearTimeout(timer)
        resolve()
      }
    }
    child.stdout.on('data', check)
    void exited.then((code) => {
      clearTimeout(timer)
      reject(new Error(`npm start exited ${code} before ready:\n${output}`))
    })
  })
  const apiUrl = `http://127.0.0.1:${apiPort}`

  t.test('the banner names the .env file (never its values) and who is who', async (t) => {
    t.match(output, `Configuration: read ${ENV_FILE}`)
    t.notMatch(output, /PORT=/, 'no values echoed')
    t.match(output, /octo-admin\s+admin/)
    t.match(output, /octo-analyst\s+analyst/)
    t.match(output, /any other login\s+analyst/)
    t.match(output, `Portal   http://localhost:${portalPort}`, 'the real environment wins over .env')
    t.match(output, /first start: database initialised/)
  })

  t.test('.env PORT is used; the real PORTAL_PORT beats the file', async (t) => {
    t.equal((await fetch(`${apiUrl}/api/users/me`)).status, 401, 'the API answers on the .env PORT')
    const portal = await fetch(`http://127.0.0.1:${portalPort}/`, { redirect: 'manual' })
    t.ok(portal.status < 500, `portal answers on PORTAL_PORT (${portal.status})`)
    await t.rejects(fetch(`http://127.0.0.1:${wrongPort}/`), 'nothing on the .env PORTAL_PORT')
  })

  t.test("the stand-in's page says who is who", async (t) => {
    const html = await (
      await fetch(`http://127.0.0.1:${githubPort}/login/oauth/authorize?client_id=Ov23liStandInDevOnly&redirect_uri=http://127.0.0.1:1/callback`)
    ).text()
    t.match(html, /octo-admin — Octo Admin <strong class="note">admin in this development start<\/strong>/)
    t.match(html, /octo-analyst — Octo Analyst <strong class="note">analyst in this development start<\/strong>/)
    t.match(html, /Any other login signs in as analyst/)
  })

  const admin = await cliLogin(apiUrl, standInForm, 'octo-admin', { port: 53100 })
  const analyst = await cliLogin(apiUrl, standInForm, 'octo-analyst', { port: 53101 })
  const typed = await cliLogin(apiUrl, standInForm, 'someone-new', { port: 53102 })

  t.test('octo-admin is admin, octo-analyst and any other login analyst (GET /api/users/me)', async (t) => {
    t.same(await me(apiUrl, admin.access_token), { status: 200, role: 'admin', username: 'octo-admin' })
    t.same(await me(apiUrl, analyst.access_token), { status: 200, role: 'analyst', username: 'octo-analyst' })
    t.same(await me(apiUrl, typed.access_token), { status: 200, role: 'analyst', username: 'someone-new' })
  })

  t.test('npm run users works through the running system', async (t) => {
    const promoted = runUsers('promote', 'octo-analyst')
    t.equal(promoted.status, 0, promoted.stderr)
    t.match(promoted.stdout, 'octo-analyst: role admin, active')
    t.match(promoted.stderr, /using the embedded database served by the running process \d+/)
    // The running API sees it within AUTH_CACHE_TTL_MS; poll (bounded) rather than time it.
    let role: string | undefined
    for (let i = 0; i < 40 && role !== 'admin'; i++) {
      role = (await me(apiUrl, analyst.access_token)).role
      if (role !== 'admin') await new Promise((r) => setTimeout(r, 250))
    }
    t.equal(role, 'admin', 'the running API serves the new role')

    const list = runUsers('list')
    t.equal(list.status, 0, list.stderr)
    t.match(list.stdout, /octo-admin\s+admin\s+active/)

    const unknown = runUsers('promote', 'nobody-here')
    t.equal(unknown.status, 1)
    t.equal(unknown.stderr.trim().split('\n').at(-1), 'no user with GitHub login "nobody-here" (they must have logged in once)')
    t.notMatch(unknown.stderr, /\n\s+at /, 'no stack trace')

    const bad = runUsers('promote')
    t.equal(bad.status, 2, 'usage error')
    t.match(bad.stderr, /^usage: npm run users/)
  })

  t.test('SIGTERM: exits 0, the embedded database closed and its lock released', async (t) => {
    t.ok(existsSync(path.join(DATA_DIR, 'insighta.lock')), 'locked while running')
    const lock = JSON.parse(readFileSync(path.join(DATA_DIR, 'insighta.lock'), 'utf8')) as { pid: number; url: string }
    t.equal(lock.pid, child.pid, 'the lock names the running process')
    t.match(lock.url, /^postgres:\/\/postgres:postgres@127\.0\.0\.1:\d+\/postgres/, 'and its loopback socket')
    child.kill('SIGTERM')
    t.equal(await exited, 0)
    t.match(output, 'shutting down (SIGTERM)')
    t.notOk(existsSync(path.join(DATA_DIR, 'insighta.lock')), 'lock released: the database was closed')
  })
})

t.test('npm run users with nothing running opens the embedded database itself', async (t) => {
  const demoted = runUsers('demote', 'octo-analyst')
  t.equal(demoted.status, 0, demoted.stderr)
  t.match(demoted.stdout, 'octo-analyst: role analyst, active')
  t.notMatch(demoted.stderr, /running process/)
  t.notOk(existsSync(path.join(DATA_DIR, 'insighta.lock')), 'and closes it again')
  const list = runUsers('list', 'octo')
  t.match(list.stdout, /octo-analyst\s+analyst/)
})

t.test('npm run users while a start is still opening the database: one line, no stack trace', async (t) => {
  // A live process (this test) holding the lock without a URL yet, as during a first start's initdb.
  writeFileSync(path.join(DATA_DIR, 'insighta.lock'), JSON.stringify({ pid: process.pid }))
  t.teardown(() => rmSync(path.join(DATA_DIR, 'insighta.lock'), { force: true }))
  const result = runUsers('list')
  t.equal(result.status, 1)
  t.equal(result.stderr.trim(), `npm run users: the embedded database in ${DATA_DIR} is being opened by process ${process.pid}: retry once it is ready`)
})

t.test('an ENV_FILE that does not exist is one line naming it', async (t) => {
  const result = spawnSync(process.execPath, [...nodeArgs('users'), 'list'], {
    cwd: ROOT,
    env: { ...childEnv, ENV_FILE: path.join(DATA_DIR, 'missing.env') },
    encoding: 'utf8',
    timeout: 60_000,
  })
  t.equal(result.status, 1)
  t.equal(result.stderr.trim(), `npm run users: ENV_FILE names ${path.join(DATA_DIR, 'missing.env')}, which does not exist`)
})
