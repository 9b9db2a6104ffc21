/**
 * Identity helpers for tests: users and sessions made directly through the repositories and the
 * token service (cheap, no GitHub), PKCE pairs, and the full browser dance through the GitHub
 * stand-in for the tests that walk the real flow over HTTP.
 */
import { createHash, randomBytes } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import { newId } from '../../contract/ids.ts'
import { upsertGitHubUser, type UserRow } from '../../db/repositories/users.ts'
import { NO_REQUEST } from '../../api/services/audit.ts'
import type { GitHubStandIn } from '../../dev/github-stand-in.ts'

export interface TestUser {
  row: UserRow
  sessionId: string
  /** a fresh access token for this user's session, signed by the app */
  accessToken(): Promise<string>
  /** a first refresh token of a NEW session of this user (the cached session keeps its own) */
  newSessionTokens(clientId?: string): Promise<{ accessToken: string; refreshToken: string; sessionId: string }>
}

let sequence = 0

/** A user of the role, created directly in the app's database (negative GitHub id: never a real one). */
export async function createTestUser(
  app: FastifyInstance,
  role: 'admin' | 'analyst',
  options: { username?: string; githubId?: number } = {},
): Promise<TestUser> {
  sequence += 1
  const githubId = options.githubId ?? -(1_000_000 + Math.floor(Math.random() * 1e9) * 10 + (sequence % 10))
  const username = options.username ?? `test-${role}-${Math.abs(githubId)}`
  const { identity } = app
  const row = await upsertGitHubUser(app.db.db, {
    id: newId(),
    githubId,
    username,
    email: `${username}@example.test`,
    avatarUrl: null,
    makeAdmin: role === 'admin',
    now: new Date(identity.clock()),
  })
  const session = await identity.sessions.create(row.id, 'test-helper', { ...NO_REQUEST, userAgent: 'tap' })
  // Like every real session it holds a refresh token (unused here), so it is live until that lapses.
  await identity.sessions.issue(row, { id: session.id, expiresAt: session.expires_at, usedAt: session.last_used_at })
  return {
    row,
    sessionId: session.id,
    accessToken: () => identity.tokens.sign({ userId: row.id, role: row.role, sessionId: session.id }),
    async newSessionTokens(clientId = 'test-helper') {
      const s = await identity.sessions.create(row.id, clientId, { ...NO_REQUEST, userAgent: 'tap' })
      const pair = await identity.sessions.issue(row, { id: s.id, expiresAt: s.expires_at, usedAt: s.last_used_at })
      return { accessToken: pair.accessToken, refreshToken: pair.refreshToken, sessionId: s.id }
    },
  }
}

export function pkcePair(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url')
  const challenge = createHash('sha256').update(verifier).digest('base64url')
  return { verifier, challenge }
}

export function bearer(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}` }
}

/**
 * A browser's part of a login on behalf of a client, over real HTTP: GET /auth/github (302 to the
 * stand-in), the user approves as `login`, the stand-in redirects to the API callback, which
 * redirects to the client's redirect_uri. Returns that final Location (code and state, or error).
 * `apiUrl` is the listening API; the callback is followed there whatever API_PUBLIC_URL says.
 */
export async function browserLogin(
  apiUrl: string,
  github: Pick<GitHubStandIn, 'approve'>,
  login: string,
  query: Record<string, string>,
  headers: Record<string, string> = {},
): Promise<{ location: string; callbackStatus: number; callbackBody: string }> {
  const start = await fetch(`${apiUrl}/auth/github?${new URLSearchParams(query)}`, { redirect: 'manual', headers })
  if (start.status !== 302) throw new Error(`GET /auth/github answered ${start.status}: ${await start.text()}`)
  const authorize = start.headers.get('location') ?? ''
  const back = new URL(await github.approve(authorize, login))
  const callback = await fetch(`${apiUrl}${back.pathname}${back.search}`, { redirect: 'manual', headers })
  const body = await callback.text()
  return { location: callback.headers.get('location') ?? '', callbackStatus: callback.status, callbackBody: body }
}

export const PORTAL_SECRET = 'portal-test-secret-0123456789abcdefghijklmnop'
export const PORTAL_REDIRECT = 'http://localhost:3001/auth/callback'

/** Configuration that points the API at a GitHub stand-in and registers the portal. */
export function githubEnv(github: GitHubStandIn, extra: Record<string, string> = {}): Record<string, string> {
  return {
    GITHUB_CLIENT_ID: github.clientId,
    GITHUB_CLIENT_SECRET: github.clientSecret,
    GITHUB_OAUTH_URL: github.url,
    GITHUB_API_URL: github.url,
    PORTAL_CLIENT_SECRET: PORTAL_SECRET,
    PORTAL_REDIRECT_URI: PORTAL_REDIRECT,
    ...extra,
  }
}

/** Listens on a free loopback port and returns the base URL (closed with the app). */
export async function listen(app: FastifyInstance): Promise<string> {
  await app.listen({ port: 0, host: '127.0.0.1' })
  const address = app.server.address()
  if (address === null || typeof address === 'string') throw new Error('not listening on TCP')
  return `http://127.0.0.1:${address.port}`
}

export interface TokenAnswer {
  status: string
  access_token: string
  refresh_token: string
  token_type: string
  expires_in: number
  refresh_expires_in: number
  user?: { id: string; github_id: number; username: string; email: string | null; role: string }
}

/** POST a JSON body over real HTTP and return status, headers and parsed body. */
export async function postJson(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Headers; body: Record<string, unknown> }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  })
  const text = await response.text()
  return { status: response.status, headers: response.headers, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} }
}

/** A whole CLI-style login over HTTP: loopback redirect, then the code redeemed at /auth/token. */
export async function cliLogin(
  apiUrl: string,
  github: Pick<GitHubStandIn, 'approve'>,
  login: string,
  options: { port?: number; headers?: Record<string, string> } = {},
): Promise<TokenAnswer> {
  const { verifier, challenge } = pkcePair()
  const redirectUri = `http://127.0.0.1:${options.port ?? 53682}/callback`
  const state = randomBytes(16).toString('base64url')
  const { location } = await browserLogin(apiUrl, github, login, {
    client_id: 'insighta-cli',
    redirect_uri: redirectUri,
    state,
    code_challenge: challenge,
    code_challenge_method: 'S256',
  })
  const back = new URL(location)
  if (back.searchParams.get('state') !== state) throw new Error(`state not returned: ${location}`)
  const code = back.searchParams.get('code')
  if (!code) throw new Error(`no code: ${location}`)
  const redeemed = await postJson(
    `${apiUrl}/auth/token`,
    { code, code_verifier: verifier, redirect_uri: redirectUri, client_id: 'insighta-cli' },
    options.headers,
  )
  if (redeemed.status !== 200) throw new Error(`/auth/token ${redeemed.status}: ${JSON.stringify(redeemed.body)}`)
  return redeemed.body as unknown as TokenAnswer
}
