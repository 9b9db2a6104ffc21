import { Type } from '@sinclair/typebox'
import { csvList, parseEnv } from './env-schema.ts'

/** Every variable the API reads; .env.example documents each one. Only this module reads the env. */
export const ApiEnvSchema = Type.Object({
  DEPLOYMENT_ENV: Type.Union([Type.Literal('development'), Type.Literal('test'), Type.Literal('production')], {
    default: 'development',
  }),
  HOST: Type.String({ default: '127.0.0.1' }),
  PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 3000 }),
  LOG_LEVEL: Type.Union(
    ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)),
    { default: 'info' },
  ),
  TRUST_PROXY: Type.String({ default: 'false' }),
  DATABASE_URL: Type.Optional(Type.String({ pattern: '^postgres(ql)?://' })),
  DATA_DIR: Type.String({ default: '.data' }),
  DB_POOL_MAX: Type.Integer({ minimum: 1, maximum: 200, default: 10 }),
  DB_STATEMENT_TIMEOUT_MS: Type.Integer({ minimum: 0, default: 15000 }),
  REDIS_URL: Type.Optional(Type.String({ pattern: '^rediss?://' })),
  CACHE_TTL_SECONDS: Type.Integer({ minimum: 0, maximum: 3600, default: 30 }),
  BODY_LIMIT_BYTES: Type.Integer({ minimum: 1024, default: 16384 }),
  GENDERIZE_URL: Type.String({ pattern: '^https?://', default: 'https://api.genderize.io' }),
  AGIFY_URL: Type.String({ pattern: '^https?://', default: 'https://api.agify.io' }),
  NATIONALIZE_URL: Type.String({ pattern: '^https?://', default: 'https://api.nationalize.io' }),
  ENRICHMENT_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 60000, default: 4000 }),
  ENRICHMENT_CACHE_SIZE: Type.Integer({ minimum: 0, default: 10000 }),
})

export interface ApiConfig {
  deployment: 'development' | 'test' | 'production'
  host: string
  port: number
  logLevel: string
  /** false, true, a hop count, or a list of trusted proxy addresses/CIDRs */
  trustProxy: boolean | number | string[]
  /** undefined = the embedded database under dataDir */
  databaseUrl: string | undefined
  dataDir: string
  dbPoolMax: number
  dbStatementTimeoutMs: number
  redisUrl: string | undefined
  cacheTtlSeconds: number
  bodyLimitBytes: number
  enrichment: {
    genderizeUrl: string
    agifyUrl: string
    nationalizeUrl: string
    timeoutMs: number
    cacheSize: number
  }
}

function parseTrustProxy(value: string): ApiConfig['trustProxy'] {
  if (value === 'false') return false
  if (value === 'true') return true
  if (/^\d+$/.test(value)) return Number(value)
  return csvList(value)
}

export function loadApiConfig(env: Record<string, string | undefined> = process.env): ApiConfig {
  const e = parseEnv(ApiEnvSchema, env)
  return {
    deployment: e.DEPLOYMENT_ENV,
    host: e.HOST,
    port: e.PORT,
    logLevel: e.LOG_LEVEL,
    trustProxy: parseTrustProxy(e.TRUST_PROXY),
    databaseUrl: e.DATABASE_URL,
    dataDir: e.DATA_DIR,
    dbPoolMax: e.DB_POOL_MAX,
    dbStatementTimeoutMs: e.DB_STATEMENT_TIMEOUT_MS,
    redisUrl: e.REDIS_URL,
    cacheTtlSeconds: e.CACHE_TTL_SECONDS,
    bodyLimitBytes: e.BODY_LIMIT_BYTES,
    enrichment: {
      genderizeUrl: e.GENDERIZE_URL,
      agifyUrl: e.AGIFY_URL,
      nationalizeUrl: e.NATIONALIZE_URL,
      timeoutMs: e.ENRICHMENT_TIMEOUT_MS,
      cacheSize: e.ENRICHMENT_CACHE_SIZE,
    },
  }
}
