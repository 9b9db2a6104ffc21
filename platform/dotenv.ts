import { existsSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseEnv } from 'node:util'

/**
 * The project's `.env` file (`.env.example` documents every variable): read by both apps' config
 * loading and by `npm start`. Variables already in the environment win, even when empty, as with
 * Node's own `process.loadEnvFile`. ENV_FILE (set in the real environment) names another file.
 */

/** The nearest folder above this module holding a package.json: the project root, also from dist/. */
export function projectRoot(from = path.dirname(fileURLToPath(import.meta.url))): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json'))) return dir
    if (path.dirname(dir) === dir) return path.resolve(from, '..')
  }
}

export interface DotEnvResult {
  /** absolute path of the file that was read */
  path: string
  /** the variables it set (names only: values may be secrets) */
  applied: string[]
}

const read = new Map<Record<string, string | undefined>, DotEnvResult | undefined>()

/**
 * Copies the `.env` file's variables into `env` (process.env by default) where `env` does not hold
 * them yet. Returns what was read, or undefined when there is no such file. A file that cannot be
 * parsed or read fails with its path, never with its content. Reading twice is a no-op.
 */
export function loadDotEnv(env: Record<string, string | undefined> = process.env, root = projectRoot()): DotEnvResult | undefined {
  if (read.has(env)) return read.get(env)
  const file = path.resolve(env.ENV_FILE || path.join(root, '.env'))
  let result: DotEnvResult | undefined
  if (existsSync(file)) {
    let content: string
    try {
      content = readFileSync(file, 'utf8')
    } catch (error) {
      throw new Error(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`)
    }
    const applied: string[] = []
    for (const [key, value] of Object.entries(parseEnv(content))) {
      if (value === undefined || env[key] !== undefined) continue
      env[key] = value
      applied.push(key)
    }
    result = { path: file, applied }
  } else if (env.ENV_FILE) {
    throw new Error(`ENV_FILE names ${file}, which does not exist`)
  }
  read.set(env, result)
  return result
}

/** process.env with the project's `.env` applied: the default environment of each app's config. */
export function processEnv(): Record<string, string | undefined> {
  loadDotEnv(process.env)
  return process.env
}
