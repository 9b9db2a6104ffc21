import { authError, SESSION_EXPIRED } from './errors.ts'
import { apiError, readJsonObject, send, type HttpRequest } from './http.ts'
import type { TokenSource } from './session.ts'

/** RFC 6750: the API marks a token it no longer accepts (expired, revoked) with error="invalid_token". */
function isInvalidTokenChallenge(response: Response): boolean {
  return /\berror\s*=\s*"?invalid_token"?/i.test(response.headers.get('www-authenticate') ?? '')
}

/**
 * Authenticated calls to the API. Every request carries the bearer token and `X-API-Version: 1`;
 * a token the API rejects as invalid is refreshed once and the request retried once (a second
 * rejection means the session is really over). Non-2xx answers become CliErrors.
 */
export class ApiClient {
  constructor(private readonly tokens: TokenSource) {}

  get apiUrl(): string {
    return this.tokens.apiUrl
  }

  /** The successful response, body unread (for streams). */
  async request(request: HttpRequest): Promise<Response> {
    const token = await this.tokens.accessToken()
    let response = await this.sendWith(token, request)
    if (response.status === 401 && isInvalidTokenChallenge(response)) {
      const replacement = await this.tokens.recover(token)
      if (replacement !== null) {
        await response.body?.cancel()
        response = await this.sendWith(replacement, request)
      }
    }
    if (response.ok) return response
    if (response.status === 401) throw await this.rejected(response)
    throw await apiError(this.apiUrl, response)
  }

  async json(request: HttpRequest): Promise<Record<string, unknown>> {
    const response = await this.request(request)
    return readJsonObject(this.apiUrl, response)
  }

  private sendWith(token: string, request: HttpRequest): Promise<Response> {
    return send(this.apiUrl, { ...request, headers: { ...request.headers, authorization: `Bearer ${token}` } })
  }

  private async rejected(response: Response) {
    if (this.tokens.kind === 'file') {
      await response.body?.cancel()
      return authError(SESSION_EXPIRED)
    }
    const error = await apiError(this.apiUrl, response)
    if (this.tokens.kind === 'pat') return authError(`The API rejected the stored personal access token: ${error.message} Run insighta login.`)
    return authError(`The API rejected the token in INSIGHTA_TOKEN: ${error.message}`)
  }
}
