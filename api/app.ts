import cors from '@fastify/cors'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Ajv } from 'ajv'
import Fastify, { type FastifyBaseLogger, type FastifyServerOptions } from 'fastify'
import { UUID_PATTERN } from '../contract/ids.ts'
import type pg from 'pg'
import { createPool, type Db } from '../db/index.ts'
import type { ApiConfig } from './config.ts'
import auth from './plugins/auth.ts'
import { envelopeClientErrorHandler, MAX_PARAM_LENGTH } from './plugins/client-errors.ts'
import clientIp from './plugins/client-ip.ts'
import emptyBody from './plugins/empty-body.ts'
import errors from './plugins/errors.ts'
import openapi from './plugins/openapi.ts'
import requestLog, { createLoggers, genRequestId, lazyChildLoggerFactory, quietLogController } from '../platform/request-log.ts'
import rateLimits from './plugins/rate-limit.ts'
import versionHeader from './plugins/version-header.ts'
import authRoutes from './routes/auth/index.ts'
import health from './routes/health.ts'
import profiles from './routes/profiles/index.ts'
import savedSearchRoutes from './routes/saved-searches/index.ts'
import sessionRoutes from './routes/sessions/index.ts'
import userRoutes from './routes/users/index.ts'
import { systemClock, systemRandom, type Clock, type RandomBytes } from './services/clock.ts'
import { EnrichmentClient } from './services/enrichment.ts'
import { ProfileExports } from './services/export-csv.ts'
import { createIdentity } from './services/identity.ts'
import { DeviceLoginService } from './services/device-logins.ts'
import { PersonalAccessTokenService } from './services/personal-access-tokens.ts'
import { CursorCodec } from './services/profile-cursor.ts'
import { ProfilesService } from './services/profiles.ts'
import { SavedSearchService } from './services/saved-searches.ts'
import { MemoryQueryCache, RedisQueryCache, type QueryCache } from './services/query-cache.ts'
import './types.ts'

export interface ApiDeps {
  config: ApiConfig
  db: Db
  /** pino options or an instance's logger; false = silent (tests) */
  logger?: FastifyServerOptions['logger']
  queryCache?: QueryCache
  /** ms since the epoch; token expiry, codes, sessions and rate-limit windows read it (tests move it) */
  clock?: Clock
  /** random bytes for tokens, codes and states (tests may make them predictable) */
  random?: RandomBytes
  /** write log lines here instead of stdout (tests read them) */
  logStream?: NodeJS.WritableStream
  /** the exports' own pool; by default one of EXPORT_POOL_MAX connections on db's database, closed with the app */
  exportPool?: pg.Pool
}

/**
 * Query strings coerce "25" to 25 (and "a" to "a" for a one-item array), but bodies must arrive with
 * their real JSON types: `{"name": 123}` is a 422, not the name "123".
 */
const UUID_RE = new RegExp(UUID_PATTERN)

function validatorCompiler() {
  const common = { allErrors: false, useDefaults: true, strict: false, formats: {} } as const
  const coercing = new Ajv({ ...common, coerceTypes: 'array', removeAdditional: false })
  const strictTypes = new Ajv({ ...common, coerceTypes: false, removeAdditional: false })
  coercing.addFormat('uuid', UUID_RE)
  strictTypes.addFormat('uuid', UUID_RE)
  return ({ schema, httpPart }: { schema: object; httpPart?: string }) =>
    (httpPart === 'body' ? strictTypes : coercing).compile(schema)
}

export async function buildApiApp(deps: ApiDeps) {
  const { config } = deps
  if (config.deployment === 'production' && config.auth.testCodeEnabled) {
    throw new Error('AUTH_TEST_CODE_ENABLED is refused in production')
  }
  const loggers =
    deps.logger === undefined ? createLoggers({ level: config.logLevel, format: config.logFormat, stream: deps.logStream }) : undefined
  const app = Fastify({
    // the pino instance, typed as Fastify's base logger so the app keeps its usual instance type
    ...(loggers ? { loggerInstance: loggers.logger as FastifyBaseLogger } : { logger: deps.logger }),
    logController: quietLogController(),
    childLoggerFactory: lazyChildLoggerFactory,
    genReqId: genRequestId,
    // a hop count is valid for proxy-addr even though Fastify's types only list the other forms
    trustProxy: config.trustProxy as boolean | string | string[],
    bodyLimit: config.bodyLimitBytes,
    // Slow clients never hold a connection forever (docs/performance.md, "Slow clients").
    requestTimeout: config.http.requestTimeoutMs,
    connectionTimeout: config.http.connectionTimeoutMs,
    keepAliveTimeout: config.http.keepAliveTimeoutMs,
    http: {
      headersTimeout: config.http.headersTimeoutMs,
      // how often Node checks those two deadlines: often enough for their precision to be a second
      connectionsCheckingInterval: Math.min(1000, Math.ceil(config.http.headersTimeoutMs / 4)),
    },
    clientErrorHandler: envelopeClientErrorHandler,
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: MAX_PARAM_LENGTH },
  }).withTypeProvider<TypeBoxTypeProvider>()
  app.setValidatorCompiler(validatorCompiler())
  // A JSON API: a text/plain body is a 415, not a string that fails validation later.
  app.removeContentTypeParser('text/plain')

  app.decorate('db', deps.db)
  const queryCache =
    deps.queryCache ??
    (config.redisUrl
      ? new RedisQueryCache(config.redisUrl, config.cacheTtlSeconds, (err) => app.log.warn({ err }, 'query cache unavailable'))
      : new MemoryQueryCache(config.cacheTtlSeconds * 1000))
  app.decorate('queryCache', queryCache)
  const enrichment = new EnrichmentClient(config.enrichment)
  app.decorate('enrichment', enrichment)
  app.decorate('profiles', new ProfilesService(deps.db, queryCache, enrichment, new CursorCodec(config.auth.jwtSecret)))
  app.decorate('csvImport', config.csvImport)
  const exportPool =
    deps.exportPool ??
    createPool({
      databaseUrl: deps.db.pool.options.connectionString ?? '',
      poolMax: config.exports.poolMax,
      connectionTimeoutMs: config.exports.acquireTimeoutMs,
      applicationName: 'insighta-export',
    })
  if (!deps.exportPool) app.addHook('onClose', async () => exportPool.end())
  app.decorate(
    'exports',
    new ProfileExports(exportPool, deps.db.db, {
      maxConcurrent: config.exports.maxConcurrent,
      maxPerUser: config.exports.maxPerUser,
      retryAfterSeconds: config.busyRetryAfterSeconds,
      idleTimeoutMs: config.exports.idleTimeoutMs,
    }),
  )
  app.addHook('onClose', async () => queryCache.close())
  const identity = createIdentity({
    db: deps.db,
    config: config.auth,
    clock: deps.clock ?? systemClock,
    random: deps.random ?? systemRandom,
  })
  app.decorate('identity', identity)
  app.decorate('savedSearches', new SavedSearchService(deps.db, identity.audit, identity.clock))
  const personalAccessTokens = new PersonalAccessTokenService({
    db: deps.db,
    config: config.auth.personalAccessTokens,
    clock: identity.clock,
    random: deps.random ?? systemRandom,
    audit: identity.audit,
  })
  app.decorate('personalAccessTokens', personalAccessTokens)
  app.decorate(
    'deviceLogins',
    new DeviceLoginService({
      db: deps.db,
      config: config.auth.device,
      clock: identity.clock,
      random: deps.random ?? systemRandom,
      sessions: identity.sessions,
      audit: identity.audit,
    }),
  )
  if (config.auth.jwtSecretGenerated) {
    app.log.warn('JWT_SECRET is not set: using a random secret for this process (tokens die with it; set one to share across restarts and instances)')
  }
  if (!identity.github.configured) app.log.warn('GITHUB_CLIENT_ID/GITHUB_CLIENT_SECRET not set: GitHub login is unavailable')
  if (config.auth.testCodeEnabled) app.log.warn('AUTH_TEST_CODE_ENABLED: the grader shortcut (code=test_code) is ON — never in production')

  await app.register(errors, { busyRetryAfterSeconds: config.busyRetryAfterSeconds })
  await app.register(emptyBody)
  await app.register(requestLog, { access: loggers?.access })
  await app.register(cors, {
    origin: '*',
    credentials: false,
    methods: ['GET', 'HEAD', 'POST', 'PATCH', 'DELETE', 'OPTIONS'],
    allowedHeaders: ['Authorization', 'Content-Type', 'X-API-Version', 'X-Request-Id'],
    exposedHeaders: ['X-API-Version', 'X-Request-Id', 'Retry-After', 'Content-Disposition', 'WWW-Authenticate'],
    maxAge: 600,
  })
  await app.register(clientIp, { clients: identity.clients })
  // Order matters: version header, then rate limits, then authentication (contract §2).
  await app.register(versionHeader)
  await app.register(rateLimits, {
    ...config.auth.rateLimit,
    redisUrl: config.redisUrl,
    clock: identity.clock,
    tokens: identity.tokens,
    personalAccessTokens,
  })
  await app.register(auth, { identity, personalAccessTokens })
  await app.register(openapi)

  await app.register(health)
  await app.register(authRoutes, { prefix: '/auth' })
  await app.register(userRoutes, { prefix: '/api/users' })
  await app.register(sessionRoutes, { prefix: '/api/sessions' })
  await app.register(profiles, { prefix: '/api/profiles' })
  await app.register(savedSearchRoutes, { prefix: '/api/saved-searches' })
  return app
}
