import { openBrowser } from './browser.ts'
import type { CliContext } from './context.ts'
import { credentialsPath, writeCredentials, type Credentials } from './credentials.ts'
import { CliError, ExitCode } from './errors.ts'
import { apiError, readJsonObject, send, urlFor } from './http.ts'
import { startLoopbackListener } from './loopback-listener.ts'
import { createPkcePair, createState } from './pkce.ts'
import { credentialFields, parseTokenResponse, parseUser, type TokenResponse } from './session.ts'

/** The CLI's registration at the API (contract §5): any loopback port, PKCE S256 mandatory. */
export const CLI_CLIENT_ID = 'insighta-cli'

export interface LoginOptions {
  apiUrl: string
  openBrowser: boolean
  /** 0 = any free port */
  port: number
  /** when the browser cannot be opened: log in another way instead (the device flow) */
  withoutBrowser?: () => Promise<Credentials>
}

/**
 * The OAuth authorization-code flow with PKCE through the API, which brokers GitHub:
 * browser → API /auth/github → GitHub → API callback → our loopback listener with a one-time code,
 * redeemed at /auth/token with the verifier that never left this process. No token is ever in a URL.
 */
export async function login(ctx: CliContext, options: LoginOptions): Promise<Credentials> {
  const { apiUrl } = options
  const pkce = createPkcePair()
  const state = createState()
  let credentials: Credentials | undefined

  // The redirect_uri is only known once the listener has its port, and the code redeemer needs it.
  let redirectUri = ''
  const listener = await startLoopbackListener({
    port: options.port,
    state,
    timeoutMs: ctx.env.loginTimeoutMs,
    onCode: async (code) => {
      credentials = await redeemCode(apiUrl, code, pkce.verifier, redirectUri)
      await writeCredentials(ctx.env.home, credentials, ctx.warn)
    },
  })
  redirectUri = listener.redirectUri

  try {
    const authorizeUrl = urlFor(apiUrl, '/auth/github', {
      client_id: CLI_CLIENT_ID,
      redirect_uri: redirectUri,
      state,
      code_challenge: pkce.challenge,
      code_challenge_method: 'S256',
    })
    const opened = options.openBrowser && (await openBrowser(authorizeUrl))
    if (options.openBrowser && !opened && options.withoutBrowser !== undefined) {
      await listener.close()
      return await options.withoutBrowser()
    }
    ctx.out.message(opened ? 'Your browser has been opened to log in. If it did not open, visit:' : 'Open this URL in a browser to log in:')
    ctx.out.message(`\n  ${authorizeUrl}\n`)
    const wait = formatWait(ctx.env.loginTimeoutMs)
    await ctx.out.spin(`Waiting for the browser (up to ${wait}; Ctrl+C cancels)…`, () => listener.done)
  } finally {
    await listener.close()
  }
  if (credentials === undefined) throw new CliError(ExitCode.auth, 'Login did not complete.')
  ctx.out.print(`Logged in to ${apiUrl} as ${credentials.user.username} (${credentials.user.role}).`)
  ctx.out.print(`Credentials saved in ${credentialsPath(ctx.env.home)}.`)
  return credentials
}

async function redeemCode(apiUrl: string, code: string, verifier: string, redirectUri: string): Promise<Credentials> {
  const now = Date.now()
  const response = await send(apiUrl, {
    method: 'POST',
    path: '/auth/token',
    json: { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: redirectUri, client_id: CLI_CLIENT_ID },
  })
  if (!response.ok) {
    const error = await apiError(apiUrl, response)
    // A refused code is a failed login whatever the status (400 invalid_grant, 401, …), except that
    // a suspended account (403) keeps its own code and message.
    throw response.status === 403 || error.exitCode === ExitCode.server
      ? error
      : new CliError(ExitCode.auth, `The API refused the login: ${error.message}`)
  }
  const tokens = parseTokenResponse(apiUrl, response.status, await readJsonObject(apiUrl, response))
  return credentialsFor(apiUrl, tokens, now)
}

/** What a login stores, from a fresh token pair: the user comes from /auth/me with the new token. */
export async function credentialsFor(apiUrl: string, tokens: TokenResponse, now: number): Promise<Credentials> {
  const me = await send(apiUrl, { method: 'GET', path: '/auth/me', headers: { authorization: `Bearer ${tokens.access_token}` } })
  if (!me.ok) throw await apiError(apiUrl, me)
  const user = parseUser(apiUrl, me.status, await readJsonObject(apiUrl, me))
  return { version: 1, api_url: apiUrl, user, ...credentialFields(tokens, now) }
}

function formatWait(ms: number): string {
  if (ms >= 60_000) {
    const minutes = Math.round(ms / 60_000)
    return `${minutes} minute${minutes === 1 ? '' : 's'}`
  }
  return `${Math.max(1, Math.round(ms / 1000))} seconds`
}
