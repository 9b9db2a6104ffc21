import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { API_VERSION, API_VERSION_HEADER } from '../../contract/headers.ts'
import { ApiError } from '../errors.ts'

/** Paths whose every request must carry `X-API-Version: 1` (contract §2); others may omit it. */
function requiresVersion(url: string): boolean {
  const path = url.split('?')[0]
  return path === '/api/profiles' || path.startsWith('/api/profiles/')
}

/**
 * Echoes the version on every response and enforces it on /api/profiles*. Registered before
 * authentication, so a request without the header is refused before its token is even read.
 */
export default fp(async function versionHeader(app: FastifyInstance) {
  app.addHook('onRequest', async (request, reply) => {
    reply.header(API_VERSION_HEADER, API_VERSION)
    // Unknown paths and wrong methods get their 404/405 first; preflights carry no custom headers.
    if (request.is404 || request.method === 'OPTIONS' || !requiresVersion(request.url)) return
    const given = request.headers[API_VERSION_HEADER]
    if (given === undefined || given === '') throw new ApiError(400, 'API version header required')
    if (given !== API_VERSION) throw new ApiError(400, 'Unsupported API version')
  })
})
