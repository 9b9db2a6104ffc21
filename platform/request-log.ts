import { randomUUID } from 'node:crypto'
import { LogController, type FastifyInstance, type FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'

/** Query parameters whose values are secrets or single-use credentials. */
const SECRET_PARAMS = /^(code|state|token|access_token|refresh_token|refreshToken|code_verifier|client_secret|test_code|device_code|user_code)$/i

/** The URL with every secret-bearing query value replaced, safe to log. */
export function redactUrl(url: string): string {
  const q = url.indexOf('?')
  if (q === -1) return url
  const params = new URLSearchParams(url.slice(q + 1))
  let changed = false
  for (const key of new Set(params.keys())) {
    if (SECRET_PARAMS.test(key)) {
      params.set(key, '[REDACTED]')
      changed = true
    }
  }
  return changed ? `${url.slice(0, q)}?${params.toString()}` : url
}

const REQUEST_ID = /^[A-Za-z0-9._-]{8,64}$/

/** Honour a caller's X-Request-Id when it looks like one, so traces join across services. */
export function genRequestId(req: { headers: Record<string, string | string[] | undefined> }): string {
  const given = req.headers['x-request-id']
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID()
}

/**
 * Fastify's own per-request lines are off (this plugin writes one line instead); request ids are
 * logged as reqId.
 */
export function quietLogController(): LogController {
  return new LogController({ disableRequestLogging: true, requestIdLogLabel: 'reqId' })
}

/** Pino options shared by both apps: credentials never reach a log line. */
export function loggerOptions(level: string) {
  return {
    level,
    redact: {
      paths: ['req.headers.authorization', 'req.headers.cookie', 'req.headers["x-portal-client-secret"]', 'res.headers["set-cookie"]', '*.password', '*.token'],
      censor: '[REDACTED]',
    },
  }
}

/** One structured line per request, written when the response is finished. */
export default fp(async function requestLog(app: FastifyInstance) {
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id)
  })
  app.addHook('onResponse', async (request: FastifyRequest, reply) => {
    const status = reply.statusCode
    const line = {
      reqId: request.id,
      method: request.method,
      route: request.routeOptions.url ?? null,
      url: redactUrl(request.url),
      status,
      ms: Math.round(reply.elapsedTime * 100) / 100,
    }
    if (status >= 500) request.log.error(line, 'request')
    else request.log.info(line, 'request')
  })
})
