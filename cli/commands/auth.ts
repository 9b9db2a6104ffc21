import { Command } from 'commander'
import type { CliContext } from '../context.ts'
import { credentialsPath, deleteCredentials, isRecord, readCredentials, type Credentials } from '../credentials.ts'
import { DEFAULT_API_URL, normaliseApiUrl } from '../environment.ts'
import { CliError, CorruptedCredentialsError, ExitCode, NotLoggedInError, SessionEndedError, usageError } from '../errors.ts'
import { send, unexpectedResponse } from '../http.ts'
import { login } from '../login.ts'
import { port } from '../validate.ts'
import { keyValues } from '../views.ts'
import { printJson, withExamples, withJson } from './shared.ts'

export function loginCommand(ctx: CliContext): Command {
  const command = new Command('login')
    .option('--api-url <url>', `the Insighta Labs+ API (default: INSIGHTA_API_URL, the last login's API, or ${DEFAULT_API_URL})`)
    .option('--no-browser', 'print the login URL instead of opening a browser (e.g. over SSH)')
    .option('--port <n>', 'fixed port for the local callback listener (default: any free port)', port)
    .option('--device', 'log in with a code approved in a browser on any device (SSH, containers)')
    .option('--with-token', 'read a personal access token (insighta_pat_…) from standard input and store it (CI)')
  return withExamples(command, [
    'insighta login',
    'insighta login --api-url https://api.insighta.example',
    'insighta login --no-browser --port 8765',
    'insighta login --device',
    'insighta login --with-token < token.txt',
  ]).action(async (options: { apiUrl?: string; browser: boolean; port?: number; device?: boolean; withToken?: boolean }) => {
    if (options.withToken && options.device) throw usageError('Choose one of --with-token and --device.')
    // An unusable file is no obstacle to logging in: the login replaces it.
    const previous = await readCredentials(ctx.env.home, ctx.warn).catch(() => null)
    const apiUrl =
      options.apiUrl === undefined ? (ctx.env.apiUrl ?? previous?.api_url ?? DEFAULT_API_URL) : normaliseApiUrl(options.apiUrl, '--api-url')
    if (options.withToken) {
      const { loginWithToken, readTokenFromStdin } = await import('../personal-tokens.ts')
      await loginWithToken(ctx, apiUrl, await readTokenFromStdin())
    } else {
      await loginSomehow(ctx, apiUrl, options)
    }
    if (previous !== null) await endReplacedSession(previous)
  })
}

/**
 * --device, or a plain `insighta login` where no browser can be used (over SSH, no display, or the
 * browser would not open): the device flow. --no-browser keeps the loopback flow (print the URL).
 */
async function loginSomehow(ctx: CliContext, apiUrl: string, options: { browser: boolean; port?: number; device?: boolean }) {
  const { deviceLogin } = await import('../device-login.ts')
  const headless = ctx.env.headless
  if (options.device) return deviceLogin(ctx, { apiUrl, openBrowser: options.browser && headless === undefined })
  if (options.browser && headless !== undefined) return deviceLogin(ctx, { apiUrl, openBrowser: false, reason: headless })
  return login(ctx, {
    apiUrl,
    openBrowser: options.browser,
    port: options.port ?? 0,
    withoutBrowser: () => deviceLogin(ctx, { apiUrl, openBrowser: false, reason: 'the browser could not be opened' }),
  })
}

/**
 * The new login overwrote the only copy of the previous session's tokens, so nobody can use that
 * session any more: end it on its server too, rather than leave it live until it times out. Best
 * effort and quiet — the login itself has succeeded.
 */
async function endReplacedSession(previous: Credentials): Promise<void> {
  // A personal access token is no session: it stays valid until revoked (insighta tokens revoke).
  if (previous.kind === 'pat') return
  try {
    const response = await send(previous.api_url, {
      method: 'POST',
      path: '/auth/logout',
      headers: { authorization: `Bearer ${previous.access_token}` },
      json: { refresh_token: previous.refresh_token },
      timeoutMs: 5_000,
    })
    await response.body?.cancel()
  } catch {
    // unreachable or gone: the session expires on its own
  }
}

export function logoutCommand(ctx: CliContext): Command {
  const command = new Command('logout')
    .option('--all', 'end every session of your account (all devices and browsers)')
    .option('--revoke-tokens', 'with --all: revoke your personal access tokens too')
  return withExamples(command, ['insighta logout', 'insighta logout --all', 'insighta logout --all --revoke-tokens']).action(
    async (options: { all?: boolean; revokeTokens?: boolean }) => {
      if (options.revokeTokens && !options.all) throw usageError('--revoke-tokens goes with --all: insighta logout --all --revoke-tokens')
      await logout(ctx, options.all === true, options.revokeTokens === true)
    },
  )
}

/**
 * Server first, so the refresh token is dead before its only local copy goes. The local file is
 * deleted whatever happens next: the user asked to be logged out of this machine.
 */
async function logout(ctx: CliContext, all: boolean, revokeTokens = false): Promise<void> {
  let source
  try {
    source = await ctx.tokenSource()
  } catch (error) {
    if (error instanceof NotLoggedInError) {
      ctx.out.print('You are not logged in.')
      return
    }
    // A corrupted file holds no session we could revoke; removing it is what logout is for.
    if (error instanceof CorruptedCredentialsError) {
      await deleteCredentials(ctx.env.home)
      ctx.out.print(`Removed the unreadable credentials file ${credentialsPath(ctx.env.home)}.`)
      return
    }
    throw error
  }
  if (source.kind === 'pat') {
    const removed = await deleteCredentials(ctx.env.home)
    ctx.out.print(
      `${removed ? 'Removed the personal access token from this machine' : 'Nothing stored here'}; the token itself stays valid until it expires or is revoked (insighta tokens revoke).`,
    )
    return
  }
  const client = await ctx.client()
  let failure: CliError | undefined
  let tokensLine: string | undefined
  try {
    const json = { refresh_token: source.refreshToken(), ...(revokeTokens ? { revoke_tokens: true } : {}) }
    const response = await ctx.out.spin('Logging out…', () => client.request({ method: 'POST', path: all ? '/auth/logout-all' : '/auth/logout', json }))
    if (all) tokensLine = tokensOutcome(await response.json().catch(() => null))
    else await response.body?.cancel()
  } catch (error) {
    if (!(error instanceof CliError)) throw error
    failure = error
  }
  const removed = source.kind === 'file' && (await deleteCredentials(ctx.env.home))
  const local = removed ? ' and removed the local credentials' : ''
  if (failure === undefined) {
    ctx.out.print(`Logged out: ended ${all ? 'every session of your account' : 'the session'} on the server${local}.`)
    if (tokensLine !== undefined) ctx.out.print(tokensLine)
  } else if (failure.exitCode === ExitCode.auth) {
    // The server no longer knows the session: it had expired or was revoked elsewhere.
    ctx.out.print(`Logged out: the session had already ended on the server${local}.`)
  } else {
    const what = removed ? 'The local credentials were removed anyway' : 'Nothing was changed locally'
    throw new CliError(failure.exitCode, `Could not end the session on the server: ${failure.message} ${what}; the session will expire on its own.`)
  }
}

/** What sign-out-everywhere did to personal access tokens (they are not sessions). */
function tokensOutcome(body: unknown): string | undefined {
  if (!isRecord(body)) return undefined
  const revoked = typeof body.tokens_revoked === 'number' ? body.tokens_revoked : 0
  const remaining = typeof body.tokens_remaining === 'number' ? body.tokens_remaining : 0
  const plural = (n: number) => `${n} personal access token${n === 1 ? '' : 's'}`
  const parts: string[] = []
  if (revoked > 0) parts.push(`revoked ${plural(revoked)}`)
  if (remaining > 0) parts.push(`${plural(remaining)} still valid (revoke them with insighta logout --all --revoke-tokens or insighta tokens revoke)`)
  return parts.length === 0 ? 'You have no personal access tokens.' : `Tokens: ${parts.join('; ')}.`
}

export function whoamiCommand(ctx: CliContext): Command {
  const command = withJson(new Command('whoami'))
  return withExamples(command, ['insighta whoami', 'insighta whoami --json']).action(async (options: { json?: boolean }) => {
    const source = await ctx.tokenSource()
    const client = await ctx.client()
    const stored = source.kind === 'env' ? 'INSIGHTA_TOKEN (environment variable)' : credentialsPath(ctx.env.home)
    let body: Record<string, unknown>
    try {
      body = await ctx.out.spin('Checking…', () => client.json({ method: 'GET', path: '/auth/me' }))
    } catch (error) {
      // The session is over, but the file still says whose it was: show that, then why it ended.
      if (!(error instanceof SessionEndedError) || error.user === undefined || options.json) throw error
      ctx.out.print(
        keyValues([
          ['user', error.user.username],
          ['role', error.user.role],
          ['email', error.user.email],
          ['api', client.apiUrl],
          ['credentials', stored],
          ['session', 'ended'],
        ]),
      )
      throw error
    }
    if (options.json) return printJson(ctx, body)
    const user = isRecord(body.data) ? body.data : body.user
    if (!isRecord(user)) throw unexpectedResponse(client.apiUrl, 200)
    ctx.out.print(
      keyValues([
        ['user', typeof user.username === 'string' ? user.username : null],
        ['role', typeof user.role === 'string' ? user.role : null],
        ['email', typeof user.email === 'string' ? user.email : null],
        ['api', client.apiUrl],
        ['credentials', stored],
      ]),
    )
  })
}
