import type { CliContext } from './context.ts'
import { credentialsPath, isRecord, writeCredentials, type Credentials } from './credentials.ts'
import { CliError, ExitCode, usageError } from './errors.ts'
import { apiError, readJsonObject, sanitise, send } from './http.ts'
import { parseUser } from './session.ts'

/** What every personal access token starts with (contract/tokens.ts PAT_PREFIX; that module needs typebox). */
export const PAT_PREFIX = 'insighta_pat_'
/** Far longer than any token (prefix + base64url of ≥ 32 bytes); stdin is not read past it. */
const MAX_TOKEN_LENGTH = 1024

export function isPersonalAccessToken(token: string): boolean {
  return token.startsWith(PAT_PREFIX)
}

/** A token's metadata as GET /api/users/me/tokens/current and the lists answer it. */
export interface TokenInfo {
  id: string
  name: string
  scopes: string[]
  expires_at: string
}

export function parseTokenInfo(value: unknown): TokenInfo | null {
  if (!isRecord(value)) return null
  const { id, name, scopes, expires_at } = value
  if (typeof id !== 'string' || typeof name !== 'string' || typeof expires_at !== 'string' || Number.isNaN(Date.parse(expires_at))) return null
  if (!Array.isArray(scopes) || !scopes.every((s) => typeof s === 'string')) return null
  return { id, name: sanitise(name), scopes: scopes.map(sanitise), expires_at }
}

/** The whole of stdin, at most MAX_TOKEN_LENGTH bytes (a pipe: `echo $TOKEN | insighta login --with-token`). */
export async function readTokenFromStdin(stdin: NodeJS.ReadStream = process.stdin): Promise<string> {
  if (stdin.isTTY) throw usageError('--with-token reads the token from standard input: pipe it in, e.g. insighta login --with-token < token.txt')
  let text = ''
  for await (const chunk of stdin) {
    text += String(chunk)
    if (text.length > MAX_TOKEN_LENGTH) throw usageError('The token on standard input is too long to be a personal access token.')
  }
  const token = text.trim()
  if (token === '') throw usageError('No token on standard input: pipe a personal access token (insighta_pat_…) in.')
  // eslint-disable-next-line no-control-regex
  if (/[\s\u0000-\u001f\u007f]/.test(token)) throw usageError('The token on standard input must be one line without spaces or control characters.')
  if (!isPersonalAccessToken(token)) {
    throw usageError(`--with-token takes a personal access token (it starts with ${PAT_PREFIX}); create one with insighta tokens create.`)
  }
  return token
}

/**
 * `insighta login --with-token`: the token is checked against the API (who it belongs to, its expiry
 * and scopes) before it is stored; it is never refreshed, so it works until it expires or is revoked.
 */
export async function loginWithToken(ctx: CliContext, apiUrl: string, token: string): Promise<Credentials> {
  const headers = { authorization: `Bearer ${token}` }
  const me = await send(apiUrl, { method: 'GET', path: '/api/users/me', headers })
  if (!me.ok) {
    const error = await apiError(apiUrl, me)
    throw error.exitCode === ExitCode.auth ? new CliError(ExitCode.auth, `The API refused the token: ${error.message}`) : error
  }
  const user = parseUser(apiUrl, me.status, await readJsonObject(apiUrl, me))
  const current = await send(apiUrl, { method: 'GET', path: '/api/users/me/tokens/current', headers })
  if (!current.ok) throw await apiError(apiUrl, current)
  const body = await readJsonObject(apiUrl, current)
  const info = parseTokenInfo(body.data)
  if (info === null) throw new CliError(ExitCode.server, `The API at ${apiUrl} returned an unexpected response (HTTP ${current.status}).`)
  const now = Date.now()
  const credentials: Credentials = {
    version: 1,
    kind: 'pat',
    api_url: apiUrl,
    token_type: 'Bearer',
    access_token: token,
    refresh_token: '',
    expires_in: Math.max(1, Math.round((Date.parse(info.expires_at) - now) / 1000)),
    expires_at: info.expires_at,
    user,
    saved_at: new Date(now).toISOString(),
  }
  await writeCredentials(ctx.env.home, credentials, ctx.warn)
  ctx.out.print(`Logged in to ${apiUrl} as ${user.username} (${user.role}) with the personal access token "${info.name}" (${info.scopes.join(', ')}; expires ${info.expires_at}).`)
  ctx.out.print(`Credentials saved in ${credentialsPath(ctx.env.home)}.`)
  return credentials
}
