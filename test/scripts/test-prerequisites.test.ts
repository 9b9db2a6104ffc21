/**
 * `npm test`'s preflight (scripts/test-prerequisites.ts) and the Redis helper: a missing program is
 * installed or named with the line that installs it, never skipped silently.
 */
import { spawnSync } from 'node:child_process'
import { mkdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { PREREQUISITES, installLine, plan, type System } from '../../scripts/test-prerequisites.ts'
import { REDIS_MISSING, startTestRedis } from '../helpers/redis.ts'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')
const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }
const DEBIAN_ROOT: System = { root: true, debian: true, apt: true }
const byPkg = (name: string) => PREREQUISITES.filter((p) => p.pkg === name)

t.test('npm test runs the preflight first; screenshots are an explicit script', async (t) => {
  t.equal(pkg.scripts.pretest, 'node --import tsx scripts/test-prerequisites.ts')
  t.equal(pkg.scripts.screenshots, 'SCREENSHOTS_DIR=docs/screenshots tap test/e2e/portal.test.ts')
})

t.test('plan: nothing missing → nothing to do', async (t) => {
  t.same(plan([], DEBIAN_ROOT), { action: 'none' })
  t.same(plan([], { root: false, debian: false, apt: false }), { action: 'none' })
})

t.test('plan: root on Debian with apt → install, also under CI (no prompt: -y)', async (t) => {
  t.same(plan([...byPkg('redis-server'), ...byPkg('chromium')], DEBIAN_ROOT), { action: 'install', packages: ['redis-server', 'chromium'] })
  t.equal(installLine(['redis-server', 'chromium']), 'apt-get update && apt-get install -y redis-server chromium')
})

t.test('plan: otherwise fail loudly with the line that installs them', async (t) => {
  const missing = [...byPkg('redis-server'), ...byPkg('chromium')]
  const notRoot = plan(missing, { ...DEBIAN_ROOT, root: false })
  t.equal(notRoot.action, 'fail')
  t.match(notRoot.action === 'fail' && notRoot.message, 'Install them with: sudo apt-get update && apt-get install -y redis-server chromium')
  const noApt = plan(missing, { ...DEBIAN_ROOT, apt: false })
  t.match(noApt.action === 'fail' && noApt.message, /redis-server: needed by the Redis tests/)
  const other = plan(missing, { root: true, debian: false, apt: false })
  t.match(other.action === 'fail' && other.message, "install redis-server, chromium with your system's package manager")
  const checkOnly = plan(missing, DEBIAN_ROOT, false)
  t.equal(checkOnly.action, 'fail', '--check never installs')
})

t.test('the script, on a machine without redis-server, Chromium or apt-get: exit 1 and the install line', async (t) => {
  // A PATH holding only node: no redis-server, no apt-get.
  const bin = path.join(ROOT, '.data', `test-prereq-${randomBytes(4).toString('hex')}`)
  mkdirSync(bin, { recursive: true })
  t.teardown(() => rmSync(bin, { recursive: true, force: true }))
  symlinkSync(process.execPath, path.join(bin, 'node'))
  const result = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/test-prerequisites.ts'], {
    cwd: ROOT,
    env: { PATH: bin, HOME: process.env.HOME, CHROMIUM_PATH: path.join(bin, 'no-chromium'), CI: 'true' },
    encoding: 'utf8',
    timeout: 60_000,
  })
  t.equal(result.status, 1, result.stderr)
  t.match(result.stderr, /^npm test needs programs that are not installed:\n {2}redis-server: needed by/)
  t.match(result.stderr, /chromium: needed by the portal browser tests/)
  t.match(result.stderr, /Install them with: (sudo )?apt-get update && apt-get install -y redis-server chromium/)
  t.notMatch(result.stderr, /\n\s+at /, 'no stack trace')
})

t.test('the script on this machine (after npm test installed what was missing): exit 0', async (t) => {
  const result = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/test-prerequisites.ts', '--check'], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 60_000,
  })
  t.equal(result.status, 0, result.stderr)
  t.equal(result.stderr, '')
})

t.test('the Redis helper fails loudly without redis-server (no silent skip)', async (t) => {
  const saved = { PATH: process.env.PATH, TEST_REDIS_URL: process.env.TEST_REDIS_URL }
  t.teardown(() => {
    process.env.PATH = saved.PATH
    if (saved.TEST_REDIS_URL === undefined) delete process.env.TEST_REDIS_URL
    else process.env.TEST_REDIS_URL = saved.TEST_REDIS_URL
  })
  delete process.env.TEST_REDIS_URL
  process.env.PATH = '/nonexistent'
  await t.rejects(startTestRedis(t), { message: REDIS_MISSING })
  t.match(REDIS_MISSING, 'apt-get install -y redis-server')
})

t.test('the Redis helper starts a private redis-server on a free loopback port', async (t) => {
  const saved = process.env.TEST_REDIS_URL
  delete process.env.TEST_REDIS_URL
  t.teardown(() => {
    if (saved !== undefined) process.env.TEST_REDIS_URL = saved
  })
  const redis = await startTestRedis(t)
  t.match(redis.url, /^redis:\/\/127\.0\.0\.1:\d+\/0$/)
  const { Redis } = await import('ioredis')
  const client = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 })
  await client.connect()
  t.equal(await client.ping(), 'PONG')
  client.disconnect()
  await redis.stop()
})
