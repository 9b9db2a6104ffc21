import { ApiError } from '../errors.ts'

export interface GitHubClientConfig {
  clientId: string | undefined
  clientSecret: string | undefined
  oauthUrl: string
  apiUrl: string
  timeoutMs: number
}

export interface GitHubIdentity {
  id: number
  login: string
  email: string | null
  avatarUrl: string | null
}

/** GitHub said no (bad or expired code, wrong verifier, revoked grant): the login fails, 401. */
export class GitHubRejected extends Error {
  constructor(readonly reason: string) {
    super(`GitHub rejected the login: ${reason}`)
    this.name = 'GitHubRejected'
  }
}

export const GITHUB_SCOPE = 'read:user user:email'
const USER_AGENT = 'insighta-labs-plus'

function unavailable(): ApiError {
  return new ApiError(502, 'GitHub returned an invalid response')
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/**
 * The API's side of GitHub's OAuth App web flow and the two REST reads it needs. Base URLs come from
 * configuration, so development and tests point them at the stand-in. GitHub's token endpoint answers
 * errors with HTTP 200 and an `error` field, so the body decides, not the status.
 */
export class GitHubClient {
  constructor(private readonly config: GitHubClientConfig) {}

  get configured(): boolean {
    return Boolean(this.config.clientId && this.config.clientSecret)
  }

  authorizeUrl(params: { state: string; codeChallenge: string; redirectUri: string }): string {
    const query = new URLSearchParams({
      client_id: this.config.clientId ?? '',
      redirect_uri: params.redirectUri,
      scope: GITHUB_SCOPE,
      state: params.state,
      code_challenge: params.codeChallenge,
      code_challenge_method: 'S256',
      allow_signup: 'true',
    })
    return `${this.config.oauthUrl}/login/oauth/authorize?${query.toString()}`
  }

  private async request(url: string, init: RequestInit): Promise<Response> {
    try {
      return await fetch(url, {
        ...init,
        redirect: 'error',
        signal: AbortSignal.timeout(this.config.timeoutMs),
        headers: { 'user-agent': USER_AGENT, ...init.headers },
      })
    } catch {
      throw unavailable()
    }
  }

  private async json(response: Response): Promise<unknown> {
    try {
      return await response.json()
    } catch {
      throw unavailable()
    }
  }

  /** Exchanges GitHub's code (with our PKCE verifier) for a GitHub access token. */
  async exchangeCode(params: { code: string; codeVerifier: string; redirectUri: string }): Promise<string> {
    const response = await this.request(`${this.config.oauthUrl}/login/oauth/access_token`, {
      method: 'POST',
      headers: { accept: 'application/json', 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        client_id: this.config.clientId ?? '',
        client_secret: this.config.clientSecret ?? '',
        code: params.code,
        redirect_uri: params.redirectUri,
        code_verifier: params.codeVerifier,
      }).toString(),
    })
    if (response.status !== 200 || !(response.headers.get('content-type') ?? '').includes('json')) {
      await response.body?.cancel()
      throw unavailable()
    }
    const body = await this.json(response)
    if (!isRecord(body)) throw unavailable()
    if (typeof body.error === 'string') throw new GitHubRejected(body.error)
    if (typeof body.access_token !== 'string' || body.access_token === '') throw unavailable()
    return body.access_token
  }

  private async get(path: string, token: string): Promise<Response> {
    return this.request(`${this.config.apiUrl}${path}`, {
      headers: {
        accept: 'application/vnd.github+json',
        authorization: `Bearer ${token}`,
        'x-github-api-version': '2022-11-28',
      },
    })
  }

  /** The user behind a GitHub token, with the primary verified address when the scope allows it. */
  async fetchIdentity(token: string): Promise<GitHubIdentity> {
    const userResponse = await this.get('/user', token)
    if (userResponse.status === 401) {
      await userResponse.body?.cancel()
      throw new GitHubRejected('bad_credentials')
    }
    if (userResponse.status !== 200) {
      await userResponse.body?.cancel()
      throw unavailable()
    }
    const user = await this.json(userResponse)
    if (!isRecord(user) || typeof user.id !== 'number' || !Number.isSafeInteger(user.id) || typeof user.login !== 'string')
      throw unavailable()
    let email = typeof user.email === 'string' && user.email !== '' ? user.email : null
    const emailsResponse = await this.get('/user/emails', token)
    if (emailsResponse.status === 200) {
      const emails = await this.json(emailsResponse)
      if (Array.isArray(emails)) {
        const primary = emails.find((e) => isRecord(e) && e.primary === true && e.verified === true && typeof e.email === 'string')
        if (isRecord(primary) && typeof primary.email === 'string') email = primary.email
      }
    } else {
      // Without the user:email scope GitHub hides the list behind a 404; the public address will do.
      await emailsResponse.body?.cancel()
    }
    return {
      id: user.id,
      login: user.login,
      email,
      avatarUrl: typeof user.avatar_url === 'string' ? user.avatar_url : null,
    }
  }
}
