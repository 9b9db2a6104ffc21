import { randomBytes } from 'node:crypto'
import { chmod, lstat, mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises'
import path from 'node:path'
import { CorruptedCredentialsError } from './errors.ts'

export const CREDENTIALS_FILE = 'credentials.json'
const DIR_MODE = 0o700
const FILE_MODE = 0o600
/** Permission bits for group and others: any of them set means someone else may read the tokens. */
const SHARED_BITS = 0o077
// POSIX permissions mean nothing on Windows, where the user profile folder is already private.
const CHECK_MODES = process.platform !== 'win32'

export interface StoredUser {
  id: string
  username: string
  role: string
  email: string | null
}

/** What `insighta login` saves. Versioned so a later CLI can migrate or refuse an older layout. */
export interface Credentials {
  version: 1
  /** 'pat': access_token is a personal access token (`login --with-token`), never refreshed; refresh_token is '' */
  kind?: 'pat'
  api_url: string
  token_type: 'Bearer'
  access_token: string
  refresh_token: string
  /** lifetime the API granted the current access token, in seconds (sizes the refresh margin) */
  expires_in: number
  /** when the access token expires, by the local clock at the time it was issued (ISO 8601) */
  expires_at: string
  /** the refresh token's idle lifetime the API granted with the current pair, in seconds (when it said) */
  refresh_expires_in?: number
  /** when the refresh token lapses unless used, by the local clock (ISO 8601; when the API said) */
  refresh_expires_at?: string
  user: StoredUser
  saved_at: string
}

export type Warn = (message: string) => void

export function credentialsPath(home: string): string {
  return path.join(home, CREDENTIALS_FILE)
}

/** The folder, created private, or made private again (with a warning) if someone loosened it. */
export async function ensureHome(home: string, warn: Warn): Promise<void> {
  await mkdir(home, { recursive: true, mode: DIR_MODE })
  if (!CHECK_MODES) return
  const info = await stat(home)
  if ((info.mode & SHARED_BITS) !== 0) {
    await chmod(home, DIR_MODE)
    warn(`Warning: ${home} was accessible to other users (mode ${octal(info.mode)}); changed it to 0700.`)
  }
}

/**
 * The saved credentials, or null when there are none. A file readable by others is made private
 * with a warning (the tokens may already have leaked, but keeping it open helps no one); a file that
 * cannot be understood is refused rather than guessed at, and `insighta login` replaces it.
 */
export async function readCredentials(home: string, warn: Warn): Promise<Credentials | null> {
  const file = credentialsPath(home)
  let text: string
  try {
    const info = await lstat(file)
    if (!info.isFile()) throw corrupted(file, 'it is not a regular file')
    if (CHECK_MODES && (info.mode & SHARED_BITS) !== 0) {
      await chmod(file, FILE_MODE)
      warn(`Warning: ${file} was readable by other users (mode ${octal(info.mode)}); changed it to 0600.`)
    }
    text = await readFile(file, 'utf8')
  } catch (error) {
    if (isErrno(error, 'ENOENT')) return null
    throw error
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    throw corrupted(file, 'it is not valid JSON')
  }
  const problem = credentialsProblem(parsed)
  if (problem !== null) throw corrupted(file, problem)
  return parsed as Credentials
}

/**
 * Written to a private temporary file in the same folder, flushed, then renamed over the old one:
 * a crash or a concurrent reader sees either the old file or the new one, never half of either.
 */
export async function writeCredentials(home: string, credentials: Credentials, warn: Warn): Promise<void> {
  await ensureHome(home, warn)
  const file = credentialsPath(home)
  const temp = path.join(home, `.${CREDENTIALS_FILE}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`)
  try {
    const handle = await open(temp, 'wx', FILE_MODE)
    try {
      await handle.writeFile(`${JSON.stringify(credentials, null, 2)}\n`, 'utf8')
      await handle.sync()
    } finally {
      await handle.close()
    }
    await rename(temp, file)
  } catch (error) {
    await rm(temp, { force: true })
    throw error
  }
}

/** True when a file was deleted. */
export async function deleteCredentials(home: string): Promise<boolean> {
  try {
    await rm(credentialsPath(home))
    return true
  } catch (error) {
    if (isErrno(error, 'ENOENT')) return false
    throw error
  }
}

function corrupted(file: string, why: string): CorruptedCredentialsError {
  return new CorruptedCredentialsError(file, why)
}

/** Describes the first thing wrong with a parsed credentials file, or null when it is usable. */
export function credentialsProblem(value: unknown): string | null {
  if (!isRecord(value)) return 'it is not a JSON object'
  if (value.version !== 1) return 'unknown version'
  if (value.kind !== undefined && value.kind !== 'pat') return 'unknown kind'
  for (const key of ['api_url', 'access_token', 'refresh_token', 'expires_at', 'saved_at'] as const) {
    if (key === 'refresh_token' && value.kind === 'pat' && value[key] === '') continue
    if (typeof value[key] !== 'string' || value[key] === '') return `${key} is missing`
  }
  if (value.token_type !== 'Bearer') return 'token_type is not Bearer'
  if (typeof value.expires_in !== 'number' || !(value.expires_in > 0)) return 'expires_in is missing'
  if (Number.isNaN(Date.parse(String(value.expires_at)))) return 'expires_at is not a date'
  if (value.refresh_expires_in !== undefined && !(typeof value.refresh_expires_in === 'number' && value.refresh_expires_in >= 0)) {
    return 'refresh_expires_in is not a number of seconds'
  }
  if (value.refresh_expires_at !== undefined && Number.isNaN(Date.parse(String(value.refresh_expires_at)))) {
    return 'refresh_expires_at is not a date'
  }
  const user = value.user
  if (!isRecord(user) || typeof user.id !== 'string' || typeof user.username !== 'string' || typeof user.role !== 'string') {
    return 'user is missing'
  }
  if (user.email !== null && typeof user.email !== 'string') return 'user.email is not a string'
  return null
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

export function isErrno(error: unknown, code: string): boolean {
  return error instanceof Error && (error as NodeJS.ErrnoException).code === code
}

function octal(mode: number): string {
  return `0${(mode & 0o777).toString(8)}`
}
