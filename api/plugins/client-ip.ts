import { isIP } from 'node:net'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import type { RequestContext } from '../services/audit.ts'
import type { ClientRegistry } from '../services/clients.ts'

import { PORTAL_CLIENT_HEADERS } from '../../contract/headers.ts'
import { stripControlCharacters } from '../../contract/text.ts'

export const PORTAL_SECRET_HEADER = PORTAL_CLIENT_HEADERS.clientSecret
export const END_USER_IP_HEADER = PORTAL_CLIENT_HEADERS.endUserIp

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name]
  return typeof value === 'string' ? value : undefined
}

/** The end user's address a verified portal call forwards: its own header, else the first X-Forwarded-For entry. */
function forwardedEndUser(request: FastifyRequest): string | undefined {
  const explicit = header(request, END_USER_IP_HEADER)?.trim()
  const candidate = explicit || header(request, 'x-forwarded-for')?.split(',')[0]?.trim()
  return candidate && isIP(candidate) ? candidate : undefined
}

/** What the audit log and session listings record about a request. */
export function requestContext(request: FastifyRequest): RequestContext {
  const userAgent = header(request, 'user-agent')
  // Recorded, not refused: a control character in a User-Agent must not fail a login's insert.
  return { ip: request.clientIp, userAgent: userAgent === undefined ? null : stripControlCharacters(userAgent), requestId: request.id }
}

/**
 * Decides `request.clientIp`. Fastify's `request.ip` already honours X-Forwarded-For only behind a
 * trusted proxy (TRUST_PROXY). On top of that, the portal — which calls the API from one address for
 * every user — may name its end user's address, and is believed only when its client secret
 * (compared in constant time) comes with it.
 */
export default fp(async function clientIp(app: FastifyInstance, opts: { clients: ClientRegistry }) {
  app.decorateRequest('clientIp', '')
  app.decorateRequest('viaPortal', false)
  app.addHook('onRequest', async (request) => {
    request.clientIp = request.ip
    const secret = header(request, PORTAL_SECRET_HEADER)
    if (secret === undefined || !opts.clients.isPortalSecret(secret)) return
    request.viaPortal = true
    const endUser = forwardedEndUser(request)
    if (endUser) request.clientIp = endUser
  })
})
