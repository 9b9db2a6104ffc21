import { randomBytes } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'

/**
 * A strict Content-Security-Policy with a fresh nonce per response (the only scripts that run are
 * the ones the templates tag with it), plus the usual hardening headers. HSTS only over https.
 */
export default fp(
    async function securityHeaders(app: FastifyInstance) {
    const { config } = app.portal
    app.decorateRequest('cspNonce', '')

    app.addHook('onRequest', async (request) => {
      request.cspNonce = randomBytes(16).toString('base64')
    })

    app.addHook('onSend', async (request, reply) => {
      const directives = [
        "default-src 'none'",
        `script-src 'nonce-${request.cspNonce}'`,
        "style-src 'self'",
        "img-src 'self' data: https:",
        "font-src 'self'",
        "connect-src 'self'",
        "manifest-src 'self'",
        // forms post here only (sign-in leaves through an interstitial page, not a form redirect)
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "object-src 'none'",
      ]
      if (config.secure) directives.push('upgrade-insecure-requests')
      reply.header('content-security-policy', directives.join('; '))
      reply.header('x-content-type-options', 'nosniff')
      reply.header('referrer-policy', 'same-origin')
      reply.header('x-frame-options', 'DENY')
      reply.header('cross-origin-opener-policy', 'same-origin')
      reply.header('cross-origin-resource-policy', 'same-origin')
      reply.header('permissions-policy', 'camera=(), microphone=(), geolocation=(), payment=(), usb=()')
      if (config.secure) reply.header('strict-transport-security', 'max-age=31536000; includeSubDomains')
    })
  },
  { name: 'portal-security-headers', dependencies: [], decorators: { fastify: ['portal'] } },
)
