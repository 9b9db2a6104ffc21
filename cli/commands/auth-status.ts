import { Command } from 'commander'
import type { CliContext } from '../context.ts'
import { credentialsPath, isRecord, readCredentials } from '../credentials.ts'
import { CliError, CorruptedCredentialsError, ExitCode, NotLoggedInError } from '../errors.ts'
import { sanitise, unexpectedResponse } from '../http.ts'
import { isPersonalAccessToken, parseTokenInfo, type TokenInfo } from '../personal-tokens.ts'
import type { TokenSource } from '../session.ts'
import { keyValues } from '../views.ts'
import { printJson, withExamples, withJson } from './shared.ts'

/** `auth status` fails with 1, like `gh auth status`: scripts test "am I logged in?" with it. */
const NOT_OK = ExitCode.internal

type Method = 'session' | 'personal access token' | 'environment'

export function authCommand(ctx: CliContext): Command {
  const auth = new Command('auth')
  const status = withJson(new Command('status').description('who you are, how you are authenticated and until when (checked against the API)'))
  auth.addCommand(
    withExamples(status, ['insighta auth status', 'insighta auth status --json']).action(async (options: { json?: boolean }) => {
      await authStatus(ctx, options.json === true)
    }),
  )
  return auth
}

interface Status {
  logged_in: boolean
  valid: boolean
  api_url: string | null
  method: Method | null
  /** INSIGHTA_TOKEN, or the credentials file */
  credentials: string | null
  user: { username: string; role: string; email: string | null } | null
  access_token_expires_at: string | null
  session_idle_expires_at: string | null
  session_expires_at: string | null
  token: { name: string; scopes: string[]; expires_at: string } | null
  problem: string | null
}

async function authStatus(ctx: CliContext, json: boolean): Promise<void> {
  const status: Status = {
    logged_in: false,
    valid: false,
    api_url: null,
    method: null,
    credentials: null,
    user: null,
    access_token_expires_at: null,
    session_idle_expires_at: null,
    session_expires_at: null,
    token: null,
    problem: null,
  }
  let source: TokenSource
  try {
    source = await ctx.tokenSource()
  } catch (error) {
    if (!(error instanceof NotLoggedInError) && !(error instanceof CorruptedCredentialsError) && !(error instanceof CliError)) throw error
    status.problem = error.message
    return finish(ctx, status, json)
  }
  status.logged_in = true
  status.api_url = source.apiUrl
  status.method = source.kind === 'env' ? 'environment' : source.kind === 'pat' ? 'personal access token' : 'session'
  status.credentials = source.kind === 'env' ? 'INSIGHTA_TOKEN (environment variable)' : credentialsPath(ctx.env.home)

  const client = await ctx.client()
  try {
    const me = await ctx.out.spin('Checking…', () => client.json({ method: 'GET', path: '/api/users/me' }))
    const user = isRecord(me.data) ? me.data : me.user
    if (!isRecord(user) || typeof user.username !== 'string' || typeof user.role !== 'string') throw unexpectedResponse(client.apiUrl, 200)
    status.user = { username: sanitise(user.username), role: sanitise(user.role), email: typeof user.email === 'string' ? sanitise(user.email) : null }
    const token = await source.accessToken()
    if (isPersonalAccessToken(token)) {
      const info = await currentToken(ctx)
      status.token = info === null ? null : { name: info.name, scopes: info.scopes, expires_at: info.expires_at }
      status.access_token_expires_at = info?.expires_at ?? null
    } else {
      status.access_token_expires_at = source.kind === 'file' ? await storedExpiry(ctx) : jwtExpiry(token)
      Object.assign(status, await sessionEnds(ctx))
    }
    status.valid = true
  } catch (error) {
    if (!(error instanceof CliError)) throw error
    if (error.exitCode !== ExitCode.auth && error.exitCode !== ExitCode.permission) throw error
    const stored = source.user()
    if (stored !== undefined) status.user = { username: stored.username, role: stored.role, email: stored.email }
    status.problem = error.message
  }
  return finish(ctx, status, json)
}

function finish(ctx: CliContext, status: Status, json: boolean): void {
  if (json) printJson(ctx, status)
  else if (!status.logged_in) ctx.out.print('Not logged in.')
  else {
    const rows: [string, string | null][] = [
      ['user', status.user?.username ?? null],
      ['role', status.user?.role ?? null],
      ['api', status.api_url],
      ['method', status.method === 'environment' && status.token !== null ? 'environment (personal access token)' : status.method],
      ['credentials', status.credentials],
    ]
    if (status.token !== null) {
      rows.push(['token', status.token.name], ['scopes', status.token.scopes.join(', ')], ['expires', status.token.expires_at])
    } else if (status.valid) {
      rows.push(['access token expires', status.access_token_expires_at])
      if (status.session_idle_expires_at !== null) rows.push(['session idle end', status.session_idle_expires_at])
      rows.push(['session ends', status.session_expires_at])
    }
    rows.push(['status', status.valid ? 'valid' : 'not valid'])
    ctx.out.print(keyValues(rows))
  }
  if (!status.valid) throw new CliError(NOT_OK, status.problem ?? 'Not logged in.')
}

async function currentToken(ctx: CliContext): Promise<TokenInfo | null> {
  const client = await ctx.client()
  const body = await client.json({ method: 'GET', path: '/api/users/me/tokens/current' })
  return parseTokenInfo(body.data)
}

async function storedExpiry(ctx: CliContext): Promise<string | null> {
  const credentials = await readCredentials(ctx.env.home, ctx.warn).catch(() => null)
  return credentials?.expires_at ?? null
}

/** An access token is a JWT: its `exp` says when it ends (read, not verified: the API did that). */
function jwtExpiry(token: string): string | null {
  const payload = token.split('.')[1]
  if (payload === undefined) return null
  try {
    const claims: unknown = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'))
    if (isRecord(claims) && typeof claims.exp === 'number') return new Date(claims.exp * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z')
  } catch {
    // not a JWT: unknown
  }
  return null
}

/** The session this login is: its idle end (when the API reports it) and its absolute end. */
async function sessionEnds(ctx: CliContext): Promise<Pick<Status, 'session_idle_expires_at' | 'session_expires_at'>> {
  const client = await ctx.client()
  const body = await client.json({ method: 'GET', path: '/api/sessions' })
  const current = Array.isArray(body.data) ? body.data.find((s) => isRecord(s) && s.current === true) : undefined
  if (!isRecord(current)) return { session_idle_expires_at: null, session_expires_at: null }
  const idle = current.idle_expires_at ?? current.refresh_expires_at
  return {
    session_idle_expires_at: typeof idle === 'string' ? sanitise(idle) : null,
    session_expires_at: typeof current.expires_at === 'string' ? sanitise(current.expires_at) : null,
  }
}
