/** The .env loading both apps' config and npm start share (platform/dotenv.ts). */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { randomBytes } from 'node:crypto'
import t from 'tap'
import { loadDotEnv, projectRoot } from '../../platform/dotenv.ts'
import { loadApiConfig } from '../../api/config.ts'

const dir = path.join(projectRoot(), '.data', `test-dotenv-${randomBytes(4).toString('hex')}`)
mkdirSync(dir, { recursive: true })
t.teardown(() => rmSync(dir, { recursive: true, force: true }))

function file(name: string, content: string): string {
  const p = path.join(dir, name)
  writeFileSync(p, content)
  return p
}

t.test('the project root is the folder with package.json', async (t) => {
  t.equal(projectRoot(), path.resolve(import.meta.dirname, '..', '..'))
})

t.test('values are applied where the environment has none; set variables win, even empty ones', async (t) => {
  const env: Record<string, string | undefined> = {
    ENV_FILE: file('a.env', '# comment\nPORT=4100\nHOST=0.0.0.0\nDATA_DIR=""\nJWT_SECRET="quoted value with spaces"\nexport_ME=1\n\nLOG_LEVEL=warn # trailing\n'),
    HOST: '127.0.0.9',
    DATA_DIR: '',
  }
  const result = loadDotEnv(env)
  t.equal(result?.path, env.ENV_FILE)
  t.same(result?.applied.sort(), ['JWT_SECRET', 'LOG_LEVEL', 'PORT', 'export_ME'])
  t.equal(env.PORT, '4100')
  t.equal(env.HOST, '127.0.0.9', 'the real environment wins')
  t.equal(env.DATA_DIR, '', 'an empty real variable wins too, as with process.loadEnvFile')
  t.equal(env.JWT_SECRET, 'quoted value with spaces')
  t.equal(env.LOG_LEVEL, 'warn')
  const config = loadApiConfig(env)
  t.equal(config.port, 4100, 'the config reads what .env set')
  t.equal(config.host, '127.0.0.9')
  t.same(loadDotEnv(env), result, 'a second load is a no-op')
})

t.test('the .env of the project root; none there: nothing read, nothing changed', async (t) => {
  const root = path.join(dir, 'root')
  mkdirSync(root)
  const env: Record<string, string | undefined> = { HOST: 'h' }
  t.equal(loadDotEnv(env, root), undefined)
  t.same(env, { HOST: 'h' })
  writeFileSync(path.join(root, '.env'), 'PORT=1234\n')
  const fresh: Record<string, string | undefined> = {}
  t.same(loadDotEnv(fresh, root), { path: path.join(root, '.env'), applied: ['PORT'] })
  t.same(fresh, { PORT: '1234' })
})

t.test('ENV_FILE naming a missing file is an error naming it', async (t) => {
  const missing = path.join(dir, 'none.env')
  t.throws(() => loadDotEnv({ ENV_FILE: missing }), { message: `ENV_FILE names ${missing}, which does not exist` })
})

t.test('an unreadable file fails with its path and the error code', async (t) => {
  const unreadable = path.join(dir, 'dir.env')
  mkdirSync(unreadable)
  t.throws(() => loadDotEnv({ ENV_FILE: unreadable }), { message: `cannot read ${unreadable}: EISDIR` })
})

t.test('NUL and control characters in values are kept as data, not interpreted', async (t) => {
  const env: Record<string, string | undefined> = { ENV_FILE: file('ctl.env', 'ADMIN_GITHUB_LOGINS="a\\nb"\nJWT_ISSUER=x\u0007y\n') }
  loadDotEnv(env)
  t.equal(env.ADMIN_GITHUB_LOGINS, 'a\nb', 'double-quoted \\n expands to a newline, as in dotenv')
  t.equal(env.JWT_ISSUER, 'x\u0007y')
  t.equal(Object.keys(env).length, 3, 'nothing else appears')
})
