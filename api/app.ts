import cors from '@fastify/cors'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Ajv } from 'ajv'
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import type { Db } from '../db/index.ts'
import type { ApiConfig } from './config.ts'
import errors from './plugins/errors.ts'
import openapi from './plugins/openapi.ts'
import requestLog, { genRequestId, loggerOptions, quietLogController } from './plugins/request-log.ts'
import versionHeader from './plugins/version-header.ts'
import health from './routes/health.ts'
import profiles from './routes/profiles/index.ts'
import { EnrichmentClient } from './services/enrichment.ts'
import { MemoryQueryCache, RedisQueryCache, type QueryCache } from './services/query-cache.ts'
import './types.ts'

export interface ApiDeps {
  config: ApiConfig
  db: Db
  /** pino options or an instance's logger; false = silent (tests) */
  logger?: FastifyServerOptions['logger']
  queryCache?: QueryCache
}

/**
 * Query strings coerce "25" to 25 (and "a" to "a" for a one-item array), but bodies must arrive with
 * their real JSON types: `{"name": 123}` is a 422, not the name "123".
 */
function validatorCompiler() {
  const common = { allErrors: false, useDefaults: true, strict: false, formats: {} } as const
  const coercing = new Ajv({ ...common, coerceTypes: 'array', removeAdditional: false })
  const strictTypes = new Ajv({ ...common, coerceTypes: false, removeAdditional: false })
  coercing.addFormat('uuid', /^[0-9a-f-]{36}$/i)
  strictTypes.addFormat('uuid', /^[0-9a-f-]{36}$/i)
  return ({ schema, httpPart }: { schema: object; httpPart?: string }) =>
    (httpPart === 'body' ? strictTypes : coercing).compile(schema)
}

export async function buildApiApp(deps: ApiDeps) {
  const { config } = deps
  const app = Fastify({
    logger: deps.logger ?? loggerOptions(config.logLevel),
    logController: quietLogController(),
    genReqId: genRequestId,
    // a hop count is valid for proxy-addr even though Fastify's types only list the other forms
    trustProxy: config.trustProxy as boolean | string | string[],
    bodyLimit: config.bodyLimitBytes,
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 200 },
  }).withTypeProvider<TypeBoxTypeProvider>()
  app.setValidatorCompiler(validatorCompiler())

  app.decorate('db', deps.db)
  const queryCache =
    deps.queryCache ??
    (config.redisUrl
      ? new RedisQueryCache(config.redisUrl, config.cacheTtlSeconds, (err) => app.log.warn({ err }, 'query cache unavailable'))
      : new MemoryQueryCache(config.cacheTtlSeconds * 1000))
  app.decorate('queryCache', queryCache)
  app.decorate('enrichment', new EnrichmentClient(config.enrichment))
  app.addHook('onClose', async () => queryCache.close())

  await app.register(errors)
  await app.register(requestLog)
  await app.register(cors, {
    origin: '*',
    credentials: false,
    methods: ['GET', 'HEAD', 'POST', 'PATCH', 'DELETE', 'OPTIONS'],
    allowedHeaders: ['Authorization', 'Content-Type', 'X-API-Version', 'X-Request-Id'],
    exposedHeaders: ['X-API-Version', 'X-Request-Id', 'Retry-After', 'Content-Disposition', 'WWW-Authenticate'],
    maxAge: 600,
  })
  await app.register(versionHeader)
  await app.register(openapi)

  await app.register(health)
  await app.register(profiles, { prefix: '/api/profiles' })
  return app
}
