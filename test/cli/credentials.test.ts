/**
 * The credentials file: private folder and file, atomic replacement, loose permissions repaired with a
 * warning, corrupted content refused with a way out — through the module and through the real CLI.
 */
import { chmod, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises'
import path from 'node:path'
import t from 'tap'
import {
  credentialsPath,
  deleteCredentials,
  readCredentials,
  writeCredentials,
  type Credentials,
} from '../../cli/credentials.ts'
import { CorruptedCredentialsError, ExitCode } from '../../cli/errors.ts'
import { closedPortUrl, runCli, tempDir } from './helpers/run-cli.ts'

function sample(overrides: Partial<Credentials> = {}): Credentials {
  return {
    version: 1,
    api_url: 'http://127.0.0.1:9',
    token_type: 'Bearer',
    access_token: 'access-1',
    refresh_token: 'refresh-1',
    expires_in: 180,
    expires_at: new Date(Date.now() + 180_000).toISOString(),
    user: { id: '0190a4b2-7c1e-7d3a-9f00-000000000001', username: 'octo-analyst', role: 'analyst', email: null },
    saved_at: new Date().toISOString(),
    ...overrides,
  }
}

const mode = async (file: string) => (await stat(file)).mode & 0o777

t.test('write creates a 0700 folder and a 0600 file, and reads back what it wrote', async (t) => {
  const home = path.join(await tempDir(t), 'nested', '.insighta')
  const warnings: string[] = []
  const written = sample()
  await writeCredentials(home, written, (m) => warnings.push(m))
  t.equal(await mode(home), 0o700)
  t.equal(await mode(credentialsPath(home)), 0o600)
  t.same(await readCredentials(home, (m) => warnings.push(m)), written)
  t.same(warnings, [])
})

t.test('a missing file reads as null and deleting it twice is harmless', async (t) => {
  const home = await tempDir(t)
  t.equal(await readCredentials(home, () => {}), null)
  await writeCredentials(home, sample(), () => {})
  t.equal(await deleteCredentials(home), true)
  t.equal(await deleteCredentials(home), false)
})

t.test('writes are atomic: concurrent writers leave one complete file and no temporary files', async (t) => {
  const home = await tempDir(t)
  await Promise.all(
    Array.from({ length: 40 }, (_, i) => writeCredentials(home, sample({ access_token: `access-${i}`, refresh_token: `refresh-${i}` }), () => {})),
  )
  const read = await readCredentials(home, () => {})
  t.ok(read)
  const n = read!.access_token.slice('access-'.length)
  t.equal(read!.refresh_token, `refresh-${n}`, 'access and refresh token come from the same write')
  t.same(await readdir(home), ['credentials.json'], 'no temporary file is left behind')
})

t.test('a reader never sees a partly written file', async (t) => {
  const home = await tempDir(t)
  await writeCredentials(home, sample(), () => {})
  let reads = 0
  const writer = (async () => {
    for (let i = 0; i < 100; i++) await writeCredentials(home, sample({ access_token: `a${i}`.repeat(200) }), () => {})
  })()
  let done = false
  void writer.then(() => (done = true))
  while (!done) {
    await readCredentials(home, () => {})
    reads++
  }
  await writer
  t.ok(reads > 0, `${reads} reads during 100 writes all parsed`)
})

t.test('a file readable by others is made private, with a warning', async (t) => {
  const home = await tempDir(t)
  await writeCredentials(home, sample(), () => {})
  await chmod(credentialsPath(home), 0o644)
  const warnings: string[] = []
  const read = await readCredentials(home, (m) => warnings.push(m))
  t.ok(read)
  t.equal(await mode(credentialsPath(home)), 0o600)
  t.equal(warnings.length, 1)
  t.match(warnings[0], /readable by other users \(mode 0644\); changed it to 0600/)
})

t.test('a folder open to others is made private when writing', async (t) => {
  const home = await tempDir(t)
  await chmod(home, 0o755)
  const warnings: string[] = []
  await writeCredentials(home, sample(), (m) => warnings.push(m))
  t.equal(await mode(home), 0o700)
  t.match(warnings.join('\n'), /accessible to other users \(mode 0755\); changed it to 0700/)
})

t.test('corrupted files are refused with an explanation (exit code 3)', async (t) => {
  const cases: [string, string, RegExp][] = [
    ['not JSON', '{"version":1,', /not valid JSON/],
    ['an array', '[]', /not a JSON object/],
    ['no refresh token', JSON.stringify({ ...sample(), refresh_token: undefined }), /refresh_token is missing/],
    ['a bad date', JSON.stringify({ ...sample(), expires_at: 'soon' }), /expires_at is not a date/],
    ['no user', JSON.stringify({ ...sample(), user: null }), /user is missing/],
    ['a future version', JSON.stringify({ ...sample(), version: 2 }), /unknown version/],
  ]
  for (const [name, content, why] of cases) {
    const home = await tempDir(t)
    await writeFile(credentialsPath(home), content, { mode: 0o600 })
    const error = await readCredentials(home, () => {}).then(
      () => null,
      (e: unknown) => e,
    )
    t.type(error, CorruptedCredentialsError, name)
    if (error instanceof CorruptedCredentialsError) {
      t.equal(error.exitCode, ExitCode.auth, name)
      t.match(error.message, why, name)
      t.match(error.message, /run insighta login to replace it/, name)
    }
  }
  const home = await tempDir(t)
  await mkdir(credentialsPath(home))
  await t.rejects(readCredentials(home, () => {}), /not a regular file/, 'a folder in its place')
})

t.test('through the CLI: a corrupted file is refused, a world-readable one fixed, logout removes a corrupted one', async (t) => {
  const home = await tempDir(t)
  await writeFile(credentialsPath(home), 'garbage', { mode: 0o600 })
  const refused = await runCli(['whoami'], { home })
  t.equal(refused.code, 3)
  t.match(refused.stderr, /credentials file .*credentials\.json is corrupted \(it is not valid JSON\): run insighta login/)

  const out = await runCli(['logout'], { home })
  t.equal(out.code, 0)
  t.match(out.stdout, /Removed the unreadable credentials file/)
  await t.rejects(stat(credentialsPath(home)), { code: 'ENOENT' })

  // A world-readable file pointing at an API that is not there: fixed and warned about before the
  // request fails for its own reason.
  await writeCredentials(home, sample({ api_url: await closedPortUrl() }), () => {})
  await chmod(credentialsPath(home), 0o604)
  const fixed = await runCli(['profiles', 'list'], { home })
  t.match(fixed.stderr, /Warning: .*credentials\.json was readable by other users \(mode 0604\); changed it to 0600\./)
  t.equal(await mode(credentialsPath(home)), 0o600)
  t.equal(fixed.code, ExitCode.network)
  t.match(JSON.parse(await readFile(credentialsPath(home), 'utf8')), { access_token: 'access-1' }, 'content untouched')
})
