import { newId } from '../../contract/ids.ts'
import type { Db } from '../../db/index.ts'
import {
  consumeAuthCode,
  findAuthCode,
  insertAuthCode,
  insertPendingLogin,
  purgeExpiredLogins,
  takePendingLogin,
  type PendingLoginRow,
} from '../../db/repositories/logins.ts'
import { findSession } from '../../db/repositories/sessions.ts'
import { findUserById, upsertGitHubUser, type UserRow } from '../../db/repositories/users.ts'
import type { AuthConfig } from '../config.ts'
import { ApiError } from '../errors.ts'
import type { AuditLog, RequestContext } from './audit.ts'
import {
  CODE_VERIFIER_PATTERN,
  newSecret,
  S256_CHALLENGE_PATTERN,
  s256Challenge,
  safeEqual,
  sha256Hex,
} from './auth-crypto.ts'
import { accountSuspended, SUSPENDED_MESSAGE, unauthorized } from './auth-errors.ts'
import { DIRECT_CLIENT_ID, TEST_CODE_CLIENT_ID, type ClientRegistry, type RegisteredClient } from './clients.ts'
import type { Clock, RandomBytes } from './clock.ts'
import { GitHubRejected, type GitHubClient, type GitHubIdentity } from './github-client.ts'
import type { SessionService, TokenPair } from './sessions.ts'

/** `GET /auth/github` parameters of a login started on behalf of a client. */
export interface AuthorizeParams {
  client_id?: string
  redirect_uri?: string
  state?: string
  code_challenge?: string
  code_challenge_method?: string
}

/** What GitHub (or the grader) sends to `/auth/github/callback`. */
export interface CallbackParams {
  code?: string
  state?: string
  error?: string
}

/** `GET /auth/github`'s answer: where to send the browser, and for a plain login the state to bind to it. */
export interface LoginStart {
  location: string
  /** set for a plain login (no client): the route puts it in a short-lived HttpOnly cookie */
  browserState?: string
}

/** `POST /auth/token` fields (JSON or form). */
export interface TokenRequest {
  grant_type?: string
  code?: string
  code_verifier?: string
  redirect_uri?: string
  client_id?: string
  client_secret?: string
}

/** Client credentials that came outside the body: HTTP Basic, or the portal's secret header. */
export interface ClientCredentials {
  basic?: { clientId: string; secret: string }
  portalSecretHeader?: string
}

export type CallbackOutcome =
  | { kind: 'redirect'; location: string }
  | { kind: 'tokens'; pair: TokenPair; user: UserRow }

export interface LoginResult {
  pair: TokenPair
  user: UserRow
}

/** Seeded identities of the grader shortcut: negative GitHub ids, which real GitHub never issues. */
export const TEST_USERS = {
  test_code: { githubId: -1, username: 'test-admin', admin: true },
  analyst_test_code: { githubId: -2, username: 'test-analyst', admin: false },
} as const

const MAX_STATE_LENGTH = 512
const CALLBACK_PATH = '/auth/github/callback'
/** Used codes are kept this long after expiry so a late replay is still recognised (and punished). */
const KEEP_USED_CODES_MS = 3600 * 1000

export interface LoginDeps {
  db: Db
  config: AuthConfig
  clock: Clock
  random: RandomBytes
  github: GitHubClient
  clients: ClientRegistry
  sessions: SessionService
  audit: AuditLog
}

const badRequest = (message: string) => new ApiError(400, message)

function present(value: string | undefined): value is string {
  return value !== undefined && value !== ''
}

/**
 * The login flow: the API's own GitHub leg (state + S256 PKCE, pending login in the database), the
 * one-time codes it hands to registered clients, their redemption, and the grader shortcut.
 */
export class LoginService {
  constructor(private readonly deps: LoginDeps) {}

  private now(): Date {
    return new Date(this.deps.clock())
  }

  get githubCallbackUrl(): string {
    return `${this.deps.config.publicUrl}${CALLBACK_PATH}`
  }

  /**
   * Validates a client's authorization request completely before anything else happens, so that a bad
   * `redirect_uri` can never be redirected to (no open redirect): 400 JSON for every problem.
   */
  private checkClientRequest(params: AuthorizeParams): { client: RegisteredClient; redirectUri: string; state: string; challenge: string } {
    if (!present(params.client_id)) throw badRequest('Missing or empty client_id')
    const client = this.deps.clients.get(params.client_id)
    if (!client) throw badRequest('Unknown client_id')
    if (!client.enabled) throw badRequest(`Client ${client.id} is not configured on this server`)
    if (!present(params.redirect_uri)) throw badRequest('Missing or empty redirect_uri')
    if (!client.allowsRedirect(params.redirect_uri)) throw badRequest('redirect_uri is not registered for this client')
    if (!present(params.state)) throw badRequest('Missing or empty state')
    if (params.state.length > MAX_STATE_LENGTH) throw badRequest(`state must be at most ${MAX_STATE_LENGTH} characters`)
    if (!present(params.code_challenge)) throw badRequest('Missing or empty code_challenge: PKCE is required')
    if (params.code_challenge_method !== 'S256') throw badRequest('code_challenge_method must be S256')
    if (!S256_CHALLENGE_PATTERN.test(params.code_challenge))
      throw badRequest('code_challenge must be an S256 challenge (43 base64url characters)')
    return { client, redirectUri: params.redirect_uri, state: params.state, challenge: params.code_challenge }
  }

  /**
   * `GET /auth/github`: the GitHub authorize URL to redirect to. A plain login's state is also bound
   * to the browser that started it (login CSRF: an attacker's callback URL opened by a victim would
   * otherwise log the victim in as the attacker); a client's login is bound by the client's own
   * state and PKCE instead.
   */
  async start(params: AuthorizeParams, context: RequestContext): Promise<LoginStart> {
    const onBehalf = [params.client_id, params.redirect_uri, params.state, params.code_challenge, params.code_challenge_method].some(
      (v) => v !== undefined,
    )
    const request = onBehalf ? this.checkClientRequest(params) : undefined
    if (!this.deps.github.configured) throw new ApiError(503, 'GitHub login is not configured on this server')
    const now = this.now()
    const state = newSecret(this.deps.random, 32)
    const verifier = newSecret(this.deps.random, 32)
    const row: PendingLoginRow = {
      id: newId(),
      state_hash: sha256Hex(state),
      code_verifier: verifier,
      client_id: request?.client.id ?? null,
      redirect_uri: request?.redirectUri ?? null,
      client_state: request?.state ?? null,
      code_challenge: request?.challenge ?? null,
      ip: context.ip,
      user_agent: context.userAgent?.slice(0, 512) ?? null,
      created_at: now,
      expires_at: new Date(now.getTime() + this.deps.config.loginStateTtlSeconds * 1000),
    }
    await purgeExpiredLogins(this.deps.db.db, now, new Date(now.getTime() - KEEP_USED_CODES_MS))
    await insertPendingLogin(this.deps.db.db, row)
    const location = this.deps.github.authorizeUrl({ state, codeChallenge: s256Challenge(verifier), redirectUri: this.githubCallbackUrl })
    return request ? { location } : { location, browserState: state }
  }

  private async failure(context: RequestContext, reason: string, extra: { subjectId?: string; clientId?: string | null } = {}) {
    await this.deps.audit.record('login.failure', context, {
      subjectId: extra.subjectId ?? null,
      details: { reason, client_id: extra.clientId ?? null },
    })
  }

  private clientRedirect(pending: PendingLoginRow, params: Record<string, string>): CallbackOutcome {
    const location = new URL(pending.redirect_uri ?? '')
    for (const [key, value] of Object.entries(params)) location.searchParams.set(key, value)
    location.searchParams.set('state', pending.client_state ?? '')
    return { kind: 'redirect', location: location.toString() }
  }

  /**
   * `GET|POST /auth/github/callback`. `browserState` is the state cookie the browser carried (see
   * start); a plain login whose state does not match it is refused.
   */
  async callback(params: CallbackParams, context: RequestContext, browserState?: string): Promise<CallbackOutcome> {
    const { config } = this.deps
    if (config.testCodeEnabled && (params.code === 'test_code' || params.code === 'analyst_test_code')) {
      const { pair, user } = await this.testLogin(params.code, context)
      return { kind: 'tokens', pair, user }
    }
    if (!present(params.state)) throw badRequest('Missing or empty state')
    const pending = await takePendingLogin(this.deps.db.db, sha256Hex(params.state))
    if (!pending || pending.expires_at.getTime() <= this.deps.clock()) {
      await this.failure(context, pending ? 'expired_state' : 'unknown_state')
      throw badRequest('Invalid or expired state: start the login again')
    }
    const clientId = pending.client_id
    if (clientId === null && !(browserState !== undefined && safeEqual(browserState, params.state))) {
      await this.failure(context, 'state_not_bound_to_browser')
      throw badRequest('Login state does not belong to this browser: start the login again from this browser')
    }
    if (present(params.error) || !present(params.code)) {
      await this.failure(context, present(params.error) ? `github_${params.error.slice(0, 64)}` : 'missing_code', { clientId })
      if (clientId) return this.clientRedirect(pending, { error: 'access_denied', error_description: 'GitHub login was not completed' })
      throw unauthorized('GitHub login was not completed', false)
    }

    let identity: GitHubIdentity
    try {
      const githubToken = await this.deps.github.exchangeCode({
        code: params.code,
        codeVerifier: pending.code_verifier,
        redirectUri: this.githubCallbackUrl,
      })
      identity = await this.deps.github.fetchIdentity(githubToken)
    } catch (error) {
      if (!(error instanceof GitHubRejected)) {
        await this.failure(context, 'github_unavailable', { clientId })
        throw error
      }
      await this.failure(context, `github_rejected_${error.reason.slice(0, 64)}`, { clientId })
      if (clientId) return this.clientRedirect(pending, { error: 'access_denied', error_description: 'GitHub rejected the login' })
      throw unauthorized('GitHub rejected the login', true)
    }

    const user = await this.upsertUser(identity)
    if (!user.is_active) {
      await this.failure(context, 'suspended', { subjectId: user.id, clientId })
      if (clientId) return this.clientRedirect(pending, { error: 'access_denied', error_description: SUSPENDED_MESSAGE })
      throw accountSuspended()
    }

    if (clientId && pending.redirect_uri && pending.code_challenge) {
      // The session waits for its code: until redeemed it lives only as long as the code.
      const codeTtlMs = config.authCodeTtlSeconds * 1000
      const now = this.now()
      const session = await this.deps.sessions.create(user.id, clientId, context, new Date(now.getTime() + codeTtlMs))
      const code = newSecret(this.deps.random, 32)
      await insertAuthCode(this.deps.db.db, {
        id: newId(),
        code_hash: sha256Hex(code),
        client_id: clientId,
        redirect_uri: pending.redirect_uri,
        code_challenge: pending.code_challenge,
        session_id: session.id,
        created_at: now,
        expires_at: new Date(now.getTime() + codeTtlMs),
      })
      await this.deps.audit.record('login.success', context, {
        actorId: user.id,
        subjectId: user.id,
        sessionId: session.id,
        details: { client_id: clientId },
      })
      return this.clientRedirect(pending, { code })
    }

    const { pair } = await this.openSession(user, DIRECT_CLIENT_ID, context)
    return { kind: 'tokens', pair, user }
  }

  private async upsertUser(identity: GitHubIdentity): Promise<UserRow> {
    const { config } = this.deps
    const makeAdmin = config.adminLogins.includes(identity.login.toLowerCase()) || config.adminGithubIds.includes(identity.id)
    return upsertGitHubUser(this.deps.db.db, {
      id: newId(),
      githubId: identity.id,
      username: identity.login,
      email: identity.email,
      avatarUrl: identity.avatarUrl,
      makeAdmin,
      now: this.now(),
    })
  }

  private async openSession(user: UserRow, clientId: string, context: RequestContext): Promise<LoginResult> {
    const session = await this.deps.sessions.create(user.id, clientId, context)
    const pair = await this.deps.sessions.issue(user, { id: session.id, expiresAt: session.expires_at, usedAt: session.last_used_at })
    await this.deps.audit.record('login.success', context, {
      actorId: user.id,
      subjectId: user.id,
      sessionId: session.id,
      details: { client_id: clientId },
    })
    return { pair, user }
  }

  /** The grader shortcut (contract §5): only when AUTH_TEST_CODE_ENABLED, never in production. */
  private async testLogin(code: keyof typeof TEST_USERS, context: RequestContext): Promise<LoginResult> {
    if (!this.deps.config.testCodeEnabled) throw badRequest('Invalid code')
    const seeded = TEST_USERS[code]
    const user = await upsertGitHubUser(this.deps.db.db, {
      id: newId(),
      githubId: seeded.githubId,
      username: seeded.username,
      email: null,
      avatarUrl: null,
      makeAdmin: seeded.admin,
      now: this.now(),
    })
    if (!user.is_active) {
      await this.failure(context, 'suspended', { subjectId: user.id, clientId: TEST_CODE_CLIENT_ID })
      throw accountSuspended()
    }
    return this.openSession(user, TEST_CODE_CLIENT_ID, context)
  }

  /**
   * `POST /auth/token` with grant_type authorization_code (the default). The client authenticates
   * first (a confidential client's secret is checked before the code is touched, so a stolen code
   * alone cannot even burn it), and a code issued to another client is refused untouched; then the
   * code is consumed atomically and every binding checked. Any failure after consumption ends the
   * session the code created; a replayed code does too.
   */
  async redeem(body: TokenRequest, credentials: ClientCredentials, context: RequestContext): Promise<LoginResult> {
    for (const field of ['code', 'code_verifier', 'redirect_uri', 'client_id'] as const) {
      if (!present(body[field])) throw badRequest(`Missing or empty ${field}`)
    }
    const code = body.code as string
    const verifier = body.code_verifier as string
    const clientId = body.client_id as string
    const client = this.deps.clients.get(clientId)
    if (!client || !client.enabled) throw badRequest('Unknown client_id')
    if (credentials.basic && credentials.basic.clientId !== clientId) throw unauthorized('Invalid client credentials', true)
    if (client.confidential) {
      const secret = body.client_secret ?? credentials.basic?.secret ?? credentials.portalSecretHeader
      if (!client.verifySecret(secret)) {
        await this.failure(context, 'bad_client_secret', { clientId })
        throw unauthorized('Invalid client credentials', secret !== undefined)
      }
    }

    const now = this.now()
    const codeHash = sha256Hex(code)
    // Looked up before it is consumed: a code presented by the wrong client (the portal's code under
    // client_id=insighta-cli) is refused without burning it, so the rightful client's redemption
    // still works. (The client's own credentials were checked above, also before any consumption.)
    const issued = await findAuthCode(this.deps.db.db, codeHash)
    if (issued && issued.used_at === null && issued.client_id !== clientId) {
      await this.failure(context, 'code_client_mismatch', { clientId })
      throw badRequest('Code was issued to another client')
    }
    const row = await consumeAuthCode(this.deps.db.db, codeHash, now)
    if (!row) {
      const used = await findAuthCode(this.deps.db.db, codeHash)
      if (used) {
        const ended = await this.deps.sessions.revoke(used.session_id, 'code_replay')
        const session = await findSession(this.deps.db.db, used.session_id)
        await this.deps.audit.record('code.replay', context, {
          subjectId: session?.user_id ?? null,
          sessionId: used.session_id,
          details: { client_id: clientId, session_was_live: ended !== undefined },
        })
      }
      throw badRequest('Invalid or expired code')
    }

    let problem: string | undefined
    if (row.expires_at.getTime() <= now.getTime()) problem = 'Invalid or expired code'
    else if (row.client_id !== clientId) problem = 'Code was issued to another client'
    else if (row.redirect_uri !== body.redirect_uri) problem = 'redirect_uri does not match the authorization request'
    else if (!CODE_VERIFIER_PATTERN.test(verifier) || !safeEqual(s256Challenge(verifier), row.code_challenge))
      problem = 'code_verifier does not match the code_challenge'
    const session = await findSession(this.deps.db.db, row.session_id)
    if (problem !== undefined || !session) {
      await this.deps.sessions.revoke(row.session_id, 'code_rejected')
      await this.failure(context, 'code_rejected', { subjectId: session?.user_id, clientId })
      throw badRequest(problem ?? 'Invalid or expired code')
    }
    const user = await findUserById(this.deps.db.db, session.user_id)
    if (!user) throw badRequest('Invalid or expired code')
    if (!user.is_active) {
      await this.deps.sessions.revoke(session.id, 'user_suspended')
      throw accountSuspended()
    }
    if (session.revoked_at !== null) throw badRequest('Invalid or expired code')
    // The session was opened when the browser reached the callback. A public client (the CLI)
    // redeems from the machine that will hold the tokens, so that request names the session's
    // device; the portal redeems server to server for the browser, whose session it stays.
    const pair = await this.deps.sessions.issue(user, await this.deps.sessions.activate(session, client.confidential ? undefined : context))
    return { pair, user }
  }
}
