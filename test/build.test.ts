import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { rm } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { build } from '../scripts/build.ts'
import { createTestDatabase } from './helpers/database.ts'

/**
 * The production form (docs/deploying.md): `npm run build`, then plain `node` on the compiled API
 * and portal, with no TypeScript loader. Boots both against the test database and walks a request
 * through each, including the files the build copies (views, static files, migrations, seed).
 */

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const out = path.join(ROOT, '.data', `build-test-${randomBytes(4).toString('hex')}`)
t.teardown(() => rm(out, { recursive: true, force: true }))

const db = await createTestDatabase(t, { migrate: false })
await build(out)

function start(entry: string, env: Record<string, string>): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [path.join(out, entry)], {
    // a clean environment: nothing inherited may make it work by accident (no tsx loader, no .env)
    env: { PATH: process.env.PATH ?? '', DEPLOYMENT_ENV: 'test', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGTERM')
  })
  return new Promise((resolve, reject) => {
    let output = ''
    const collect = (d: Buffer) => {
      output += d.toString()
      const m = /listening on (http:\/\/\S+)/.exec(output)
      if (m) resolve({ url: m[1], child })
    }
    child.stdout!.on('data', collect)
    child.stderr!.on('data', collect)
    child.once('exit', (code) => reject(new Error(`${entry} exited with ${code}:\n${output}`)))
  })
}

const portalSecret = randomBytes(32).toString('base64url')
const api = await start('api/server.js', {
  DATABASE_URL: db.url,
  HOST: '127.0.0.1',
  PORT: '0',
  AUTH_TEST_CODE_ENABLED: 'true',
  PORTAL_CLIENT_SECRET: portalSecret,
})

t.test('the compiled API migrates, seeds and serves', async (t) => {
  t.equal((await fetch(`${api.url}/health`)).status, 200)
  const login = await fetch(`${api.url}/auth/github/callback?code=test_code`)
  t.equal(login.status, 200)
  const { access_token: token } = (await login.json()) as { access_token: string }
  const res = await fetch(`${api.url}/api/profiles?country_id=NG&limit=1`, { headers: { authorization: `Bearer ${token}`, 'x-api-version': '1' } })
  t.equal(res.status, 200)
  const body = (await res.json()) as { total: number }
  t.ok(body.total > 0, 'seeded from the copied seed file')
  const bad = await fetch(`${api.url}/api/profiles?limit=abc`, { headers: { authorization: `Bearer ${token}`, 'x-api-version': '1' } })
  t.equal(bad.status, 422, 'validation schemas compiled too')
})

t.test('the compiled portal renders its views and serves its static files', async (t) => {
  const portal = await start('portal/server.js', {
    DATABASE_URL: db.url,
    PORTAL_HOST: '127.0.0.1',
    PORTAL_PORT: '0',
    PORTAL_PUBLIC_URL: 'http://localhost:3001',
    API_URL: api.url,
    PORTAL_CLIENT_SECRET: portalSecret,
    PORTAL_SESSION_KEY: randomBytes(32).toString('hex'),
  })
  const page = await fetch(`${portal.url}/login`)
  t.equal(page.status, 200)
  t.match(await page.text(), /<html[\s\S]*Insighta/i)
  const css = await fetch(`${portal.url}/static/portal.css`)
  t.equal(css.status, 200)
  t.match(css.headers.get('content-type') ?? '', /text\/css/)
})
