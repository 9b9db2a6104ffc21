import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import t from 'tap'
import { runningEmbedded, startEmbeddedPostgres } from '../../db/embedded.ts'

const dataDir = mkdtempSync(join(tmpdir(), 'insighta-embedded-'))
t.teardown(() => rmSync(dataDir, { recursive: true, force: true }))

t.test('a start after kill -9 works, keeps committed data and drops the open transaction', async (t) => {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/embedded-child.ts', dataDir], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => d.toString().includes('ready') && resolve())
    child.on('exit', (code) => reject(new Error(`child exited ${code}`)))
  })
  child.kill('SIGKILL')
  await new Promise((r) => child.once('exit', r))

  const embedded = await startEmbeddedPostgres({ dataDir })
  t.teardown(() => embedded.close())
  t.notOk(embedded.created, 'reopened, not re-initialised')
  const client = new pg.Client({ connectionString: embedded.url })
  await client.connect()
  const { rows } = await client.query('SELECT n FROM marks ORDER BY n')
  t.same(rows, [{ n: 1 }])
  await client.end()
})

t.test('a second process cannot open a folder in use; a stale lock is taken over', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'insighta-lock-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const first = await startEmbeddedPostgres({ dataDir: dir })
  // The lock advertises the owner's loopback socket (npm run users uses it while npm start runs).
  const lock = JSON.parse(readFileSync(join(dir, 'insighta.lock'), 'utf8')) as { pid: number; url: string }
  t.same(lock, { pid: process.pid, url: first.url })
  t.equal(runningEmbedded(dir), undefined, 'this process is never "another" owner')
  // Our own pid counts as "alive but not us" only for another process; simulate one with pid 1.
  writeFileSync(join(dir, 'insighta.lock'), '1')
  await t.rejects(startEmbeddedPostgres({ dataDir: dir }), /in use by process 1/)
  writeFileSync(join(dir, 'insighta.lock'), JSON.stringify({ pid: 1, url: first.url }))
  t.same(runningEmbedded(dir), { pid: 1, url: first.url }, 'another live owner and its socket')
  const client = new pg.Client({ connectionString: runningEmbedded(dir)?.url })
  await client.connect()
  t.same((await client.query('SELECT 1 + 1 AS n')).rows, [{ n: 2 }], 'the advertised URL serves the database')
  await client.end()
  await t.rejects(startEmbeddedPostgres({ dataDir: dir }), /in use by process 1/)
  await first.close()
  t.notOk(existsSync(join(dir, 'insighta.lock')), 'closing releases the lock')
  writeFileSync(join(dir, 'insighta.lock'), '999999')
  const second = await startEmbeddedPostgres({ dataDir: dir })
  await second.close()
})

t.test('several clients at once: transactions and extended-protocol queries never interleave', async (t) => {
  const embedded = await startEmbeddedPostgres()
  t.teardown(() => embedded.close())
  const setup = new pg.Client({ connectionString: embedded.url })
  await setup.connect()
  await setup.query('CREATE TABLE counter (id int PRIMARY KEY, n int NOT NULL)')
  await setup.query('INSERT INTO counter VALUES (1, 0)')
  await setup.end()
  const pools = [1, 2, 3].map(() => new pg.Pool({ connectionString: embedded.url, max: 3 }))
  t.teardown(() => Promise.all(pools.map((p) => p.end())))
  const work: Promise<void>[] = []
  for (let i = 0; i < 60; i++) {
    const pool = pools[i % pools.length]
    work.push(
      (async () => {
        const client = await pool.connect()
        try {
          await client.query('BEGIN')
          const { rows } = await client.query('SELECT n FROM counter WHERE id = $1', [1])
          await client.query('UPDATE counter SET n = $1 WHERE id = $2', [rows[0].n + 1, 1])
          // a parameterised query whose answer must be its own
          const echo = await client.query('SELECT $1::int AS i, $2::text AS s', [i, `q${i}`])
          if (echo.rows[0].i !== i || echo.rows[0].s !== `q${i}`) throw new Error('answers crossed')
          await client.query('COMMIT')
        } finally {
          client.release()
        }
      })(),
    )
  }
  await Promise.all(work)
  const { rows } = await pools[0].query('SELECT n FROM counter')
  t.equal(rows[0].n, 60, 'no lost update: each transaction ran alone')
})
