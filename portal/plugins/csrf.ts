import type { FastifyInstance, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { csrfRejected } from '../errors.ts'
import { safeEqual } from '../../platform/crypto.ts'

const SAFE_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS'])

export const CSRF_FIELD = '_csrf'
export const CSRF_HEADER = 'x-csrf-token'

/**
 * The browser's own word on where a request comes from. `same` when Origin is ours or
 * Sec-Fetch-Site says same-origin; `cross` when either names another site; `unknown` when the
 * client sent neither (not a modern browser: no ambient-cookie attack to defend against there,
 * and the session-bound token still has to match).
 */
export function requestSite(request: FastifyRequest, publicOrigin: string): 'same' | 'cross' | 'unknown' {
  const origin = request.headers.origin
  const fetchSite = request.headers['sec-fetch-site']
  if (origin !== undefined) return origin === publicOrigin ? 'same' : 'cross'
  if (fetchSite !== undefined) return fetchSite === 'same-origin' ? 'same' : 'cross'
  return 'unknown'
}

/** Whether `given` is this session's CSRF token. */
export function csrfTokenMatches(request: FastifyRequest, given: unknown): boolean {
  const session = request.portalSession
  return session !== null && typeof given === 'string' && given !== '' && safeEqual(given, session.csrfToken)
}

/**
 * One global hook for every unsafe request: the Origin / Sec-Fetch-Site check first (before any
 * body is read), then the session-bound token from the form field or the X-CSRF-Token header. A
 * multipart upload declares `portalCsrf: 'in-handler'`: its handler checks the token, which the
 * form sends as the first field, before it reads the file. Requests without a session (only the
 * public sign-in routes get this far) must carry a positive same-origin signal.
 */
export default fp(
    async function csrf(app: FastifyInstance) {
    const publicOrigin = new URL(app.portal.config.publicUrl).origin

    app.addHook('onRequest', async (request) => {
      if (SAFE_METHODS.has(request.method)) return
      const site = requestSite(request, publicOrigin)
      if (site === 'cross') throw csrfRejected()
      if (site === 'unknown' && !request.portalSession) throw csrfRejected()
    })

    app.addHook('preHandler', async (request) => {
      if (SAFE_METHODS.has(request.method) || !request.portalSession) return
      const header = request.headers[CSRF_HEADER]
      if (header !== undefined) {
        if (!csrfTokenMatches(request, header)) throw csrfRejected()
        return
      }
      if (request.routeOptions.config.portalCsrf === 'in-handler' && request.isMultipart()) return
      const body = request.body as Record<string, unknown> | undefined
      if (!csrfTokenMatches(request, body?.[CSRF_FIELD])) throw csrfRejected()
    })
  },
  { name: 'portal-csrf', dependencies: ['portal-session'], decorators: { fastify: ['portal'] } },
)
