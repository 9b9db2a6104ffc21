import path from 'node:path'
import { fileURLToPath } from 'node:url'
import cookie from '@fastify/cookie'
import formbody from '@fastify/formbody'
import multipart from '@fastify/multipart'
import fastifyStatic from '@fastify/static'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Ajv } from 'ajv'
import Fastify, { type FastifyBaseLogger, type FastifyServerOptions } from 'fastify'
import { UUID_PATTERN } from '../contract/ids.ts'
import requestLog, { createLoggers, genRequestId, lazyChildLoggerFactory, quietLogController } from '../platform/request-log.ts'
import { deleteExpiredPortalSessions } from '../db/repositories/portal-sessions.ts'
import type { Db } from '../db/index.ts'
import { ApiClient } from './api-client.ts'
import { clientErrorHandler } from './client-errors.ts'
import type { PortalConfig } from './config.ts'
import { cookieNames } from './cookies.ts'
import csrf from './plugins/csrf.ts'
import errors from './plugins/errors.ts'
import helmet from './plugins/helmet.ts'
import session from './plugins/session.ts'
import view from './plugins/view.ts'
import accountRoutes from './routes/account.ts'
import adminUserRoutes from './routes/admin-users.ts'
import authRoutes from './routes/auth.ts'
import dashboardRoutes from './routes/dashboard.ts'
import deviceRoutes from './routes/device.ts'
import tokenRoutes from './routes/tokens.ts'
import savedSearchRoutes from './routes/saved-searches.ts'
import importRoutes from './routes/import.ts'
import profileRoutes from './routes/profiles.ts'
import searchRoutes from './routes/search.ts'
import { SecretBox } from './secrets.ts'
import { SessionStore } from './session-store.ts'
import './types.ts'

export const PUBLIC_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'public')

/** Expired portal sessions are swept this often. */
const SWEEP_EVERY_MS = 10 * 60_000

export interface PortalDeps {
  config: PortalConfig
  db: Db
  /** pino options or false (tests) */
  logger?: FastifyServerOptions['logger']
  /** the clock for session and token expiry (tests move it) */
  now?: () => Date
}

/**
 * Query strings and path parameters coerce "25" to 25, as in the API; form bodies are text and stay
 * text. Every error is reported (allErrors), so a form shows a message for each field it got wrong.
 */
function validatorCompiler() {
  const common = { allErrors: true, useDefaults: true, strict: false, formats: { uuid: new RegExp(UUID_PATTERN) } } as const
  const coercing = new Ajv({ ...common, coerceTypes: 'array', removeAdditional: false })
  const text = new Ajv({ ...common, coerceTypes: false, removeAdditional: false })
  return ({ schema, httpPart }: { schema: object; httpPart?: string }) => (httpPart === 'body' ? text : coercing).compile(schema)
}

export async function buildPortalApp(deps: PortalDeps) {
  const { config } = deps
  const now = deps.now ?? (() => new Date())
  const loggers = deps.logger === undefined ? createLoggers({ level: config.logLevel, format: config.logFormat }) : undefined
  const app = Fastify({
    // the pino instance, typed as Fastify's base logger so the app keeps its usual instance type
    ...(loggers ? { loggerInstance: loggers.logger as FastifyBaseLogger } : { logger: deps.logger }),
    logController: quietLogController(),
    childLoggerFactory: lazyChildLoggerFactory,
    genReqId: genRequestId,
    // a hop count is valid for proxy-addr even though Fastify's types only list the other forms
    trustProxy: config.trustProxy as boolean | string | string[],
    bodyLimit: 64 * 1024,
    requestTimeout: config.timeouts.requestMs,
    connectionTimeout: config.timeouts.connectionMs,
    keepAliveTimeout: config.timeouts.keepAliveMs,
    http: {
      headersTimeout: config.timeouts.headersMs,
      // how often Node looks for requests past their deadline: often enough that a short limit holds
      connectionsCheckingInterval: Math.max(50, Math.min(30_000, Math.floor(config.timeouts.headersMs / 4))),
    },
    clientErrorHandler,
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 200 },
  }).withTypeProvider<TypeBoxTypeProvider>()
  app.setValidatorCompiler(validatorCompiler())

  const box = new SecretBox(config.sessionKey)
  const api = new ApiClient({ baseUrl: config.apiUrl, clientId: config.clientId, clientSecret: config.clientSecret, timeoutMs: config.apiTimeoutMs })
  const sessions = new SessionStore({
    db: deps.db.db,
    box,
    api,
    idleMs: config.sessionIdleMs,
    absoluteMs: config.sessionAbsoluteMs,
    refreshMarginMs: config.refreshMarginMs,
    cacheMs: config.sessionCacheMs,
    now,
  })
  app.decorate('portal', { config, api, sessions, box, cookieNames: cookieNames(config.secure), now })
  if (config.sessionKeyGenerated) {
    app.log.warn('PORTAL_SESSION_KEY is not set: using a random key, so sessions end when the portal restarts')
  }

  const sweep = setInterval(() => {
    deleteExpiredPortalSessions(deps.db.db, now()).catch((err: unknown) => app.log.warn({ err }, 'portal session sweep failed'))
  }, SWEEP_EVERY_MS)
  sweep.unref()
  app.addHook('onClose', async () => {
    clearInterval(sweep)
    api.close()
  })

  await app.register(requestLog, { access: loggers?.access })
  await app.register(helmet)
  await app.register(cookie)
  await app.register(formbody, { bodyLimit: 64 * 1024 })
  await app.register(multipart, { limits: { fileSize: config.uploadLimitBytes, files: 1, fields: 4, parts: 6 } })
  await app.register(fastifyStatic, { root: PUBLIC_DIR, prefix: '/static/', maxAge: '1h', index: false })
  await app.register(view)
  await app.register(errors)
  await app.register(session)
  await app.register(csrf)

  app.get('/healthz', { config: { portalAccess: 'public' } }, async () => ({ status: 'ok' }))
  await app.register(authRoutes)
  await app.register(dashboardRoutes)
  await app.register(profileRoutes)
  await app.register(searchRoutes)
  await app.register(importRoutes)
  await app.register(accountRoutes)
  await app.register(adminUserRoutes)
  await app.register(deviceRoutes)
  await app.register(tokenRoutes)
  await app.register(savedSearchRoutes)
  return app
}
