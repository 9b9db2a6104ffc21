import { randomBytes } from 'node:crypto'
import { link, open, readFile, rename, rm, stat } from 'node:fs/promises'
import os from 'node:os'
import { isErrno, isRecord } from './credentials.ts'
import { CliError, ExitCode } from './errors.ts'

export interface LockOptions {
  /** a lock older than this is abandoned, whatever its pid says (pids are reused; hosts may differ) */
  staleMs?: number
  /** how often a waiting process looks again */
  pollMs?: number
  /** give up waiting after this long (only reached if a live holder keeps renewing, which none does) */
  maxWaitMs?: number
  now?: () => number
}

interface LockOwner {
  pid: number
  host: string
  created_at: number
  /** identifies this acquisition, so a process never deletes a lock it does not hold */
  nonce: string
}

const DEFAULTS = { staleMs: 30_000, pollMs: 50, maxWaitMs: 60_000 }
const UNREADABLE_GRACE_MS = 2_000

/**
 * Runs `task` while holding a cross-process lock: a file created with O_EXCL, which exactly one
 * process can create. It guards the refresh token, which is single use: two `insighta` processes
 * refreshing at once would otherwise spend the same token and the second would log the user out.
 *
 * A lock left behind by a crashed process is detected by its pid (no such process on this host) or
 * its age, and broken safely (see `breakStaleLock`).
 */
export async function withFileLock<T>(lockPath: string, task: () => Promise<T>, options: LockOptions = {}): Promise<T> {
  const owner = await acquire(lockPath, options)
  try {
    return await task()
  } finally {
    await release(lockPath, owner)
  }
}

async function acquire(lockPath: string, options: LockOptions): Promise<LockOwner> {
  const { staleMs, pollMs, maxWaitMs } = { ...DEFAULTS, ...options }
  const now = options.now ?? Date.now
  const started = now()
  for (;;) {
    const owner: LockOwner = { pid: process.pid, host: os.hostname(), created_at: now(), nonce: randomBytes(8).toString('hex') }
    try {
      const handle = await open(lockPath, 'wx', 0o600)
      try {
        await handle.writeFile(JSON.stringify(owner))
      } finally {
        await handle.close()
      }
      return owner
    } catch (error) {
      if (!isErrno(error, 'EEXIST')) throw error
    }
    const holder = await readOwner(lockPath)
    if (holder === 'gone') continue
    if (await isStale(lockPath, holder, staleMs, now())) {
      await breakStaleLock(lockPath, holder)
      continue
    }
    if (now() - started > maxWaitMs) {
      const who = holder === 'unreadable' ? 'another process' : `process ${holder.pid}`
      throw new CliError(ExitCode.auth, `Timed out waiting for ${who} to release ${lockPath}; try again.`)
    }
    await new Promise((resolve) => setTimeout(resolve, pollMs))
  }
}

/** 'gone' when the lock vanished meanwhile; 'unreadable' while its creator is still writing it. */
async function readOwner(lockPath: string): Promise<LockOwner | 'gone' | 'unreadable'> {
  let text: string
  try {
    text = await readFile(lockPath, 'utf8')
  } catch (error) {
    if (isErrno(error, 'ENOENT')) return 'gone'
    throw error
  }
  try {
    const value: unknown = JSON.parse(text)
    if (
      isRecord(value) &&
      typeof value.pid === 'number' &&
      typeof value.host === 'string' &&
      typeof value.created_at === 'number' &&
      typeof value.nonce === 'string'
    ) {
      return { pid: value.pid, host: value.host, created_at: value.created_at, nonce: value.nonce }
    }
  } catch {
    // fall through: a half-written or foreign file
  }
  return 'unreadable'
}

async function isStale(lockPath: string, holder: LockOwner | 'unreadable', staleMs: number, now: number): Promise<boolean> {
  if (holder === 'unreadable') {
    // Normally a creator between open() and write(), which takes microseconds; a file that stays
    // unreadable for seconds is debris (a crash mid-write, or something else's file).
    const modified = await stat(lockPath).then((info) => info.mtimeMs, () => now)
    return now - modified > UNREADABLE_GRACE_MS
  }
  if (now - holder.created_at > staleMs) return true
  return holder.host === os.hostname() && !processExists(holder.pid)
}

export function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return !isErrno(error, 'ESRCH')
  }
}

/**
 * Two waiters may both decide the same lock is stale. Unlinking it directly would let the slower
 * one delete the lock the faster one has just created, so the stale file is first renamed to a
 * private name (atomic: only one waiter gets it) and checked; if what moved is not the stale lock
 * but a fresh one, it is put back with link(), which never overwrites.
 */
async function breakStaleLock(lockPath: string, stale: LockOwner | 'unreadable'): Promise<void> {
  const aside = `${lockPath}.${process.pid}.${randomBytes(4).toString('hex')}.stale`
  try {
    await rename(lockPath, aside)
  } catch (error) {
    if (isErrno(error, 'ENOENT')) return
    throw error
  }
  const moved = await readOwner(aside)
  const staleNonce = stale === 'unreadable' ? undefined : stale.nonce
  if (moved !== 'gone' && moved !== 'unreadable' && moved.nonce !== staleNonce) {
    await link(aside, lockPath).catch(() => undefined)
  }
  await rm(aside, { force: true })
}

async function release(lockPath: string, owner: LockOwner): Promise<void> {
  const current = await readOwner(lockPath)
  // If we held it so long that someone broke it as stale, the file is theirs now: leave it.
  if (current !== 'gone' && current !== 'unreadable' && current.nonce === owner.nonce) {
    await rm(lockPath, { force: true })
  }
}
