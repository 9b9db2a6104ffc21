/**
 * Reads claims from one of our own access tokens WITHOUT verifying it. Only for display (which of
 * the listed sessions is this browser); the API is what verifies tokens.
 */
export function unverifiedClaims(token: string): Record<string, unknown> {
  const parts = token.split('.')
  if (parts.length !== 3) return {}
  try {
    const payload = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')) as unknown
    return typeof payload === 'object' && payload !== null ? (payload as Record<string, unknown>) : {}
  } catch {
    return {}
  }
}
