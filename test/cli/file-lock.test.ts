/**
 * The cross-process lock that guards the single-use refresh token: mutual exclusion (in one process
 * and across processes), stale locks from dead processes or of great age, and no stealing.
 */
import { spawn } from 'node:child_process'
import { readFile, readdir, rm, utimes, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import t from 'tap'
import { withFileLock } from '../../cli/file-lock.ts'
import { REPO_ROOT, tempDir } from './helpers/run-cli.ts'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

t.test('only one holder at a time, and the lock file is gone afterwards', async (t) => {
  const dir = await tempDir(t)
  const lock = path.join(dir, 'credentials.lock')
  let inside = 0
  let maxInside = 0
  const order: number[] = []
  await Promise.all(
    Array.from({ length: 8 }, (_, i) =>
      withFileLock(lock, async () => {
        inside++
        maxInside = Math.max(maxInside, inside)
        await sleep(10)
        order.push(i)
        inside--
      }, { pollMs: 5 }),
    ),
  )
  t.equal(maxInside, 1)
  t.equal(order.length, 8)
  t.same(await readdir(dir), [])
})

t.test('the lock is released when the task throws', async (t) => {
  const dir = await tempDir(t)
  const lock = path.join(dir, 'l')
  await t.rejects(withFileLock(lock, async () => Promise.reject(new Error('boom'))), /boom/)
  t.equal(await withFileLock(lock, async () => 42), 42)
})

t.test('a lock left by a process that no longer exists is broken at once', async (t) => {
  const dir = await tempDir(t)
  const lock = path.join(dir, 'l')
  const dead = spawn(process.execPath, ['-e', '0'])
  await new Promise((resolve) => dead.once('close', resolve))
  await writeFile(lock, JSON.stringify({ pid: dead.pid, host: os.hostname(), created_at: Date.now(), nonce: 'dead' }))
  const started = Date.now()
  t.equal(await withFileLock(lock, async () => 'ok'), 'ok')
  t.ok(Date.now() - started < 1000, 'no waiting for the age limit')
})

t.test('a lock older than the stale limit is broken even if its pid is alive', async (t) => {
  const dir = await tempDir(t)
  const lock = path.join(dir, 'l')
  await writeFile(lock, JSON.stringify({ pid: process.pid, host: os.hostname(), created_at: Date.now() - 60_000, nonce: 'old' }))
  t.equal(await withFileLock(lock, async () => 'ok', { staleMs: 30_000 }), 'ok')
})

t.test('a live, young lock is waited for, not broken', async (t) => {
  const dir = await tempDir(t)
  const lock = path.join(dir, 'l')
  const owner = { pid: process.pid, host: os.hostname(), created_at: Date.now(), nonce: 'live' }
  await writeFile(lock, JSON.stringify(owner))
  let acquired = false
  const waiting = withFileLock(lock, async () => (acquired = true), { pollMs: 10 })
  await sleep(150)
  t.equal(acquired, false, 'still waiting while the holder is alive')
  t.same(JSON.parse(await readFile(lock, 'utf8')), owner, 'the holder keeps its lock')
  await rm(lock) // the holder releases it
  await waiting
  t.equal(acquired, true)
})

t.test('waiting gives up with a clear message after maxWaitMs', async (t) => {
  const dir = await tempDir(t)
  const lock = path.join(dir, 'l')
  await writeFile(lock, JSON.stringify({ pid: process.pid, host: os.hostname(), created_at: Date.now(), nonce: 'live' }))
  await t.rejects(withFileLock(lock, async () => 1, { pollMs: 10, maxWaitMs: 100 }), {
    message: new RegExp(`Timed out waiting for process ${process.pid} to release`),
    exitCode: 3,
  })
})

t.test('debris (an unreadable lock file) is cleared after a short grace period', async (t) => {
  const dir = await tempDir(t)
  const lock = path.join(dir, 'l')
  await writeFile(lock, 'not json')
  const old = new Date(Date.now() - 10_000)
  await utimes(lock, old, old)
  t.equal(await withFileLock(lock, async () => 'ok'), 'ok')
})

t.test('separate processes exclude each other', async (t) => {
  const dir = await tempDir(t)
  const lock = path.join(dir, 'l')
  const counter = path.join(dir, 'counter')
  await writeFile(counter, '0')
  // Each child does an unprotected read-modify-write 20 times; without the lock, updates get lost.
  const script = `
    import { readFile, writeFile } from 'node:fs/promises'
    import { withFileLock } from ${JSON.stringify(path.join(REPO_ROOT, 'cli/file-lock.ts'))}
    for (let i = 0; i < 20; i++) {
      await withFileLock(${JSON.stringify(lock)}, async () => {
        const n = Number(await readFile(${JSON.stringify(counter)}, 'utf8'))
        await new Promise((r) => setTimeout(r, 2))
        await writeFile(${JSON.stringify(counter)}, String(n + 1))
      }, { pollMs: 2 })
    }`
  const children = Array.from({ length: 4 }, () =>
    spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'inherit'] }),
  )
  const codes = await Promise.all(children.map((c) => new Promise((resolve) => c.once('close', resolve))))
  t.same(codes, [0, 0, 0, 0])
  t.equal(await readFile(counter, 'utf8'), '80')
})
