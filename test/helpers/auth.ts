/**
 * Identity helpers for tests: users and sessions made directly through the repositories and the
 * token service (cheap, no GitHub), PKCE pairs, and the full browser dance through the GitHub
 * stand-in for the tests that walk the real flow over HTTP.
 */
import { createHash, randomBytes } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import { upsertGitHubUser, type UserRow } from '../../db/repositories/users.ts'
import { NO_REQUEST } from '../../api/services/audit.ts'
import type { GitHubStandIn } from './github-stand-in.ts'

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
    id: (await import('uuid')).v7(),
    githubId,
    username,
    email: `${username}@example.test`,
    avatarUrl: null,
    makeAdmin: role === 'admin',
    now: new Date(identity.clock()),
  })
  const session = await identity.sessions.create(row.id, 'test-helper', { ...NO_REQUEST, userAgent: 'tap' })
  return {
    row,
    sessionId: session.id,
    accessToken: () => identity.tokens.sign({ userId: row.id, role: row.role, sessionId: session.id }),
    async newSessionTokens(clientId = 'test-helper') {
      const s = await identity.sessions.create(row.id, clientId, { ...NO_REQUEST, userAgent: 'tap' })
      const pair = await identity.sessions.issue(row, { id: s.id, expiresAt: s.expires_at })
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
  github: GitHubStandIn,
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
