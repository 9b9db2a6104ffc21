import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import FindMyWay, { type HTTPMethod } from 'find-my-way'
import { SAFE_TEXT_PATTERN } from '../../contract/text.ts'
import { ApiError, isDatabaseUnavailable, isPoolBusy } from '../errors.ts'

function send(reply: FastifyReply, status: number, message: string, extra: Record<string, unknown> = {}) {
  return reply.code(status).type('application/json; charset=utf-8').send({ status: 'error', message, ...extra })
}

function validationMessage(error: FastifyError, request: FastifyRequest): { status: number; message: string } {
  const context = error.validationContext
  const first = error.validation?.[0]
  if (context === 'querystring') return { status: 422, message: 'Invalid query parameters' }
  // A malformed id is an unknown one (contract §3: "404 also for a malformed id").
  if (context === 'params') return { status: 404, message: request.routeOptions.config.notFound ?? 'Not found' }
  if (context === 'body') {
    if (request.body === undefined) return { status: 400, message: 'Missing request body' }
    if (first?.keyword === 'required') {
      const field = String((first.params as { missingProperty?: unknown }).missingProperty ?? 'field')
      return { status: 400, message: `Missing or empty ${field}` }
    }
    if (first?.keyword === 'pattern' && (first.params as { pattern?: unknown }).pattern === SAFE_TEXT_PATTERN) {
      const field = first.instancePath.replace(/^\//, '') || 'body'
      return { status: 422, message: `Invalid ${field}: control characters are not allowed` }
    }
    return { status: 422, message: 'Invalid type' }
  }
  return { status: 422, message: 'Invalid request' }
}

/** Whether the client's connection is gone: the request stream was destroyed before it completed, or the socket is closed. */
function clientGone(request: FastifyRequest): boolean {
  const raw = request.raw
  return (raw.destroyed && !raw.complete) || raw.socket?.destroyed === true
}

function methodNotAllowed(reply: FastifyReply, allowed: Set<string>) {
  const methods = new Set(allowed)
  if (methods.has('GET')) methods.add('HEAD')
  reply.header('allow', [...methods].sort().join(', '))
  return send(reply, 405, 'Method not allowed')
}

/**
 * For parametric routes that share a prefix with static ones (DELETE /api/profiles/export must be a
 * 405, not "profile export not found"): answer 405 when the path belongs to a static route.
 */
export async function rejectStaticPathOnParametricRoute(request: FastifyRequest, reply: FastifyReply) {
  const query = request.url.indexOf('?')
  const path = query < 0 ? request.url : request.url.slice(0, query)
  // The hot path (GET /api/profiles/<id>): a path no static route has cannot be one, unless encoded.
  if (!path.includes('%') && !request.server.staticRoutePaths.has(path)) return
  const allowed = request.server.allowedMethods(path)
  if (allowed.has('GET')) allowed.add('HEAD')
  if (request.routeOptions.url && !allowed.has(request.method) && allowed.size > 0) {
    await methodNotAllowed(reply, allowed)
    return reply
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    allowedMethods(path: string): Set<string>
    staticRoutePaths: Set<string>
  }
}

/**
 * The one place errors become responses: contract envelopes for known failures, a generic message
 * plus the request id for everything else (the details go to the log, never to the client).
 * Also answers 405 for a known path with the wrong method, and a JSON 404 for unknown paths.
 */
function poolState(app: FastifyInstance) {
  const pool = app.db.pool
  return { total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }
}

export interface ErrorsOptions {
  /** Retry-After (s) of a busy answer */
  busyRetryAfterSeconds?: number
}

export default fp(async function errors(app: FastifyInstance, options: ErrorsOptions) {
  const busyRetryAfter = options.busyRetryAfterSeconds ?? 2
  // A private router of every registered (method, path) tells a wrong method from an unknown path.
  const known = FindMyWay()
  const methodsByPath = new Map<string, Set<string>>()
  const staticRoutePaths = new Set<string>()
  app.decorate('staticRoutePaths', staticRoutePaths)
  app.addHook('onRoute', (route) => {
    if (!/[:*]/.test(route.url)) staticRoutePaths.add(route.url)
    const methods = Array.isArray(route.method) ? route.method : [route.method]
    for (const method of methods) {
      if (method === 'HEAD' || method === 'OPTIONS') continue
      const set = methodsByPath.get(route.url) ?? new Set<string>()
      if (set.size === 0) methodsByPath.set(route.url, set)
      if (!set.has(method)) {
        set.add(method)
        known.on(method as HTTPMethod, route.url, () => {}, { path: route.url })
      }
    }
  })

  /**
   * The methods a path answers to. A static route wins over a parametric one (/api/profiles/search
   * is not an /api/profiles/:id), as it does in the real router.
   */
  function allowedMethods(path: string): Set<string> {
    const matches: { method: string; pattern: string }[] = []
    for (const methods of methodsByPath.values()) {
      for (const method of methods) {
        const pattern = (known.find(method as HTTPMethod, path)?.store as { path?: string } | undefined)?.path
        if (pattern) matches.push({ method, pattern })
      }
    }
    const staticMatch = matches.find((m) => !/[:*]/.test(m.pattern))
    const chosen = staticMatch ? matches.filter((m) => m.pattern === staticMatch.pattern) : matches
    return new Set(chosen.map((m) => m.method))
  }
  app.decorate('allowedMethods', allowedMethods)

  app.setNotFoundHandler((request: FastifyRequest, reply: FastifyReply) => {
    const allowed = allowedMethods(request.url.split('?')[0])
    if (allowed.size > 0 && !allowed.has(request.method)) return methodNotAllowed(reply, allowed)
    return send(reply, 404, 'Not found')
  })

  app.setErrorHandler((error: FastifyError | ApiError | Error, request, reply) => {
    if (error instanceof ApiError) {
      reply.headers(error.headers)
      return send(reply, error.statusCode, error.message, error.details)
    }
    const fe = error as FastifyError
    if (fe.validation) {
      const { status, message } = validationMessage(fe, request)
      return send(reply, status, message)
    }
    if (isPoolBusy(error)) {
      // The database answers, but no pooled connection came free in time: busy, not down.
      request.log.warn({ pool: poolState(app) }, 'database busy: no pooled connection became free in time')
      reply.header('retry-after', String(busyRetryAfter))
      return send(reply, 503, 'Busy: every database connection is in use; retry shortly', { request_id: request.id })
    }
    if (clientGone(request)) {
      // The client hung up (an upload cut short, a download abandoned): its "ECONNRESET aborted" is
      // neither a database outage nor a bug, and nobody is left to answer. The access line records
      // the request's end (499, aborted).
      request.log.info({ err: { message: error.message, code: fe.code } }, 'client went away before the answer')
      return send(reply, 499, 'Client closed the request')
    }
    if (isDatabaseUnavailable(error)) {
      request.log.error({ err: { message: error.message, code: fe.code } }, 'database unavailable')
      reply.header('retry-after', '5')
      return send(reply, 503, 'database unavailable', {
        request_id: request.id,
      })
    }
    switch (fe.code) {
      case 'FST_ERR_CTP_BODY_TOO_LARGE':
        return send(reply, 413, 'Request body too large')
      case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
        return send(reply, 415, 'Unsupported content type: send application/json')
      case 'FST_ERR_CTP_EMPTY_JSON_BODY':
        return send(reply, 400, 'Missing request body')
      case 'FST_ERR_CTP_INVALID_JSON_BODY':
        return send(reply, 400, 'Request body is not valid JSON')
      case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
        return send(reply, 400, 'Invalid Content-Length')
    }
    const status = fe.statusCode ?? 500
    if (status >= 400 && status < 500) {
      // Framework-level client errors (malformed URL, bad JSON, …): their messages are safe.
      if (error instanceof SyntaxError) return send(reply, 400, 'Request body is not valid JSON')
      return send(reply, status, error.message || 'Bad request')
    }
    request.log.error({ err: error }, 'unhandled error')
    return send(reply, 500, 'Internal server error', { request_id: request.id })
  })
})


