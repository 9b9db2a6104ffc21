/**
 * A minimal API speaking the contract's token rules (§5) — bearer checks with RFC 6750 challenges,
 * single-use refresh tokens whose reuse revokes the session, logout — so the CLI's refresh, lock
 * and logout logic can be tested in isolation, with counters the real API does not expose.
 * The end-to-end tests run the same scenarios against the real API.
 */
import { randomBytes } from 'node:crypto'
import http, { type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Credentials } from '../../../cli/credentials.ts'

interface Session {
  revoked: boolean
  access: Map<string, number>
  refresh: string
  used: Set<string>
}

export interface FakeAuthApi {
  url: string
  /** how many refreshes were redeemed (successfully) */
  refreshes: number
  /** true once a reused refresh token made the server revoke the session */
  reuseDetected: boolean
  session: Session
  requests: { method: string; path: string; authorization: string | undefined; version: string | undefined }[]
  /** a fresh credentials object for this server, as `insighta login` would save it */
  credentials(options?: { expiresInSeconds?: number; expiredLocally?: boolean }): Credentials
  /** makes every current access token invalid (as if it expired server-side) */
  expireAccessTokens(): void
  /** when true, even freshly issued access tokens are refused */
  rejectAllAccessTokens: boolean
  close(): Promise<void>
}

export async function startFakeAuthApi(options: { accessTtlMs?: number; refreshDelayMs?: number } = {}): Promise<FakeAuthApi> {
  const accessTtlMs = options.accessTtlMs ?? 60_000
  const token = () => randomBytes(24).toString('base64url')
  const session: Session = { revoked: false, access: new Map(), refresh: token(), used: new Set() }

  const api: FakeAuthApi = {
    url: '',
    refreshes: 0,
    reuseDetected: false,
    session,
    requests: [],
    rejectAllAccessTokens: false,
    credentials(opts = {}) {
      const access = token()
      const expiresIn = opts.expiresInSeconds ?? 180
      session.access.set(access, Date.now() + accessTtlMs)
      const expiresAt = opts.expiredLocally ? Date.now() - 1000 : Date.now() + expiresIn * 1000
      return {
        version: 1,
        api_url: api.url,
        token_type: 'Bearer',
        access_token: access,
        refresh_token: session.refresh,
        expires_in: expiresIn,
        expires_at: new Date(expiresAt).toISOString(),
        user: { id: '0190a4b2-7c1e-7d3a-9f00-000000000001', username: 'octo-analyst', role: 'analyst', email: null },
        saved_at: new Date().toISOString(),
      }
    },
    expireAccessTokens() {
      session.access.clear()
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  }

  function json(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
    response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'x-api-version': '1', ...headers })
    response.end(JSON.stringify(body))
  }

  function unauthorized(response: ServerResponse, sentToken: boolean) {
    const challenge = sentToken ? 'Bearer realm="insighta", error="invalid_token"' : 'Bearer realm="insighta"'
    json(response, 401, { status: 'error', message: 'Invalid or expired token' }, { 'www-authenticate': challenge })
  }

  function bearerValid(request: IncomingMessage): boolean | 'none' {
    const match = /^Bearer (\S+)$/.exec(request.headers.authorization ?? '')
    if (!match) return 'none'
    const expires = session.access.get(match[1])
    return !api.rejectAllAccessTokens && !session.revoked && expires !== undefined && expires > Date.now()
  }

  async function readBody(request: IncomingMessage): Promise<Record<string, unknown>> {
    let text = ''
    for await (const chunk of request) text += String(chunk)
    try {
      const value: unknown = JSON.parse(text)
      return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {}
    } catch {
      return {}
    }
  }

  const server = http.createServer(async (request, response) => {
    const path = new URL(request.url ?? '/', 'http://x').pathname
    api.requests.push({
      method: request.method ?? '',
      path,
      authorization: request.headers.authorization,
      version: request.headers['x-api-version'] as string | undefined,
    })
    if (request.method === 'POST' && path === '/auth/refresh') {
      const body = await readBody(request)
      if (options.refreshDelayMs) await new Promise((r) => setTimeout(r, options.refreshDelayMs))
      const presented = body.refresh_token
      if (typeof presented !== 'string' || session.revoked) return json(response, 401, { status: 'error', message: 'Invalid refresh token' })
      if (session.used.has(presented)) {
        // Reuse of a spent token: the whole session (family) is revoked (contract §5).
        session.revoked = true
        api.reuseDetected = true
        return json(response, 401, { status: 'error', message: 'Refresh token reused' })
      }
      if (presented !== session.refresh) return json(response, 401, { status: 'error', message: 'Invalid refresh token' })
      session.used.add(presented)
      session.refresh = token()
      const access = token()
      session.access.set(access, Date.now() + accessTtlMs)
      api.refreshes++
      return json(response, 200, {
        status: 'success',
        access_token: access,
        refresh_token: session.refresh,
        token_type: 'Bearer',
        expires_in: Math.round(accessTtlMs / 1000),
      })
    }
    const valid = bearerValid(request)
    if (valid !== true) return unauthorized(response, valid === false)
    if (request.method === 'POST' && path === '/auth/logout') {
      session.revoked = true
      return json(response, 200, { status: 'success', message: 'Logged out' })
    }
    if (request.method === 'GET' && path === '/auth/me') {
      const user = { id: '0190a4b2-7c1e-7d3a-9f00-000000000001', username: 'octo-analyst', role: 'analyst', email: 'octo-analyst@example.com' }
      return json(response, 200, { status: 'success', data: user, user })
    }
    if (request.method === 'GET' && path === '/api/profiles') {
      return json(response, 200, {
        status: 'success',
        page: 1,
        limit: 10,
        total: 0,
        total_pages: 0,
        links: { self: '/api/profiles?page=1&limit=10', next: null, prev: null },
        data: [],
      })
    }
    json(response, 404, { status: 'error', message: 'Not found' })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  api.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return api
}
