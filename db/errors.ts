/** How a database failure reads to the apps: busy (every pooled connection taken) or unavailable. */
const CONNECTION_ERROR_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH'])

/** pg-pool's message when no pooled connection became free within its connectionTimeoutMillis */
export const POOL_WAIT_TIMEOUT = 'timeout exceeded when trying to connect'

/**
 * Whether an error means "the database is up but every pooled connection stayed busy" (→ 503 busy
 * with Retry-After): pg-pool gave up waiting for a free client. A TCP connect that timed out is
 * "Connection terminated due to connection timeout" instead, and counts as unavailable.
 */
export function isPoolBusy(error: unknown): boolean {
  return error instanceof Error && error.message === POOL_WAIT_TIMEOUT
}

/**
 * Whether an error means "the database cannot be reached or is going away" (→ 503), as opposed to a
 * bug or a constraint violation: connection failures, connects that timed out, server shutdown,
 * connection-exception SQLSTATEs (class 08), and statements cancelled by statement_timeout.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false
  const code = (error as { code?: unknown }).code
  if (typeof code === 'string') {
    if (CONNECTION_ERROR_CODES.has(code)) return true
    if (code.startsWith('08') || code === '57P01' || code === '57P02' || code === '57P03' || code === '57014')
      return true
    if (code === '53300') return true // too_many_connections
  }
  const message = error.message
  return (
    message.includes('Connection terminated') ||
    message.includes('Client has encountered a connection error') ||
    message.includes('connect ECONNREFUSED')
  )
}
