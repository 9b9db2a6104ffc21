/** Header names and values the contract fixes (§2), and the portal's server-to-server headers. */
export const API_VERSION_HEADER = 'x-api-version'
export const API_VERSION = '1'

/** Sent by the portal on every server-to-server call; the API verifies the secret (docs/identity.md). */
export const PORTAL_CLIENT_HEADERS = {
  clientId: 'x-insighta-client-id',
  clientSecret: 'x-portal-client-secret',
  endUserIp: 'x-insighta-end-user-ip',
} as const
