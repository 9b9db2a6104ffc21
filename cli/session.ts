import path from 'node:path'
import {
  ensureHome,
  isRecord,
  readCredentials,
  writeCredentials,
  type Credentials,
  type StoredUser,
  type Warn,
} from './credentials.ts'
import { DEFAULT_API_URL, type CliEnvironment } from './environment.ts'
import { authError, NotLoggedInError, SESSION_EXPIRED, SessionEndedError } from './errors.ts'
import { withFileLock } from './file-lock.ts'
import { apiError, readJsonObject, send, unexpectedResponse } from './http.ts'

export const LOCK_FILE = 'credentials.lock'
/** Refresh this long before expiry at most, so a request never leaves with a token about to lapse. */
const MAX_REFRESH_MARGIN_MS = 30_000
const REFRESH_TIMEOUT_MS = 15_000

/** Where a request's bearer token comes from. */
export interface TokenSource {
  /** 'pat': a personal access token stored by `login --with-token` (never refreshed) */
  readonly kind: 'env' | 'file' | 'pat'
  readonly apiUrl: string
  /** a token worth sending now: refreshed first when it is close to expiry */
  accessToken(): Promise<string>
  /** after the API rejected `rejected` as invalid_token: a replacement, or null when none is possible */
  recover(rejected: string): Promise<string | null>
  /** the refresh token to revoke at logout (none for INSIGHTA_TOKEN) */
  refreshToken(): string | undefined
  user(): StoredUser | undefined
  /** the refresh token's idle lifetime in seconds, as the API last granted it (unknown for INSIGHTA_TOKEN) */
  refreshLifetime(): number | undefined
}

/** INSIGHTA_TOKEN: used as is; there is nothing to refresh it with. */
class EnvTokenSource implements TokenSource {
  readonly kind = 'env'
  constructor(
    readonly apiUrl: string,
    private readonly token: string,
  ) {}
  async accessToken() {
    return this.token
  }
  async recover() {
    return null
  }
  refreshToken() {
    return undefined
  }
  user() {
    return undefined
  }
  refreshLifetime() {
    return undefined
  }
}

/** The credentials file, refreshed in place. */
export class FileTokenSource implements TokenSource {
  readonly kind = 'file'
  readonly apiUrl: string

  constructor(
    private readonly home: string,
    private credentials: Credentials,
    private readonly warn: Warn,
    private readonly now: () => number = Date.now,
  ) {
    this.apiUrl = credentials.api_url
  }

  async accessToken(): Promise<string> {
    if (needsRefresh(this.credentials, this.now())) await this.refresh(this.credentials.access_token)
    return this.credentials.access_token
  }

  async recover(rejected: string): Promise<string> {
    await this.refresh(rejected)
    return this.credentials.access_token
  }

  refreshToken() {
    return this.credentials.refresh_token
  }

  user() {
    return this.credentials.user
  }

  refreshLifetime() {
    return this.credentials.refresh_expires_in
  }

  /**
   * Takes the lock, then re-reads the file: if another process refreshed while we waited, its new
   * token is used instead of spending the (now already used) refresh token a second time.
   */
  private async refresh(seenAccessToken: string): Promise<void> {
    await ensureHome(this.home, this.warn)
    await withFileLock(path.join(this.home, LOCK_FILE), async () => {
      const current = await readCredentials(this.home, this.warn)
      if (current === null) throw new SessionEndedError(SESSION_EXPIRED, this.credentials.user)
      if (current.access_token !== seenAccessToken && !needsRefresh(current, this.now())) {
        this.credentials = current
        return
      }
      this.credentials = await redeemRefreshToken(current, this.now())
      await writeCredentials(this.home, this.credentials, this.warn)
    })
  }
}

/** Near the end of the token's life: the last fifth of it, at most the last 30 seconds. */
export function needsRefresh(credentials: Credentials, now: number): boolean {
  const margin = Math.min(MAX_REFRESH_MARGIN_MS, credentials.expires_in * 1000 * 0.2)
  return Date.parse(credentials.expires_at) - now <= margin
}

async function redeemRefreshToken(current: Credentials, now: number): Promise<Credentials> {
  const response = await send(current.api_url, {
    method: 'POST',
    path: '/auth/refresh',
    json: { refresh_token: current.refresh_token },
    // Well inside the lock's 30 s stale limit: a waiter must never break the lock of a live refresh.
    timeoutMs: REFRESH_TIMEOUT_MS,
  })
  // 400/401: the refresh token is expired, used or revoked — only a new login helps.
  if (response.status === 400 || response.status === 401) {
    await response.body?.cancel()
    throw new SessionEndedError(sessionEndedMessage(current, now), current.user)
  }
  if (!response.ok) throw await apiError(current.api_url, response)
  const tokens = parseTokenResponse(current.api_url, response.status, await readJsonObject(current.api_url, response))
  return { ...current, ...credentialFields(tokens, now) }
}

/**
 * Why a refresh was refused, as far as the CLI can tell: past the idle lifetime the API granted
 * (by the local clock) it is the product's idle sign-out, which must never come as a surprise;
 * otherwise the session was ended elsewhere (logout, revocation, an admin) or reached its absolute end.
 */
export function sessionEndedMessage(credentials: Credentials, now: number): string {
  const lapsedAt = credentials.refresh_expires_at === undefined ? NaN : Date.parse(credentials.refresh_expires_at)
  if (credentials.refresh_expires_in !== undefined && lapsedAt <= now) {
    const minutes = Math.max(1, Math.round(credentials.refresh_expires_in / 60))
    return `Signed out after ${minutes} minute${minutes === 1 ? '' : 's'} without activity: run insighta login`
  }
  return SESSION_EXPIRED
}

export interface TokenResponse {
  access_token: string
  refresh_token: string
  expires_in: number
  /** the refresh token's idle lifetime (the API sends it; older APIs did not) */
  refresh_expires_in?: number
}

/** `{"status":"success","access_token","refresh_token","token_type":"Bearer","expires_in"}` (contract §5). */
export function parseTokenResponse(apiUrl: string, status: number, body: Record<string, unknown>): TokenResponse {
  const { access_token, refresh_token, expires_in, token_type, refresh_expires_in } = body
  if (
    typeof access_token !== 'string' ||
    access_token === '' ||
    typeof refresh_token !== 'string' ||
    refresh_token === '' ||
    typeof expires_in !== 'number' ||
    !(expires_in > 0) ||
    (token_type !== undefined && String(token_type).toLowerCase() !== 'bearer')
  ) {
    throw unexpectedResponse(apiUrl, status)
  }
  const idle = typeof refresh_expires_in === 'number' && refresh_expires_in >= 0 ? refresh_expires_in : undefined
  return { access_token, refresh_token, expires_in, ...(idle === undefined ? {} : { refresh_expires_in: idle }) }
}

export function credentialFields(tokens: TokenResponse, now: number) {
  return {
    token_type: 'Bearer' as const,
    access_token: tokens.access_token,
    refresh_token: tokens.refresh_token,
    expires_in: tokens.expires_in,
    expires_at: new Date(now + tokens.expires_in * 1000).toISOString(),
    refresh_expires_in: tokens.refresh_expires_in,
    refresh_expires_at: tokens.refresh_expires_in === undefined ? undefined : new Date(now + tokens.refresh_expires_in * 1000).toISOString(),
    saved_at: new Date(now).toISOString(),
  }
}

/** The user object of `/auth/me` (`data`, or `user` which mirrors it). */
export function parseUser(apiUrl: string, status: number, body: Record<string, unknown>): StoredUser {
  const user = isRecord(body.data) ? body.data : body.user
  if (!isRecord(user) || typeof user.id !== 'string' || typeof user.username !== 'string' || typeof user.role !== 'string') {
    throw unexpectedResponse(apiUrl, status)
  }
  return { id: user.id, username: user.username, role: user.role, email: typeof user.email === 'string' ? user.email : null }
}

/**
 * INSIGHTA_TOKEN wins over the file (CI has no file). Otherwise the file decides the API, and a
 * different INSIGHTA_API_URL is refused: sending one server's tokens to another would leak them.
 */
export async function openTokenSource(env: CliEnvironment, warn: Warn): Promise<TokenSource> {
  if (env.token !== undefined) return new EnvTokenSource(env.apiUrl ?? DEFAULT_API_URL, env.token)
  const credentials = await readCredentials(env.home, warn)
  if (credentials === null) throw new NotLoggedInError()
  if (credentials.kind === 'pat') {
    if (env.apiUrl !== undefined && env.apiUrl !== credentials.api_url) throw authError(otherApiMessage(credentials.api_url, env.apiUrl))
    return new StoredPatSource(credentials)
  }
  if (env.apiUrl !== undefined && env.apiUrl !== credentials.api_url) {
    throw authError(otherApiMessage(credentials.api_url, env.apiUrl))
  }
  return new FileTokenSource(env.home, credentials, warn)
}

function otherApiMessage(stored: string, requested: string): string {
  return `You are logged in to ${stored}, but INSIGHTA_API_URL is ${requested}: run insighta login to log in there.`
}

/** A personal access token from the credentials file: sent as is, never to /auth/refresh. */
class StoredPatSource implements TokenSource {
  readonly kind = 'pat'
  readonly apiUrl: string
  constructor(private readonly credentials: Credentials) {
    this.apiUrl = credentials.api_url
  }
  async accessToken() {
    return this.credentials.access_token
  }
  async recover() {
    return null
  }
  refreshToken() {
    return undefined
  }
  user() {
    return this.credentials.user
  }
  refreshLifetime() {
    return undefined
  }
}
