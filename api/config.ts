import { randomBytes } from 'node:crypto'
import { Type } from 'typebox'
import { csvList, parseEnv, parseTrustProxy, SharedEnvProperties } from '../platform/env-schema.ts'
import { processEnv } from '../platform/dotenv.ts'
import type { LogFormat } from '../platform/request-log.ts'

/** Every variable the API reads; .env.example documents each one. Only this module reads the env. */
export const ApiEnvSchema = Type.Object({
  ...SharedEnvProperties,
  HOST: Type.String({ default: '127.0.0.1' }),
  PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 3000 }),
  REDIS_URL: Type.Optional(Type.String({ pattern: '^rediss?://' })),
  CACHE_TTL_SECONDS: Type.Integer({ minimum: 0, maximum: 3600, default: 30 }),
  BODY_LIMIT_BYTES: Type.Integer({ minimum: 1024, default: 16384 }),
  IMPORT_MAX_BYTES: Type.Integer({ minimum: 1024, default: 104857600 }),
  IMPORT_MAX_ROWS: Type.Integer({ minimum: 1, default: 500000 }),
  /** batches an import writes at once, each on its own connection (docs/import.md) */
  IMPORT_WRITERS: Type.Integer({ minimum: 1, maximum: 8, default: 2 }),
  GENDERIZE_URL: Type.String({ pattern: '^https?://', default: 'https://api.genderize.io' }),
  AGIFY_URL: Type.String({ pattern: '^https?://', default: 'https://api.agify.io' }),
  NATIONALIZE_URL: Type.String({ pattern: '^https?://', default: 'https://api.nationalize.io' }),
  ENRICHMENT_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 60000, default: 4000 }),
  ENRICHMENT_CACHE_SIZE: Type.Integer({ minimum: 0, default: 10000 }),

  // Slow clients and busy pools (docs/performance.md, "Busy, not down")
  HTTP_REQUEST_TIMEOUT_MS: Type.Integer({ minimum: 1000, default: 120000 }),
  HTTP_HEADERS_TIMEOUT_MS: Type.Integer({ minimum: 500, default: 10000 }),
  HTTP_KEEP_ALIVE_TIMEOUT_MS: Type.Integer({ minimum: 100, default: 10000 }),
  HTTP_CONNECTION_TIMEOUT_MS: Type.Integer({ minimum: 0, default: 60000 }),
  IMPORT_IDLE_TIMEOUT_MS: Type.Integer({ minimum: 100, default: 15000 }),
  DB_ACQUIRE_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 60000, default: 5000 }),
  BUSY_RETRY_AFTER_SECONDS: Type.Integer({ minimum: 1, maximum: 3600, default: 2 }),
  EXPORT_POOL_MAX: Type.Integer({ minimum: 1, maximum: 50, default: 4 }),
  EXPORT_MAX_CONCURRENT: Type.Integer({ minimum: 1, maximum: 50, default: 4 }),
  EXPORT_MAX_PER_USER: Type.Integer({ minimum: 1, maximum: 50, default: 2 }),
  EXPORT_IDLE_TIMEOUT_MS: Type.Integer({ minimum: 100, default: 30000 }),
  EXPORT_ACQUIRE_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 60000, default: 2000 }),

  // Identity (docs/identity.md)
  JWT_SECRET: Type.Optional(Type.String()),
  JWT_PREVIOUS_SECRET: Type.Optional(Type.String()),
  JWT_ISSUER: Type.String({ minLength: 1, default: 'insighta-api' }),
  JWT_AUDIENCE: Type.String({ minLength: 1, default: 'insighta' }),
  ACCESS_TOKEN_TTL_SECONDS: Type.Integer({ minimum: 10, maximum: 3600, default: 180 }),
  REFRESH_TOKEN_IDLE_SECONDS: Type.Integer({ minimum: 30, maximum: 30 * 86400, default: 300 }),
  SESSION_ABSOLUTE_SECONDS: Type.Integer({ minimum: 60, maximum: 365 * 86400, default: 7 * 86400 }),
  /** 0 = off: a refresh token is strictly single use (contract §5) */
  REFRESH_RETRY_WINDOW_SECONDS: Type.Integer({ minimum: 0, maximum: 60, default: 0 }),
  AUTH_CACHE_TTL_MS: Type.Integer({ minimum: 0, maximum: 5000, default: 2000 }),
  AUTH_CODE_TTL_SECONDS: Type.Integer({ minimum: 5, maximum: 60, default: 60 }),
  LOGIN_STATE_TTL_SECONDS: Type.Integer({ minimum: 60, maximum: 3600, default: 600 }),
  GITHUB_CLIENT_ID: Type.Optional(Type.String()),
  GITHUB_CLIENT_SECRET: Type.Optional(Type.String()),
  GITHUB_OAUTH_URL: Type.String({ pattern: '^https?://', default: 'https://github.com' }),
  GITHUB_API_URL: Type.String({ pattern: '^https?://', default: 'https://api.github.com' }),
  GITHUB_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 60000, default: 5000 }),
  API_PUBLIC_URL: Type.Optional(Type.String({ pattern: '^https?://' })),
  PORTAL_CLIENT_SECRET: Type.Optional(Type.String()),
  PORTAL_REDIRECT_URI: Type.String({ pattern: '^https?://', default: 'http://localhost:3001/auth/callback' }),
  ADMIN_GITHUB_LOGINS: Type.String({ default: '' }),
  ADMIN_GITHUB_IDS: Type.String({ pattern: '^[0-9, ]*$', default: '' }),
  AUTH_TEST_CODE_ENABLED: Type.Boolean({ default: false }),
  /** read for one purpose only: NODE_ENV=production also refuses the test-code shortcut */
  NODE_ENV: Type.Optional(Type.String()),
  RATE_LIMIT_AUTH_PER_MINUTE: Type.Integer({ minimum: 1, default: 10 }),
  RATE_LIMIT_API_PER_MINUTE: Type.Integer({ minimum: 1, default: 60 }),
  RATE_LIMIT_WINDOW_SECONDS: Type.Integer({ minimum: 1, maximum: 3600, default: 60 }),

  // Headless access: device login (RFC 8628) and personal access tokens (docs/identity.md)
  DEVICE_CODE_TTL_SECONDS: Type.Integer({ minimum: 60, maximum: 3600, default: 600 }),
  DEVICE_CODE_INTERVAL_SECONDS: Type.Integer({ minimum: 1, maximum: 60, default: 10 }),
  DEVICE_VERIFICATION_URI: Type.Optional(Type.String({ pattern: '^https?://' })),
  DEVICE_CODE_MAX_FAILURES: Type.Integer({ minimum: 1, maximum: 1000, default: 5 }),
  DEVICE_CODE_FAILURE_WINDOW_SECONDS: Type.Integer({ minimum: 10, maximum: 86400, default: 900 }),
  PAT_DEFAULT_EXPIRY_DAYS: Type.Integer({ minimum: 1, maximum: 3650, default: 30 }),
  PAT_MAX_EXPIRY_DAYS: Type.Integer({ minimum: 1, maximum: 3650, default: 90 }),
  PAT_MAX_PER_USER: Type.Integer({ minimum: 1, maximum: 1000, default: 50 }),
})

/** Secrets that sign tokens must be long enough that guessing them is hopeless. */
export const MIN_SECRET_LENGTH = 32

export interface ApiConfig {
  deployment: 'development' | 'test' | 'production'
  host: string
  port: number
  logLevel: string
  logFormat: LogFormat
  /** false, true, a hop count, or a list of trusted proxy addresses/CIDRs */
  trustProxy: boolean | number | string[]
  /** undefined = the embedded database under dataDir */
  databaseUrl: string | undefined
  dataDir: string
  dbPoolMax: number
  dbStatementTimeoutMs: number
  /** wait for a free pooled connection (or a TCP connect) this long before answering 503 busy */
  dbAcquireTimeoutMs: number
  /** Retry-After (s) of every busy answer: pool wait timed out, export caps reached */
  busyRetryAfterSeconds: number
  /** Node's server timeouts (ms): whole request, headers, idle keep-alive, socket inactivity (0 = none) */
  http: { requestTimeoutMs: number; headersTimeoutMs: number; keepAliveTimeoutMs: number; connectionTimeoutMs: number }
  /** GET /api/profiles/export: its own pool, caps, and the idle time after which a non-reading client is cut */
  exports: { poolMax: number; maxConcurrent: number; maxPerUser: number; idleTimeoutMs: number; acquireTimeoutMs: number }
  redisUrl: string | undefined
  cacheTtlSeconds: number
  bodyLimitBytes: number
  /** POST /api/profiles/import: the largest upload (bytes) and the most data rows per file */
  csvImport: { maxBytes: number; maxRows: number; writers: number; idleTimeoutMs: number }
  enrichment: {
    genderizeUrl: string
    agifyUrl: string
    nationalizeUrl: string
    timeoutMs: number
    cacheSize: number
  }
  auth: AuthConfig
}

export interface AuthConfig {
  /** signs new access tokens (and keys the sealing of refresh-retry successors) */
  jwtSecret: string
  /** true when no JWT_SECRET was configured and a random one was made for this process (dev/test) */
  jwtSecretGenerated: boolean
  /** still accepted for verification while secrets rotate */
  jwtPreviousSecret: string | undefined
  jwtIssuer: string
  jwtAudience: string
  accessTokenTtlSeconds: number
  refreshTokenIdleSeconds: number
  sessionAbsoluteSeconds: number
  refreshRetryWindowSeconds: number
  cacheTtlMs: number
  authCodeTtlSeconds: number
  loginStateTtlSeconds: number
  github: {
    clientId: string | undefined
    clientSecret: string | undefined
    oauthUrl: string
    apiUrl: string
    timeoutMs: number
  }
  /** the API's own origin as browsers and GitHub reach it; the GitHub callback is built from it */
  publicUrl: string
  portalClientSecret: string | undefined
  portalRedirectUri: string
  adminLogins: string[]
  adminGithubIds: number[]
  testCodeEnabled: boolean
  rateLimit: {
    authPerWindow: number
    apiPerWindow: number
    windowMs: number
  }
  device: DeviceLoginConfig
  personalAccessTokens: PersonalAccessTokenConfig
}

export interface DeviceLoginConfig {
  codeTtlSeconds: number
  /** the polling interval handed out (slow_down adds 5 s) */
  intervalSeconds: number
  /** the portal's /device page */
  verificationUri: string
  /** wrong user codes allowed per user and per address within the window */
  maxFailures: number
  failureWindowMs: number
}

export interface PersonalAccessTokenConfig {
  defaultExpiryDays: number
  maxExpiryDays: number
  /** live (unrevoked, unexpired) tokens one user may hold */
  maxPerUser: number
}


function stripTrailingSlash(url: string): string {
  return url.replace(/\/+$/, '')
}

/**
 * Settings that are dangerous in production are refused at startup rather than tolerated: a missing
 * or short signing secret, the grader's test-code shortcut, and plain-HTTP GitHub endpoints (which is
 * what pointing production at the GitHub stand-in would look like).
 */
function checkProduction(e: ReturnType<typeof parseEnv<typeof ApiEnvSchema>>): string[] {
  const problems: string[] = []
  if (e.DEPLOYMENT_ENV !== 'production') return problems
  if (!e.JWT_SECRET || e.JWT_SECRET.length < MIN_SECRET_LENGTH)
    problems.push(`JWT_SECRET: required in production, at least ${MIN_SECRET_LENGTH} characters`)
  if (e.JWT_PREVIOUS_SECRET !== undefined && e.JWT_PREVIOUS_SECRET.length < MIN_SECRET_LENGTH)
    problems.push(`JWT_PREVIOUS_SECRET: at least ${MIN_SECRET_LENGTH} characters`)
  if (e.PORTAL_CLIENT_SECRET !== undefined && e.PORTAL_CLIENT_SECRET.length < MIN_SECRET_LENGTH)
    problems.push(`PORTAL_CLIENT_SECRET: at least ${MIN_SECRET_LENGTH} characters in production`)
  if (e.AUTH_TEST_CODE_ENABLED) problems.push('AUTH_TEST_CODE_ENABLED: refused in production')
  if (!e.GITHUB_OAUTH_URL.startsWith('https://') || !e.GITHUB_API_URL.startsWith('https://'))
    problems.push('GITHUB_OAUTH_URL/GITHUB_API_URL: must be https in production (the GitHub stand-in is for development only)')
  if (!e.API_PUBLIC_URL) problems.push('API_PUBLIC_URL: required in production')
  return problems
}

export function loadApiConfig(env: Record<string, string | undefined> = processEnv()): ApiConfig {
  const e = parseEnv(ApiEnvSchema, env)
  const problems = checkProduction(e)
  if (e.PAT_DEFAULT_EXPIRY_DAYS > e.PAT_MAX_EXPIRY_DAYS) problems.push('PAT_DEFAULT_EXPIRY_DAYS: must not exceed PAT_MAX_EXPIRY_DAYS')
  // Whatever DEPLOYMENT_ENV says: a process started as production never runs the grader shortcut.
  if (e.NODE_ENV === 'production' && e.AUTH_TEST_CODE_ENABLED && e.DEPLOYMENT_ENV !== 'production')
    problems.push('AUTH_TEST_CODE_ENABLED: refused when NODE_ENV=production')
  if (e.HTTP_HEADERS_TIMEOUT_MS > e.HTTP_REQUEST_TIMEOUT_MS)
    problems.push('HTTP_HEADERS_TIMEOUT_MS: must not exceed HTTP_REQUEST_TIMEOUT_MS')
  if (e.EXPORT_MAX_PER_USER > e.EXPORT_MAX_CONCURRENT)
    problems.push('EXPORT_MAX_PER_USER: must not exceed EXPORT_MAX_CONCURRENT')
  if (problems.length > 0) throw new Error(`invalid configuration:\n${problems.map((p) => `  ${p}`).join('\n')}`)
  const jwtSecret = e.JWT_SECRET ?? randomBytes(32).toString('base64url')
  return {
    deployment: e.DEPLOYMENT_ENV,
    host: e.HOST,
    port: e.PORT,
    logLevel: e.LOG_LEVEL,
    logFormat: e.LOG_FORMAT,
    trustProxy: parseTrustProxy(e.TRUST_PROXY),
    databaseUrl: e.DATABASE_URL,
    dataDir: e.DATA_DIR,
    dbPoolMax: e.DB_POOL_MAX,
    dbStatementTimeoutMs: e.DB_STATEMENT_TIMEOUT_MS,
    dbAcquireTimeoutMs: e.DB_ACQUIRE_TIMEOUT_MS,
    busyRetryAfterSeconds: e.BUSY_RETRY_AFTER_SECONDS,
    http: {
      requestTimeoutMs: e.HTTP_REQUEST_TIMEOUT_MS,
      headersTimeoutMs: e.HTTP_HEADERS_TIMEOUT_MS,
      keepAliveTimeoutMs: e.HTTP_KEEP_ALIVE_TIMEOUT_MS,
      connectionTimeoutMs: e.HTTP_CONNECTION_TIMEOUT_MS,
    },
    exports: {
      poolMax: e.EXPORT_POOL_MAX,
      maxConcurrent: e.EXPORT_MAX_CONCURRENT,
      maxPerUser: e.EXPORT_MAX_PER_USER,
      idleTimeoutMs: e.EXPORT_IDLE_TIMEOUT_MS,
      acquireTimeoutMs: e.EXPORT_ACQUIRE_TIMEOUT_MS,
    },
    redisUrl: e.REDIS_URL,
    cacheTtlSeconds: e.CACHE_TTL_SECONDS,
    bodyLimitBytes: e.BODY_LIMIT_BYTES,
    csvImport: {
      maxBytes: e.IMPORT_MAX_BYTES,
      maxRows: e.IMPORT_MAX_ROWS,
      writers: e.IMPORT_WRITERS,
      idleTimeoutMs: e.IMPORT_IDLE_TIMEOUT_MS,
    },
    enrichment: {
      genderizeUrl: e.GENDERIZE_URL,
      agifyUrl: e.AGIFY_URL,
      nationalizeUrl: e.NATIONALIZE_URL,
      timeoutMs: e.ENRICHMENT_TIMEOUT_MS,
      cacheSize: e.ENRICHMENT_CACHE_SIZE,
    },
    auth: {
      jwtSecret,
      jwtSecretGenerated: e.JWT_SECRET === undefined,
      jwtPreviousSecret: e.JWT_PREVIOUS_SECRET,
      jwtIssuer: e.JWT_ISSUER,
      jwtAudience: e.JWT_AUDIENCE,
      accessTokenTtlSeconds: e.ACCESS_TOKEN_TTL_SECONDS,
      refreshTokenIdleSeconds: e.REFRESH_TOKEN_IDLE_SECONDS,
      sessionAbsoluteSeconds: e.SESSION_ABSOLUTE_SECONDS,
      refreshRetryWindowSeconds: e.REFRESH_RETRY_WINDOW_SECONDS,
      cacheTtlMs: e.AUTH_CACHE_TTL_MS,
      authCodeTtlSeconds: e.AUTH_CODE_TTL_SECONDS,
      loginStateTtlSeconds: e.LOGIN_STATE_TTL_SECONDS,
      github: {
        clientId: e.GITHUB_CLIENT_ID,
        clientSecret: e.GITHUB_CLIENT_SECRET,
        oauthUrl: stripTrailingSlash(e.GITHUB_OAUTH_URL),
        apiUrl: stripTrailingSlash(e.GITHUB_API_URL),
        timeoutMs: e.GITHUB_TIMEOUT_MS,
      },
      publicUrl: stripTrailingSlash(e.API_PUBLIC_URL ?? `http://${e.HOST.includes(':') ? `[${e.HOST}]` : e.HOST}:${e.PORT}`),
      portalClientSecret: e.PORTAL_CLIENT_SECRET,
      portalRedirectUri: e.PORTAL_REDIRECT_URI,
      adminLogins: csvList(e.ADMIN_GITHUB_LOGINS).map((l) => l.toLowerCase()),
      adminGithubIds: csvList(e.ADMIN_GITHUB_IDS).map(Number),
      testCodeEnabled: e.AUTH_TEST_CODE_ENABLED,
      rateLimit: {
        authPerWindow: e.RATE_LIMIT_AUTH_PER_MINUTE,
        apiPerWindow: e.RATE_LIMIT_API_PER_MINUTE,
        windowMs: e.RATE_LIMIT_WINDOW_SECONDS * 1000,
      },
      device: {
        codeTtlSeconds: e.DEVICE_CODE_TTL_SECONDS,
        intervalSeconds: e.DEVICE_CODE_INTERVAL_SECONDS,
        verificationUri: e.DEVICE_VERIFICATION_URI ?? `${new URL(e.PORTAL_REDIRECT_URI).origin}/device`,
        maxFailures: e.DEVICE_CODE_MAX_FAILURES,
        failureWindowMs: e.DEVICE_CODE_FAILURE_WINDOW_SECONDS * 1000,
      },
      personalAccessTokens: {
        defaultExpiryDays: e.PAT_DEFAULT_EXPIRY_DAYS,
        maxExpiryDays: e.PAT_MAX_EXPIRY_DAYS,
        maxPerUser: e.PAT_MAX_PER_USER,
      },
    },
  }
}
