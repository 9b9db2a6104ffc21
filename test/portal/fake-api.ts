/**
 * A scriptable double of the API's identity and profile endpoints, speaking the contract's wire
 * format, for the portal tests that need to count calls or inject failures (refresh races, dead
 * sessions, an API that goes away). The real API is used everywhere else.
 */
import { createHash } from 'node:crypto'
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify'
import multipart from '@fastify/multipart'
import { newId } from '../../contract/ids.ts'

export interface FakeUser {
  id: string
  github_id: number
  username: string
  email: string | null
  avatar_url: string | null
  role: 'admin' | 'analyst'
  is_active: boolean
  last_login_at: string | null
  created_at: string
}

interface Grant {
  userId: string
  sessionId: string
}

export interface FakeApi {
  url: string
  app: FastifyInstance
  users: FakeUser[]
  /** requests received, as "METHOD /path" */
  calls: string[]
  /** the last request's full URL per path */
  lastUrls: Map<string, string>
  /** every request's full URL, in order */
  urls: string[]
  /** the last request's headers per path */
  lastHeaders: Map<string, Record<string, string | string[] | undefined>>
  /** access tokens → grant; delete one to make the API refuse it */
  accessTokens: Map<string, Grant>
  refreshTokens: Map<string, Grant & { used: boolean }>
  /** one-time codes the next /auth/token accepts */
  codes: Map<string, { userId: string; challenge: string; redirectUri: string }>
  /** revoked API sessions */
  revokedSessions: Set<string>
  options: {
    expiresIn: number
    /** delay before /auth/refresh answers (ms) */
    refreshDelayMs: number
    /** status /auth/refresh answers instead of working (e.g. 401, 503) */
    refreshFailure?: number
    /** the message of that failure (the real API says "Refresh token expired; log in again" for a lapse) */
    refreshFailureMessage?: string
    importReport?: Record<string, unknown>
    importStatus?: number
    /** when set, the export sends its header row, then waits for this before the rest */
    exportGate?: Promise<void>
  }
  /** how the last export ended: 'finished', or 'aborted' when its reader went away midway */
  exportOutcome?: 'finished' | 'aborted'
  /** bytes the import endpoint received, and the file part's content */
  imports: { bytes: number; content: string; contentType: string }[]
  /** issues a token pair for a user, as a completed login would */
  issue(userId: string): { access_token: string; refresh_token: string; sessionId: string }
  count(call: string): number
  close(): Promise<void>
  // --- headless access and analyst features (issues 14, 15) ---
  /** pending device logins by canonical user code */
  devices: Map<string, FakeDevice>
  /** wrong device codes so far; from `deviceFailureLimit` on, lookups answer 429 */
  deviceFailures: number
  deviceFailureLimit: number
  /** personal access tokens by id */
  tokens: Map<string, FakeToken>
  savedSearches: FakeSavedSearch[]
  /** the search's `interpreted`; undefined answers 400 with examples */
  interpreted?: { filter: Record<string, string | number>; ignored_words: string[] }
}

export interface FakeDevice {
  user_code: string
  client_id: string
  client_name: string
  created_at: string
  expires_at: string
  ip: string | null
  user_agent: string | null
  decision?: 'approve' | 'deny'
  decidedBy?: string
}

export interface FakeToken {
  id: string
  userId: string
  name: string
  scopes: ('read' | 'admin')[]
  created_at: string
  expires_at: string
  expired: boolean
  last_used_at: string | null
  last_used_ip: string | null
  last_used_user_agent: string | null
}

export interface FakeSavedSearch {
  id: string
  userId: string
  name: string
  kind: 'list' | 'search'
  query: string
  path: string
  created_at: string
}

export async function startFakeApi(): Promise<FakeApi> {
  const now = new Date().toISOString()
  const users: FakeUser[] = [
    { id: newId(), github_id: 1001, username: 'octo-admin', email: 'octo-admin@example.com', avatar_url: null, role: 'admin', is_active: true, last_login_at: now, created_at: now },
    { id: newId(), github_id: 1002, username: 'octo-analyst', email: null, avatar_url: null, role: 'analyst', is_active: true, last_login_at: now, created_at: now },
  ]
  const app = Fastify({ logger: false })
  await app.register(multipart, { limits: { fileSize: 1024 * 1024 * 1024 } })
  let serial = 0
  const fake: FakeApi = {
    url: '',
    app,
    users,
    calls: [],
    lastUrls: new Map(),
    urls: [],
    lastHeaders: new Map(),
    accessTokens: new Map(),
    refreshTokens: new Map(),
    codes: new Map(),
    revokedSessions: new Set(),
    options: { expiresIn: 180, refreshDelayMs: 0 },
    imports: [],
    devices: new Map(),
    deviceFailures: 0,
    deviceFailureLimit: 5,
    tokens: new Map(),
    savedSearches: [],
    interpreted: { filter: { gender: 'male', country_id: 'NG' }, ignored_words: [] },
    issue(userId: string) {
      serial++
      const sessionId = newId()
      const access = `access-${serial}-${sessionId}`
      const refresh = `refresh-${serial}-${sessionId}`
      fake.accessTokens.set(access, { userId, sessionId })
      fake.refreshTokens.set(refresh, { userId, sessionId, used: false })
      return { access_token: access, refresh_token: refresh, sessionId }
    },
    count(call: string) {
      return fake.calls.filter((c) => c === call).length
    },
    async close() {
      await app.close()
    },
  }

  app.addHook('onRequest', async (request) => {
    const path = request.url.split('?')[0]
    fake.calls.push(`${request.method} ${path}`)
    fake.lastHeaders.set(path, { ...request.headers })
    fake.lastUrls.set(path, request.url)
    fake.urls.push(request.url)
  })

  const fail = (reply: FastifyReply, status: number, message: string) => reply.code(status).send({ status: 'error', message })

  function grantOf(request: FastifyRequest): Grant | undefined {
    const auth = request.headers.authorization
    const token = auth?.startsWith('Bearer ') ? auth.slice(7) : undefined
    const grant = token ? fake.accessTokens.get(token) : undefined
    if (!grant || fake.revokedSessions.has(grant.sessionId)) return undefined
    return grant
  }

  function requireUser(request: FastifyRequest, reply: FastifyReply, role?: 'admin'): FakeUser | undefined {
    const grant = grantOf(request)
    if (!grant) {
      void fail(reply.header('www-authenticate', 'Bearer realm="insighta", error="invalid_token"'), 401, 'Invalid or expired token')
      return undefined
    }
    const user = users.find((u) => u.id === grant.userId)
    if (!user || !user.is_active) {
      void fail(reply, 403, 'Account suspended')
      return undefined
    }
    if (role === 'admin' && user.role !== 'admin') {
      void fail(reply, 403, 'Forbidden')
      return undefined
    }
    return user
  }

  app.post('/auth/token', async (request, reply) => {
    const body = request.body as Record<string, string>
    const code = fake.codes.get(body.code)
    const challenge = typeof body.code_verifier === 'string' ? createHash('sha256').update(body.code_verifier).digest('base64url') : ''
    if (!code || challenge !== code.challenge || body.redirect_uri !== code.redirectUri || body.client_id !== 'insighta-portal' || !body.client_secret) {
      return fail(reply, 400, 'Invalid code')
    }
    fake.codes.delete(body.code)
    const user = users.find((u) => u.id === code.userId)
    if (user && !user.is_active) return fail(reply, 403, 'Your account has been suspended by an administrator')
    const pair = fake.issue(code.userId)
    return { status: 'success', access_token: pair.access_token, refresh_token: pair.refresh_token, token_type: 'Bearer', expires_in: fake.options.expiresIn }
  })

  app.post('/auth/refresh', async (request, reply) => {
    if (fake.options.refreshDelayMs > 0) await new Promise((r) => setTimeout(r, fake.options.refreshDelayMs))
    if (fake.options.refreshFailure) return fail(reply, fake.options.refreshFailure, fake.options.refreshFailureMessage ?? 'Refresh failed')
    const token = (request.body as Record<string, string>).refresh_token
    const grant = fake.refreshTokens.get(token)
    if (!grant || grant.used || fake.revokedSessions.has(grant.sessionId)) {
      // Reuse revokes the family, as the real API does.
      if (grant) fake.revokedSessions.add(grant.sessionId)
      return fail(reply, 401, 'Invalid refresh token')
    }
    grant.used = true
    serial++
    const access = `access-${serial}-${grant.sessionId}`
    const refresh = `refresh-${serial}-${grant.sessionId}`
    fake.accessTokens.set(access, { userId: grant.userId, sessionId: grant.sessionId })
    fake.refreshTokens.set(refresh, { userId: grant.userId, sessionId: grant.sessionId, used: false })
    return { status: 'success', access_token: access, refresh_token: refresh, token_type: 'Bearer', expires_in: fake.options.expiresIn }
  })

  app.post('/auth/logout', async (request, reply) => {
    const grant = grantOf(request)
    const token = (request.body as Record<string, string> | undefined)?.refresh_token
    const byRefresh = token ? fake.refreshTokens.get(token) : undefined
    const sessionId = grant?.sessionId ?? byRefresh?.sessionId
    if (!sessionId) return fail(reply, 401, 'No session')
    fake.revokedSessions.add(sessionId)
    return { status: 'success', message: 'Logged out' }
  })

  app.post('/auth/logout-all', async (request, reply) => {
    const user = requireUser(request, reply)
    if (!user) return reply
    for (const grant of fake.accessTokens.values()) if (grant.userId === user.id) fake.revokedSessions.add(grant.sessionId)
    const mine = [...fake.tokens.values()].filter((tk) => tk.userId === user.id)
    const revokeTokens = (request.body as { revoke_tokens?: unknown } | undefined)?.revoke_tokens === true
    if (revokeTokens) for (const tk of mine) fake.tokens.delete(tk.id)
    return { status: 'success', message: 'Logged out of all sessions', revoked: 1, tokens_revoked: revokeTokens ? mine.length : 0, tokens_remaining: revokeTokens ? 0 : mine.length }
  })

  app.get('/auth/me', async (request, reply) => {
    const user = requireUser(request, reply)
    if (!user) return reply
    return { status: 'success', data: user, user }
  })

  app.get('/api/sessions', async (request, reply) => {
    const user = requireUser(request, reply)
    if (!user) return reply
    const grant = grantOf(request)
    const ids = new Set([...fake.accessTokens.values()].filter((g) => g.userId === user.id && !fake.revokedSessions.has(g.sessionId)).map((g) => g.sessionId))
    return {
      status: 'success',
      data: [...ids].map((id) => ({
        id,
        client_id: 'insighta-portal',
        user_agent: 'Mozilla/5.0 <b>Test</b>',
        ip: '127.0.0.1',
        created_at: now,
        last_used_at: now,
        expires_at: now,
        current: id === grant?.sessionId,
      })),
    }
  })

  app.delete('/api/sessions/:id', async (request, reply) => {
    const user = requireUser(request, reply)
    if (!user) return reply
    const id = (request.params as { id: string }).id
    const known = [...fake.accessTokens.values()].some((g) => g.sessionId === id && g.userId === user.id)
    if (!known || fake.revokedSessions.has(id)) return fail(reply, 404, 'Session not found')
    fake.revokedSessions.add(id)
    return reply.code(204).send()
  })

  app.get('/api/users', async (request, reply) => {
    if (!requireUser(request, reply, 'admin')) return reply
    const q = String((request.query as Record<string, string>).q ?? '').toLowerCase()
    const data = users.filter((u) => u.username.toLowerCase().includes(q) || (u.email ?? '').toLowerCase().includes(q))
    return { status: 'success', page: 1, limit: 20, total: data.length, total_pages: data.length ? 1 : 0, data }
  })

  app.patch('/api/users/:id', async (request, reply) => {
    const me = requireUser(request, reply, 'admin')
    if (!me) return reply
    const user = users.find((u) => u.id === (request.params as { id: string }).id)
    if (!user) return fail(reply, 404, 'User not found')
    const body = request.body as { role?: 'admin' | 'analyst'; is_active?: boolean }
    if (body.role === 'analyst' && user.role === 'admin' && users.filter((u) => u.role === 'admin' && u.is_active).length === 1) {
      return fail(reply, 409, 'At least one active admin must remain')
    }
    if (body.role) user.role = body.role
    if (body.is_active !== undefined) user.is_active = body.is_active
    return { status: 'success', data: user }
  })

  const profile = {
    id: '01936f3e-0000-7000-8000-000000000001',
    name: 'Ada <script>alert(1)</script>',
    gender: 'female',
    gender_probability: 0.98,
    age: 36,
    age_group: 'adult',
    country_id: 'NG',
    country_name: 'Nigeria',
    country_probability: 0.7,
    created_at: now.replace(/\.\d{3}Z$/, 'Z'),
  }

  /** `facets=…` adds counts per value, as the API does (contract §6). */
  function facetsFor(request: FastifyRequest): { facets?: Record<string, unknown> } {
    const asked = String((request.query as Record<string, unknown>).facets ?? '')
    if (asked === '') return {}
    const all: Record<string, unknown> = {
      gender: [{ value: 'male', count: 7 }, { value: 'female', count: 5 }],
      age_group: [{ value: 'adult', count: 9 }, { value: 'senior', count: 3 }, { value: 'child', count: 0 }],
      country_id: [{ value: 'NG', label: 'Nigeria', count: 8 }, { value: 'GH', label: 'Ghana <b>', count: 4 }],
    }
    return { facets: Object.fromEntries(asked.split(',').filter((f) => f in all).map((f) => [f, all[f]])) }
  }

  app.get('/api/profiles/search', async (request, reply) => {
    if (!requireUser(request, reply)) return reply
    const interpreted = fake.interpreted
    if (!interpreted) {
      return reply.code(400).send({ status: 'error', message: 'Unable to interpret query', examples: ['women in kenya', 'young males from nigeria', 'seniors <from> "ghana"'] })
    }
    return { status: 'success', page: 1, limit: 10, total: 1, total_pages: 1, links: { self: '/api/profiles/search?q=x', next: null, prev: null }, data: [profile], interpreted, ...facetsFor(request) }
  })

  app.get('/api/profiles', async (request, reply) => {
    if (!requireUser(request, reply)) return reply
    return { status: 'success', page: 1, limit: 10, total: 1, total_pages: 1, links: { self: '/api/profiles?page=1&limit=10', next: null, prev: null }, data: [profile], ...facetsFor(request) }
  })

  app.get('/api/profiles/stats', async (request, reply) => {
    if (!requireUser(request, reply)) return reply
    return {
      status: 'success',
      data: {
        total: 1,
        by_gender: { male: 0, female: 1 },
        by_age_group: { child: 0, teenager: 0, adult: 1, senior: 0 },
        by_country: [{ country_id: 'NG', country_name: 'Nigeria', count: 1 }],
        age_histogram: [{ from: 30, to: 39, count: 1 }],
      },
    }
  })

  app.get('/api/profiles/export', async (request, reply) => {
    if (!requireUser(request, reply)) return reply
    const gate = fake.options.exportGate
    if (!gate) return reply.type('text/csv; charset=utf-8').header('content-disposition', 'attachment; filename="profiles_x.csv"').send('id,name\n1,Ada\n')
    fake.exportOutcome = undefined
    reply.hijack()
    const res = reply.raw
    res.writeHead(200, { 'content-type': 'text/csv; charset=utf-8', 'content-disposition': 'attachment; filename="profiles_slow.csv"' })
    res.write('id,name\n')
    res.once('close', () => {
      fake.exportOutcome ??= res.writableFinished ? 'finished' : 'aborted'
    })
    await gate
    for (let i = 0; i < 1000 && !res.destroyed; i++) res.write(`${i},Person ${i}\n`)
    if (!res.destroyed) res.end()
  })

  app.post('/api/profiles/import', async (request, reply) => {
    if (!requireUser(request, reply, 'admin')) return reply
    if (fake.options.importStatus) return fail(reply, fake.options.importStatus, 'Import refused')
    const file = await request.file()
    if (!file) return fail(reply, 400, 'No file')
    let content = ''
    let bytes = 0
    for await (const chunk of file.file) {
      bytes += chunk.length
      if (content.length < 10_000) content += chunk.toString('utf8')
    }
    fake.imports.push({ bytes, content, contentType: String(request.headers['content-type']) })
    const rows = content.split('\n').filter((l) => l.trim() !== '').length - 1
    return (
      fake.options.importReport ?? {
        status: 'success',
        total_rows: rows,
        inserted: Math.max(0, rows - 1),
        skipped: rows > 0 ? 1 : 0,
        reasons: { duplicate_name: rows > 0 ? 1 : 0, invalid_age: 0, invalid_gender: 0, invalid_country: 0, invalid_probability: 0, missing_fields: 0, malformed_row: 0 },
      }
    )
  })

  // --- headless access and analyst features (issues 14, 15), in the API's wire format ---------

  const canonicalCode = (raw: unknown) => (typeof raw === 'string' ? raw.toUpperCase().replace(/[\s-]/g, '') : '')

  function pendingDevice(request: FastifyRequest, reply: FastifyReply, raw: unknown): FakeDevice | undefined {
    if (fake.deviceFailures >= fake.deviceFailureLimit) {
      void fail(reply.header('retry-after', '60'), 429, 'Too many wrong codes: try again later')
      return undefined
    }
    const code = canonicalCode(raw)
    if (code === '') {
      void fail(reply, 400, 'Missing or empty user_code')
      return undefined
    }
    const device = fake.devices.get(code)
    if (!device || device.decision) {
      fake.deviceFailures++
      void fail(reply, 404, 'Invalid or expired code')
      return undefined
    }
    return device
  }

  app.get('/auth/device/lookup', async (request, reply) => {
    if (!requireUser(request, reply)) return reply
    const device = pendingDevice(request, reply, (request.query as Record<string, unknown>).user_code)
    if (!device) return reply
    const { decision: _decision, decidedBy: _decidedBy, ...data } = device
    return { status: 'success', data }
  })

  for (const decision of ['approve', 'deny'] as const) {
    app.post(`/auth/device/${decision}`, async (request, reply) => {
      const user = requireUser(request, reply)
      if (!user) return reply
      const device = pendingDevice(request, reply, (request.body as Record<string, unknown> | undefined)?.user_code)
      if (!device) return reply
      device.decision = decision
      device.decidedBy = user.id
      return { status: 'success', message: decision === 'approve' ? 'Device approved: it is now signed in' : 'Device denied', data: { user_code: device.user_code } }
    })
  }

  const tokenView = ({ userId: _userId, ...token }: FakeToken) => token

  app.get('/api/users/me/tokens', async (request, reply) => {
    const user = requireUser(request, reply)
    if (!user) return reply
    return { status: 'success', data: [...fake.tokens.values()].filter((tk) => tk.userId === user.id).map(tokenView) }
  })

  app.post('/api/users/me/tokens', async (request, reply) => {
    const user = requireUser(request, reply)
    if (!user) return reply
    const body = (request.body ?? {}) as { name?: unknown; expires_in_days?: unknown; scopes?: unknown }
    if (typeof body.name !== 'string' || typeof body.expires_in_days !== 'number' || !Array.isArray(body.scopes)) return fail(reply, 422, 'Invalid parameter type')
    if (body.name.trim() === '') return fail(reply, 400, 'Missing or empty name')
    if (body.expires_in_days < 1 || body.expires_in_days > 90) return fail(reply, 400, 'expires_in_days must be between 1 and 90')
    if (body.scopes.includes('admin') && user.role !== 'admin') return fail(reply, 403, 'Only admins can create admin tokens')
    if ([...fake.tokens.values()].some((tk) => tk.userId === user.id && tk.name === body.name)) return fail(reply, 409, 'A token with that name already exists')
    const created = new Date()
    const token: FakeToken = {
      id: newId(),
      userId: user.id,
      name: body.name,
      scopes: body.scopes as FakeToken['scopes'],
      created_at: created.toISOString().replace(/\.\d{3}Z$/, 'Z'),
      expires_at: new Date(created.getTime() + body.expires_in_days * 86_400_000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      expired: false,
      last_used_at: null,
      last_used_ip: null,
      last_used_user_agent: null,
    }
    fake.tokens.set(token.id, token)
    return reply.code(201).send({ status: 'success', token: `insighta_pat_${createHash('sha256').update(token.id).digest('base64url')}`, data: tokenView(token) })
  })

  app.delete('/api/users/me/tokens/:id', async (request, reply) => {
    const user = requireUser(request, reply)
    if (!user) return reply
    const token = fake.tokens.get((request.params as { id: string }).id)
    if (!token || token.userId !== user.id) return fail(reply, 404, 'Token not found')
    fake.tokens.delete(token.id)
    return reply.code(204).send()
  })

  app.get('/api/users/:id', async (request, reply) => {
    if (!requireUser(request, reply, 'admin')) return reply
    const user = users.find((u) => u.id === (request.params as { id: string }).id)
    if (!user) return fail(reply, 404, 'User not found')
    return { status: 'success', data: user }
  })

  app.get('/api/users/:id/tokens', async (request, reply) => {
    if (!requireUser(request, reply, 'admin')) return reply
    const id = (request.params as { id: string }).id
    if (!users.some((u) => u.id === id)) return fail(reply, 404, 'User not found')
    return { status: 'success', data: [...fake.tokens.values()].filter((tk) => tk.userId === id).map(tokenView) }
  })

  app.delete('/api/users/:id/tokens/:tokenId', async (request, reply) => {
    if (!requireUser(request, reply, 'admin')) return reply
    const params = request.params as { id: string; tokenId: string }
    const token = fake.tokens.get(params.tokenId)
    if (!token || token.userId !== params.id) return fail(reply, 404, 'Token not found')
    fake.tokens.delete(token.id)
    return reply.code(204).send()
  })

  app.get('/api/saved-searches', async (request, reply) => {
    const user = requireUser(request, reply)
    if (!user) return reply
    return { status: 'success', data: fake.savedSearches.filter((s) => s.userId === user.id).map(({ userId: _userId, ...s }) => s) }
  })

  app.post('/api/saved-searches', async (request, reply) => {
    const user = requireUser(request, reply)
    if (!user) return reply
    const body = (request.body ?? {}) as { name?: unknown; query?: unknown }
    if (typeof body.name !== 'string' || typeof body.query !== 'string') return fail(reply, 422, 'Invalid parameter type')
    const name = body.name.trim()
    const query = body.query.trim().replace(/^\?/, '')
    if (name === '') return fail(reply, 400, 'Missing or empty name')
    if (query === '') return fail(reply, 400, 'Missing or empty query')
    if (fake.savedSearches.some((s) => s.userId === user.id && s.name === name)) return fail(reply, 409, 'A saved search with that name already exists')
    const kind = new URLSearchParams(query).has('q') ? 'search' : 'list'
    const saved: FakeSavedSearch = {
      id: newId(),
      userId: user.id,
      name,
      kind,
      query,
      path: `${kind === 'search' ? '/api/profiles/search' : '/api/profiles'}?${query}`,
      created_at: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    }
    fake.savedSearches.push(saved)
    const { userId: _userId, ...data } = saved
    return reply.code(201).send({ status: 'success', data })
  })

  app.delete('/api/saved-searches/:id', async (request, reply) => {
    const user = requireUser(request, reply)
    if (!user) return reply
    const index = fake.savedSearches.findIndex((s) => s.id === (request.params as { id: string }).id && s.userId === user.id)
    if (index < 0) return fail(reply, 404, 'Saved search not found')
    fake.savedSearches.splice(index, 1)
    return reply.code(204).send()
  })

  fake.url = await app.listen({ host: '127.0.0.1', port: 0 })
  return fake
}
