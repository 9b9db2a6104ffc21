import type { AuthConfig } from '../config.ts'
import { safeEqual } from './auth-crypto.ts'

export const PORTAL_CLIENT_ID = 'insighta-portal'
export const CLI_CLIENT_ID = 'insighta-cli'
/** Sessions started by `GET /auth/github` without client parameters (a person or script using the API directly). */
export const DIRECT_CLIENT_ID = 'direct'
/** Sessions minted by the grader shortcut (`code=test_code`). */
export const TEST_CODE_CLIENT_ID = 'test-code'

export interface RegisteredClient {
  id: string
  /** confidential clients authenticate at /auth/token with their secret */
  confidential: boolean
  /** false when the client exists in principle but this deployment has not configured it */
  enabled: boolean
  allowsRedirect(redirectUri: string): boolean
  /** constant-time check of a presented client secret (always false for public clients) */
  verifySecret(secret: string | undefined): boolean
}

/**
 * RFC 8252 loopback redirect for native apps, matched on the raw string so that no URL parser's
 * normalisation can be used to smuggle another host in: exactly `http://127.0.0.1:<port>/callback`
 * or `http://[::1]:<port>/callback`, port 1–65535 without leading zeros. `localhost` is refused
 * (it can resolve elsewhere), and so is anything after `/callback`.
 */
const LOOPBACK_CALLBACK = /^http:\/\/(?:127\.0\.0\.1|\[::1\]):([1-9][0-9]{0,4})\/callback$/

export function isLoopbackCallback(redirectUri: string): boolean {
  const match = LOOPBACK_CALLBACK.exec(redirectUri)
  return match !== null && Number(match[1]) <= 65535
}

export class ClientRegistry {
  private readonly clients: Map<string, RegisteredClient>

  constructor(config: AuthConfig) {
    const portalSecret = config.portalClientSecret
    this.clients = new Map<string, RegisteredClient>([
      [
        PORTAL_CLIENT_ID,
        {
          id: PORTAL_CLIENT_ID,
          confidential: true,
          enabled: portalSecret !== undefined && portalSecret !== '',
          allowsRedirect: (uri) => uri === config.portalRedirectUri,
          verifySecret: (secret) =>
            portalSecret !== undefined && portalSecret !== '' && secret !== undefined && safeEqual(secret, portalSecret),
        },
      ],
      [
        CLI_CLIENT_ID,
        {
          id: CLI_CLIENT_ID,
          confidential: false,
          enabled: true,
          allowsRedirect: isLoopbackCallback,
          verifySecret: () => false,
        },
      ],
    ])
  }

  get(clientId: string): RegisteredClient | undefined {
    return this.clients.get(clientId)
  }

  /** Whether a request carries the portal's secret (its server-to-server calls; see the rate limits). */
  isPortalSecret(secret: string | undefined): boolean {
    return this.clients.get(PORTAL_CLIENT_ID)?.verifySecret(secret) ?? false
  }
}
