import { spawn, spawnSync } from 'node:child_process'
import net from 'node:net'
import type { Teardown } from './database.ts'
import { freePort } from './ports.ts'

/** What `npm test`'s preflight (scripts/test-prerequisites.ts) installs, and the line that does it. */
export const REDIS_MISSING = 'redis-server is not installed: apt-get install -y redis-server (or set TEST_REDIS_URL)'

/**
 * A Redis for one test file: TEST_REDIS_URL when set, else a private redis-server on a free loopback
 * port, stopped at teardown. Without redis-server it throws REDIS_MISSING: never a silent skip.
 */
export async function startTestRedis(t: Teardown): Promise<{ url: string; stop(): Promise<void> }> {
  if (process.env.TEST_REDIS_URL) return { url: process.env.TEST_REDIS_URL, stop: async () => {} }
  if (spawnSync('redis-server', ['--version']).status !== 0) throw new Error(REDIS_MISSING)
  const port = await freePort()
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: 'ignore',
  })
  let up = false
  for (let i = 0; i < 100 && !up && child.exitCode === null; i++) {
    up = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.end()
        resolve(true)
      })
      s.on('error', () => resolve(false))
    })
    if (!up) await new Promise((r) => setTimeout(r, 100))
  }
  const stop = async () => {
    if (child.exitCode !== null) return
    child.kill('SIGTERM')
    await new Promise((r) => child.once('exit', r))
  }
  t.teardown(stop)
  if (!up) {
    await stop()
    throw new Error(`redis-server did not accept connections on 127.0.0.1:${port}`)
  }
  return { url: `redis://127.0.0.1:${port}/0`, stop }
}
