/**
 * The only way the portal reads or writes data: the API, server to server, with the signed-in
 * user's Bearer token. The portal never queries profile data itself.
 */
import http, { type IncomingMessage } from 'node:http'
import https from 'node:https'
import { Readable } from 'node:stream'
import { API_VERSION, API_VERSION_HEADER, PORTAL_CLIENT_HEADERS } from '../contract/headers.ts'
import { emptyReport, REASON_KEYS, type ImportReport, type RejectedRow } from '../contract/import-report.ts'
import type { ProfileJson } from '../contract/profile.ts'
import type { ListEnvelope } from '../contract/profile-query.ts'
import type { StatsBody } from '../contract/profile-stats.ts'
import type { UserJson } from '../contract/user.ts'
import type { DeviceRequestJson } from '../contract/device.ts'
import type { SavedSearchJson } from '../contract/saved-search.ts'
import type { TokenJson, TokenScope } from '../contract/tokens.ts'
import type { SearchEnvelope } from '../contract/profile-query.ts'

/** How long an import may take end to end (upload plus the importer's work). */
const IMPORT_DEADLINE_MS = 15 * 60_000

export interface ApiClientOptions {
  baseUrl: string
  clientId: string
  clientSecret: string
  timeoutMs: number
}

/** Who a call is made for: the user's token, their address (rate limits) and the request id (traces). */
export interface CallContext {
  token?: string
  endUserIp?: string
  requestId?: string
  /** aborts the call when the browser goes away */
  signal?: AbortSignal
}

export type Query = Record<string, string | number | undefined>

// ---------------------------------------------------------------------------------------------
// Wire types: the contract's schemas (contract/), as the API serialises them

export type Profile = ProfileJson
export type { ListEnvelope, UserJson }
/** The API's user list: the list envelope's paging fields, with users as its data. */
export type UserListEnvelope = Omit<ListEnvelope, 'data' | 'links'> & { data: UserJson[] }
export type ProfileStats = StatsBody['data']
export type { ImportReport }

/** A session as the API lists it; fields beyond `id` are shown when present. */
export interface ApiSession {
  id: string
  client_id?: string | null
  client?: string | null
  device?: string | null
  user_agent?: string | null
  ip?: string | null
  created_at?: string | null
  last_used_at?: string | null
  last_seen_at?: string | null
  expires_at?: string | null
  current?: boolean
}

export interface TokenPair {
  access_token: string
  refresh_token: string
  token_type: string
  expires_in: number
}

// ---------------------------------------------------------------------------------------------
// Errors

/** The API answered with an error status; `message` is the contract's safe message. */
export class ApiResponseError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly retryAfter?: string,
    /** example queries the search sends with "Unable to interpret query" (contract §6) */
    readonly examples?: string[],
  ) {
    super(message)
    this.name = 'ApiResponseError'
  }
}

/** The API could not be reached or did not answer in time (or the browser went away first: `aborted`). */
export class ApiUnavailableError extends Error {
  readonly aborted: boolean

  constructor(message: string, options: { cause?: unknown; aborted?: boolean } = {}) {
    super(message, { cause: options.cause })
    this.name = 'ApiUnavailableError'
    this.aborted = options.aborted ?? false
  }
}

function toQueryString(query: Query | undefined): string {
  if (!query) return ''
  const params = new URLSearchParams()
  for (const [key, value] of Object.entries(query)) if (value !== undefined && value !== '') params.append(key, String(value))
  const text = params.toString()
  return text === '' ? '' : `?${text}`
}

/** An answer from the API whose body has not been read yet. */
export interface ApiAnswer {
  status: number
  header(name: string): string | undefined
  /** the body as a stream (for passing a CSV through) */
  body: IncomingMessage
  /** stops waiting: clears the deadline and the abort listener */
  done(): void
}

const MAX_JSON_BYTES = 10 * 1024 * 1024

async function readAll(body: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of body) {
    const buffer = chunk as Buffer
    size += buffer.length
    if (size > MAX_JSON_BYTES) throw new Error('API answer too large')
    chunks.push(buffer)
  }
  return Buffer.concat(chunks)
}

async function errorOf(answer: ApiAnswer): Promise<ApiResponseError> {
  let message = `The API answered ${answer.status}`
  let examples: string[] | undefined
  try {
    const body = JSON.parse((await readAll(answer.body)).toString('utf8')) as { message?: unknown; examples?: unknown }
    if (typeof body.message === 'string' && body.message !== '') message = body.message
    if (Array.isArray(body.examples)) examples = body.examples.filter((e): e is string => typeof e === 'string').slice(0, 20)
  } catch {
    // not JSON: keep the generic message
  }
  return new ApiResponseError(answer.status, message, answer.header('retry-after'), examples)
}

/** The request body: nothing, a JSON text, or a stream sent as it is produced (chunked). */
type OutgoingBody = string | AsyncIterable<Uint8Array> | undefined

/**
 * Transport: node:http with a keep-alive agent rather than fetch, which costs several times the CPU
 * per call, and page views are one or two API calls each.
 */
export class ApiClient {
  private readonly base: URL
  private readonly agent: http.Agent

  constructor(private readonly options: ApiClientOptions) {
    this.base = new URL(options.baseUrl)
    const agentOptions = { keepAlive: true, maxSockets: 256, maxFreeSockets: 64, scheduling: 'lifo' as const }
    this.agent = this.base.protocol === 'https:' ? new https.Agent(agentOptions) : new http.Agent(agentOptions)
  }

  /** Closes idle keep-alive connections (at shutdown). */
  close(): void {
    this.agent.destroy()
  }

  private headers(ctx: CallContext, extra: Record<string, string> = {}): Record<string, string> {
    const headers: Record<string, string> = {
      accept: 'application/json',
      [API_VERSION_HEADER]: API_VERSION,
      [PORTAL_CLIENT_HEADERS.clientId]: this.options.clientId,
      [PORTAL_CLIENT_HEADERS.clientSecret]: this.options.clientSecret,
      ...extra,
    }
    if (ctx.token) headers.authorization = `Bearer ${ctx.token}`
    if (ctx.endUserIp) headers[PORTAL_CLIENT_HEADERS.endUserIp] = ctx.endUserIp
    if (ctx.requestId) headers['x-request-id'] = ctx.requestId
    return headers
  }

  /**
   * One HTTP exchange. For a streamed answer (`untilHeaders`) the deadline covers the wait for the
   * response headers only, so a long CSV is not cut off; otherwise it runs until `done()`, which
   * the caller calls once the body is read. The caller's signal (the browser going away) aborts
   * at any point. A GET that fails because the API closed an idle kept-alive connection just as
   * it was reused is retried once on a fresh one.
   */
  send(
    method: string,
    path: string,
    headers: Record<string, string>,
    body: OutgoingBody,
    ctx: CallContext,
    { untilHeaders = false, deadlineMs = this.options.timeoutMs }: { untilHeaders?: boolean; deadlineMs?: number } = {},
    retried = false,
  ): Promise<ApiAnswer> {
    return new Promise<ApiAnswer>((resolve, reject) => {
      const client = this.base.protocol === 'https:' ? https : http
      const request = client.request({
        protocol: this.base.protocol,
        hostname: this.base.hostname,
        port: this.base.port,
        path: `${this.base.pathname.replace(/\/$/, '')}${path}`,
        method,
        headers: typeof body === 'string' ? { ...headers, 'content-length': String(Buffer.byteLength(body)) } : headers,
        agent: this.agent,
      })
      let settled = false
      const timer = setTimeout(() => request.destroy(new Error('API timeout')), deadlineMs)
      const onAbort = () => request.destroy(new Error('client went away'))
      const done = () => {
        clearTimeout(timer)
        ctx.signal?.removeEventListener('abort', onAbort)
      }
      if (ctx.signal?.aborted) onAbort()
      else ctx.signal?.addEventListener('abort', onAbort, { once: true })
      request.once('error', (error) => {
        done()
        if (settled) return
        settled = true
        const stale = request.reusedSocket && (error as NodeJS.ErrnoException).code === 'ECONNRESET'
        if (stale && !retried && method === 'GET' && !ctx.signal?.aborted) {
          resolve(this.send(method, path, headers, body, ctx, { untilHeaders, deadlineMs }, true))
          return
        }
        reject(new ApiUnavailableError(`the API could not be reached (${method} ${path.split('?')[0]})`, { cause: error, aborted: ctx.signal?.aborted === true }))
      })
      request.once('response', (response) => {
        settled = true
        if (untilHeaders) clearTimeout(timer)
        response.once('error', () => done())
        resolve({
          status: response.statusCode ?? 502,
          header: (name) => {
            const value = response.headers[name.toLowerCase()]
            return Array.isArray(value) ? value.join(', ') : value
          },
          body: response,
          done,
        })
      })
      if (body === undefined || typeof body === 'string') {
        request.end(body)
      } else {
        const source = Readable.from(body)
        source.once('error', (error) => request.destroy(error))
        source.pipe(request)
      }
    })
  }

  /** A JSON call; error statuses throw ApiResponseError. 204 gives undefined. */
  async call<T>(method: string, path: string, ctx: CallContext, options: { query?: Query; json?: unknown } = {}): Promise<T> {
    const extra: Record<string, string> = {}
    let body: string | undefined
    if (options.json !== undefined) {
      extra['content-type'] = 'application/json'
      body = JSON.stringify(options.json)
    }
    const answer = await this.send(method, `${path}${toQueryString(options.query)}`, this.headers(ctx, extra), body, ctx)
    try {
      if (answer.status >= 400) throw await errorOf(answer)
      let text: string
      try {
        text = (await readAll(answer.body)).toString('utf8')
      } catch (error) {
        throw new ApiUnavailableError(`the API answer was cut off (${method} ${path.split('?')[0]})`, { cause: error, aborted: ctx.signal?.aborted === true })
      }
      if (answer.status === 204 || text === '') return undefined as T
      try {
        return JSON.parse(text) as T
      } catch (error) {
        throw new ApiUnavailableError(`the API sent an unreadable answer (${method} ${path.split('?')[0]})`, { cause: error })
      }
    } finally {
      answer.done()
    }
  }

  // -------------------------------------------------------------------------------------------
  // Identity (contract §5)

  exchangeCode(input: { code: string; codeVerifier: string; redirectUri: string }, ctx: CallContext): Promise<TokenPair> {
    return this.call<TokenPair>('POST', '/auth/token', ctx, {
      json: {
        grant_type: 'authorization_code',
        code: input.code,
        code_verifier: input.codeVerifier,
        redirect_uri: input.redirectUri,
        client_id: this.options.clientId,
        client_secret: this.options.clientSecret,
      },
    })
  }

  refresh(refreshToken: string, ctx: CallContext): Promise<TokenPair> {
    return this.call<TokenPair>('POST', '/auth/refresh', ctx, { json: { refresh_token: refreshToken } })
  }

  async logout(refreshToken: string, ctx: CallContext): Promise<void> {
    await this.call<unknown>('POST', '/auth/logout', ctx, { json: { refresh_token: refreshToken } })
  }

  async logoutAll(ctx: CallContext): Promise<void> {
    await this.call<unknown>('POST', '/auth/logout-all', ctx, { json: {} })
  }

  async me(ctx: CallContext): Promise<UserJson> {
    const body = await this.call<{ data?: UserJson; user?: UserJson }>('GET', '/auth/me', ctx)
    const user = body.data ?? body.user
    if (!user) throw new ApiUnavailableError('the API sent no user for /auth/me')
    return user
  }

  async listSessions(ctx: CallContext): Promise<ApiSession[]> {
    const body = await this.call<{ data?: ApiSession[] }>('GET', '/api/sessions', ctx)
    return Array.isArray(body.data) ? body.data : []
  }

  async revokeSession(id: string, ctx: CallContext): Promise<void> {
    await this.call<unknown>('DELETE', `/api/sessions/${encodeURIComponent(id)}`, ctx)
  }

  /** `search` matches a username or email (the API's `q`). */
  listUsers(query: { search?: string; page?: number; limit?: number }, ctx: CallContext): Promise<UserListEnvelope> {
    return this.call<UserListEnvelope>('GET', '/api/users', ctx, { query: { q: query.search, page: query.page, limit: query.limit } })
  }

  async updateUser(id: string, patch: { role: 'admin' | 'analyst' } | { is_active: boolean }, ctx: CallContext): Promise<UserJson | undefined> {
    const body = await this.call<{ data?: UserJson } | undefined>('PATCH', `/api/users/${encodeURIComponent(id)}`, ctx, { json: patch })
    return body?.data
  }

  // -------------------------------------------------------------------------------------------
  // Profiles (contract §3)

  listProfiles(query: Query, ctx: CallContext): Promise<ListEnvelope> {
    return this.call<ListEnvelope>('GET', '/api/profiles', ctx, { query })
  }

  searchProfiles(query: Query, ctx: CallContext): Promise<ListEnvelope> {
    return this.call<ListEnvelope>('GET', '/api/profiles/search', ctx, { query })
  }

  async profileStats(query: Query, ctx: CallContext): Promise<ProfileStats> {
    return (await this.call<StatsBody>('GET', '/api/profiles/stats', ctx, { query })).data
  }

  async getProfile(id: string, ctx: CallContext): Promise<Profile> {
    return (await this.call<{ data: Profile }>('GET', `/api/profiles/${encodeURIComponent(id)}`, ctx)).data
  }

  /** `created` is false when a profile with that name already existed (200 "Profile already exists"). */
  async createProfile(name: string, ctx: CallContext): Promise<{ created: boolean; profile: Profile }> {
    const body = await this.call<{ data: Profile; message?: string }>('POST', '/api/profiles', ctx, { json: { name } })
    return { created: body.message === undefined, profile: body.data }
  }

  async deleteProfile(id: string, ctx: CallContext): Promise<void> {
    await this.call<undefined>('DELETE', `/api/profiles/${encodeURIComponent(id)}`, ctx)
  }

  /**
   * The CSV export as an unread answer, for streaming through to the browser; call `done()` when
   * the body has been consumed or abandoned.
   */
  async exportProfiles(query: Query, ctx: CallContext): Promise<ApiAnswer> {
    return this.csvAnswer(`/api/profiles/export${toQueryString({ ...query, format: 'csv' })}`, ctx)
  }

  /** A CSV answer with its body unread (the API's error envelope thrown instead when it fails). */
  private async csvAnswer(pathAndQuery: string, ctx: CallContext): Promise<ApiAnswer> {
    const answer = await this.send(
      'GET',
      pathAndQuery,
      this.headers(ctx, { accept: 'text/csv' }),
      undefined,
      ctx,
      { untilHeaders: true },
    )
    if (answer.status >= 400) {
      try {
        throw await errorOf(answer)
      } finally {
        answer.done()
      }
    }
    return answer
  }

  /** Streams a multipart/form-data body (a `file` field) to the importer and returns its report. */
  async importProfiles(body: AsyncIterable<Uint8Array>, contentType: string, ctx: CallContext): Promise<ImportReport> {
    const answer = await this.send(
      'POST',
      '/api/profiles/import',
      this.headers(ctx, { 'content-type': contentType }),
      body,
      ctx,
      // the importer answers once every row is in: allow for a large file on a slow link
      { deadlineMs: IMPORT_DEADLINE_MS },
    )
    try {
      if (answer.status >= 400) throw await errorOf(answer)
      const report = JSON.parse((await readAll(answer.body)).toString('utf8')) as Partial<ImportReport>
      // read tolerantly: a count the API did not send is 0
      const out = emptyReport()
      out.total_rows = Number(report.total_rows ?? 0)
      out.inserted = Number(report.inserted ?? 0)
      out.skipped = Number(report.skipped ?? 0)
      for (const key of REASON_KEYS) out.reasons[key] = Number(report.reasons?.[key] ?? 0)
      out.rejected = Array.isArray(report.rejected) ? report.rejected : []
      out.links = { rejects: typeof report.links?.rejects === 'string' ? report.links.rejects : null }
      return out
    } finally {
      answer.done()
    }
  }

  /** The first rows an import skipped, and how many it skipped, while the API keeps them. */
  async importRejects(importId: string, ctx: CallContext): Promise<{ data: RejectedRow[]; total: number }> {
    return this.call<{ data: RejectedRow[]; total: number }>('GET', `/api/profiles/imports/${encodeURIComponent(importId)}/rejects`, ctx, {
      query: { format: 'json' },
    })
  }

  /** Every row an import skipped, as the API's CSV with formula cells neutralised, unread. */
  async importRejectsCsv(importId: string, ctx: CallContext): Promise<ApiAnswer> {
    return this.csvAnswer(`/api/profiles/imports/${encodeURIComponent(importId)}/rejects${toQueryString({ safe: 'true' })}`, ctx)
  }

  // -------------------------------------------------------------------------------------------
  // Headless access (issue 14): device login, personal access tokens, sign-out everywhere with tokens

  async deviceLookup(userCode: string, ctx: CallContext): Promise<DeviceRequestJson> {
    return (await this.call<{ data: DeviceRequestJson }>('GET', '/auth/device/lookup', ctx, { query: { user_code: userCode } })).data
  }

  async decideDevice(userCode: string, decision: 'approve' | 'deny', ctx: CallContext): Promise<void> {
    await this.call<unknown>('POST', `/auth/device/${decision}`, ctx, { json: { user_code: userCode } })
  }

  async getUser(id: string, ctx: CallContext): Promise<UserJson> {
    return (await this.call<{ data: UserJson }>('GET', `/api/users/${encodeURIComponent(id)}`, ctx)).data
  }

  async listTokens(ctx: CallContext, userId?: string): Promise<TokenJson[]> {
    const path = userId === undefined ? '/api/users/me/tokens' : `/api/users/${encodeURIComponent(userId)}/tokens`
    return (await this.call<{ data: TokenJson[] }>('GET', path, ctx)).data
  }

  createToken(input: { name: string; expires_in_days: number; scopes: TokenScope[] }, ctx: CallContext): Promise<{ token: string; data: TokenJson }> {
    return this.call<{ token: string; data: TokenJson }>('POST', '/api/users/me/tokens', ctx, { json: input })
  }

  async revokeToken(tokenId: string, ctx: CallContext, userId?: string): Promise<void> {
    const owner = userId === undefined ? 'me' : encodeURIComponent(userId)
    await this.call<undefined>('DELETE', `/api/users/${owner}/tokens/${encodeURIComponent(tokenId)}`, ctx)
  }

  logoutEverywhere(revokeTokens: boolean, ctx: CallContext): Promise<{ revoked?: number; tokens_revoked?: number; tokens_remaining?: number }> {
    return this.call('POST', '/auth/logout-all', ctx, { json: revokeTokens ? { revoke_tokens: true } : {} })
  }

  // -------------------------------------------------------------------------------------------
  // Analyst features (issue 15): explained search, facets, saved searches

  /** The search envelope with `interpreted` (contract §6). */
  searchExplained(query: Query, ctx: CallContext): Promise<SearchEnvelope> {
    return this.call<SearchEnvelope>('GET', '/api/profiles/search', ctx, { query })
  }

  async listSavedSearches(ctx: CallContext): Promise<SavedSearchJson[]> {
    return (await this.call<{ data: SavedSearchJson[] }>('GET', '/api/saved-searches', ctx)).data
  }

  async createSavedSearch(input: { name: string; query: string }, ctx: CallContext): Promise<SavedSearchJson> {
    return (await this.call<{ data: SavedSearchJson }>('POST', '/api/saved-searches', ctx, { json: input })).data
  }

  async deleteSavedSearch(id: string, ctx: CallContext): Promise<void> {
    await this.call<undefined>('DELETE', `/api/saved-searches/${encodeURIComponent(id)}`, ctx)
  }
}
