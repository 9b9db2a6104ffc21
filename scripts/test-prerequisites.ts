/**
 * `npm test`'s preflight (the `pretest` script): the programs the suite runs against that npm does not
 * install — redis-server (the Redis tests start their own on a free loopback port), Chromium (the
 * portal's browser tests) and GNU time (the CLI's memory test). On Debian/Ubuntu as root with apt-get,
 * missing ones are installed (`apt-get install -y …`, no prompt, also with CI=true); otherwise it
 * exits 1 with the one line that installs them. Nothing is skipped silently.
 *
 *   node --import tsx scripts/test-prerequisites.ts [--check]    (--check: report only, never install)
 */
import { spawnSync } from 'node:child_process'
import { accessSync, constants, existsSync } from 'node:fs'
import { parseArgs } from 'node:util'

export interface Prerequisite {
  /** the Debian package that provides it */
  pkg: string
  /** what needs it, for the message */
  neededBy: string
  present(env: Record<string, string | undefined>): boolean
}

function executable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK)
    return true
  } catch {
    return false
  }
}

function onPath(command: string, env: Record<string, string | undefined>): boolean {
  return (env.PATH ?? '').split(':').some((dir) => dir !== '' && executable(`${dir}/${command}`))
}

export const PREREQUISITES: readonly Prerequisite[] = [
  {
    pkg: 'redis-server',
    neededBy: 'the Redis tests (query cache, rate limits)',
    present: (env) => Boolean(env.TEST_REDIS_URL) || onPath('redis-server', env),
  },
  {
    pkg: 'chromium',
    neededBy: 'the portal browser tests (CHROMIUM_PATH, default /usr/bin/chromium)',
    present: (env) => executable(env.CHROMIUM_PATH || '/usr/bin/chromium'),
  },
  { pkg: 'time', neededBy: "the CLI export's peak-memory test (/usr/bin/time)", present: () => executable('/usr/bin/time') },
]

export interface System {
  root: boolean
  debian: boolean
  apt: boolean
}

export type Plan =
  | { action: 'none' }
  | { action: 'install'; packages: string[] }
  | { action: 'fail'; message: string }

export function installLine(packages: readonly string[]): string {
  return `apt-get update && apt-get install -y ${packages.join(' ')}`
}

/** What to do about the missing packages on this system. */
export function plan(missing: readonly Prerequisite[], system: System, installAllowed = true): Plan {
  if (missing.length === 0) return { action: 'none' }
  const packages = missing.map((p) => p.pkg)
  if (installAllowed && system.root && system.debian && system.apt) return { action: 'install', packages }
  const lines = missing.map((p) => `  ${p.pkg}: needed by ${p.neededBy}`)
  const how = system.debian ? (system.root ? '' : 'sudo ') + installLine(packages) : `install ${packages.join(', ')} with your system's package manager`
  return { action: 'fail', message: `npm test needs programs that are not installed:\n${lines.join('\n')}\nInstall them with: ${how}` }
}

export function currentSystem(env: Record<string, string | undefined>): System {
  return {
    root: process.getuid?.() === 0,
    debian: existsSync('/etc/debian_version'),
    apt: onPath('apt-get', env),
  }
}

function main(): number {
  const { values } = parseArgs({ options: { check: { type: 'boolean', default: false } } })
  const env = process.env
  const missing = PREREQUISITES.filter((p) => !p.present(env))
  const decided = plan(missing, currentSystem(env), !values.check)
  if (decided.action === 'none') return 0
  if (decided.action === 'fail') {
    console.error(decided.message)
    return 1
  }
  console.error(`npm test: installing ${decided.packages.join(', ')} (${installLine(decided.packages)})…`)
  const aptEnv = { ...env, DEBIAN_FRONTEND: 'noninteractive' }
  for (const args of [['update', '-qq'], ['install', '-y', '-qq', ...decided.packages]]) {
    const result = spawnSync('apt-get', args, { stdio: ['ignore', 'inherit', 'inherit'], env: aptEnv })
    if (result.status !== 0) {
      console.error(`npm test: apt-get ${args[0]} failed (exit ${result.status}); run: ${installLine(decided.packages)}`)
      return 1
    }
  }
  const still = PREREQUISITES.filter((p) => !p.present(env))
  if (still.length > 0) {
    console.error(`npm test: still missing after apt-get: ${still.map((p) => p.pkg).join(', ')}`)
    return 1
  }
  return 0
}

if (import.meta.url === `file://${process.argv[1]}`) process.exit(main())
