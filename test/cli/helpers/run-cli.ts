import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Test } from 'tap'
import { build, ENTRY, isStale } from '../../../cli/build.js'
import { withFileLock } from '../../../cli/file-lock.ts'
import { freePort } from '../../helpers/ports.ts'

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..')
/** What ships: the compiled CLI (`npm run build -w cli`), built by `cliBuilt()` when stale. */
export const BIN = ENTRY

let built: Promise<void> | undefined

/**
 * Builds cli/dist/ once per test process when it is missing or older than its sources, so the tests
 * run the compiled JavaScript that is installed, never the TypeScript sources. Test files run in
 * parallel: a lock (per checkout) makes one of them build while the others wait, then find it fresh.
 */
export function cliBuilt(): Promise<void> {
  built ??= (async () => {
    if (!isStale()) return
    const lock = path.join(os.tmpdir(), `insighta-cli-build-${createHash('sha256').update(REPO_ROOT).digest('hex').slice(0, 12)}.lock`)
    await withFileLock(
      lock,
      async () => {
        if (isStale()) build()
      },
      // tsc takes ~10 s on a busy machine: a live build must never look abandoned.
      { staleMs: 300_000, maxWaitMs: 300_000, pollMs: 200 },
    )
  })()
  return built
}

export interface Teardown {
  teardown(fn: () => unknown): void
}

export interface CliResult {
  code: number | null
  stdout: string
  stderr: string
}

export interface CliOptions {
  /** INSIGHTA_HOME for the child */
  home: string
  env?: Record<string, string>
  cwd?: string
  timeoutMs?: number
  /** run under another program, e.g. ['/usr/bin/time', '-v'] */
  wrapper?: string[]
}

/** The parent's environment minus anything that could leak into the CLI under test. */
function childEnv(options: CliOptions): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [key, value] of Object.entries(process.env)) {
    // Colour is each test's choice: tap sets FORCE_COLOR for its own output.
    if (!key.startsWith('INSIGHTA_') && !key.startsWith('TAP') && key !== 'NODE_OPTIONS' && key !== 'FORCE_COLOR') env[key] = value
  }
  return { ...env, INSIGHTA_HOME: options.home, NO_COLOR: '1', ...options.env }
}

/** Starts the compiled CLI (`node cli/dist/main.js …`) as a child with pipes, i.e. not on a TTY. Await `cliBuilt()` first. */
export function spawnCli(args: readonly string[], options: CliOptions): ChildProcessWithoutNullStreams {
  const command = [...(options.wrapper ?? []), process.execPath, BIN, ...args]
  return spawn(command[0], command.slice(1), { cwd: options.cwd ?? options.home, env: childEnv(options) })
}

/** Runs the CLI to completion (building it first if stale) and collects its output. */
export async function runCli(args: readonly string[], options: CliOptions): Promise<CliResult> {
  await cliBuilt()
  const child = spawnCli(args, options)
  return collect(child, options.timeoutMs ?? 60_000, args)
}

const SCRIPT = '/usr/bin/script'

function shellQuote(word: string): string {
  return `'${word.replaceAll("'", "'\\''")}'`
}

/**
 * Runs the CLI on a real terminal (a pseudo-terminal from util-linux `script`) `columns` wide, as a
 * person would. stdout and stderr both arrive in `stdout`, as on a screen, with CRLF turned into LF.
 */
export async function runCliInTerminal(args: readonly string[], options: CliOptions & { columns: number }): Promise<CliResult> {
  await cliBuilt()
  const command = `stty cols ${options.columns} rows 50 && exec ${[process.execPath, BIN, ...args].map(shellQuote).join(' ')}`
  const child = spawn(SCRIPT, ['--quiet', '--return', '--command', command, '/dev/null'], {
    cwd: options.cwd ?? options.home,
    env: childEnv(options),
  })
  const result = await collect(child, options.timeoutMs ?? 60_000, args)
  return { ...result, stdout: result.stdout.replaceAll('\r\n', '\n') }
}

export function collect(child: ChildProcessWithoutNullStreams, timeoutMs: number, args: readonly string[] = []): Promise<CliResult> {
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
  child.stdin.end()
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`insighta ${args.join(' ')} did not finish within ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`))
    }, timeoutMs)
    child.once('error', reject)
    child.once('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })
}

/** Resolves with the first stderr match of `pattern` (the child keeps running). */
export function waitForStderr(child: ChildProcessWithoutNullStreams, pattern: RegExp, timeoutMs = 30_000): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    let seen = ''
    const timer = setTimeout(() => {
      child.stderr.off('data', onData)
      reject(new Error(`no ${pattern} on stderr within ${timeoutMs} ms; got: ${seen}`))
    }, timeoutMs)
    const onData = (chunk: Buffer | string) => {
      seen += chunk.toString()
      const match = pattern.exec(seen)
      if (match) {
        clearTimeout(timer)
        child.stderr.off('data', onData)
        resolve(match)
      }
    }
    child.stderr.on('data', onData)
  })
}

/** A private temporary folder, removed after the test. */
export async function tempDir(t: Teardown, prefix = 'insighta-cli-'): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  return dir
}

/** An http URL on which nothing listens: a port the OS just handed out and took back. */
export async function closedPortUrl(): Promise<string> {
  return `http://127.0.0.1:${await freePort()}`
}

/** Asserts the exit code, showing the CLI's output only when it is not the expected one. */
export function expectExit(t: Pick<Test, 'equal'>, result: CliResult, code: number): boolean {
  return t.equal(result.code, code, `exit code ${code}`, { stdout: result.stdout, stderr: result.stderr })
}
