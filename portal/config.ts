import { randomBytes } from 'node:crypto'
import { Type } from 'typebox'
import { parseEnv, parseTrustProxy, SharedEnvProperties } from '../platform/env-schema.ts'
import { processEnv } from '../platform/dotenv.ts'
import type { LogFormat } from '../platform/request-log.ts'

/** Every variable the portal reads; .env.example documents each one. Only this module reads the env. */
export const PortalEnvSchema = Type.Object({
  ...SharedEnvProperties,
  PORTAL_HOST: Type.String({ default: '127.0.0.1' }),
  PORTAL_PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 3001 }),
  PORTAL_PUBLIC_URL: Type.String({ pattern: '^https?://[^/?#]+/?$', default: 'http://localhost:3001' }),
  API_URL: Type.String({ pattern: '^https?://', default: 'http://127.0.0.1:3000' }),
  API_PUBLIC_URL: Type.Optional(Type.String({ pattern: '^https?://' })),
  API_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 120000, default: 15000 }),
  PORTAL_CLIENT_ID: Type.String({ minLength: 1, default: 'insighta-portal' }),
  PORTAL_CLIENT_SECRET: Type.Optional(Type.String({ minLength: 16 })),
  PORTAL_SESSION_KEY: Type.Optional(Type.String({ pattern: '^([0-9a-fA-F]{64}|[A-Za-z0-9+/_-]{43}=?)$' })),
  PORTAL_SESSION_IDLE_MINUTES: Type.Integer({ minimum: 1, maximum: 60 * 24 * 30, default: 60 * 8 }),
  PORTAL_SESSION_ABSOLUTE_HOURS: Type.Integer({ minimum: 1, maximum: 24 * 90, default: 24 * 7 }),
  PORTAL_REFRESH_MARGIN_SECONDS: Type.Integer({ minimum: 0, maximum: 600, default: 20 }),
  PORTAL_SESSION_CACHE_MS: Type.Integer({ minimum: 0, maximum: 5000, default: 2000 }),
  PORTAL_UPLOAD_LIMIT_BYTES: Type.Integer({ minimum: 1024, default: 100 * 1024 * 1024 }),
  // 0 is not allowed: every request and connection has a limit
  PORTAL_REQUEST_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 3_600_000, default: 300_000 }),
  PORTAL_HEADERS_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 600_000, default: 20_000 }),
  PORTAL_CONNECTION_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 3_600_000, default: 60_000 }),
  PORTAL_KEEP_ALIVE_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 600_000, default: 72_000 }),
})

/** The development client secret; the API's development default for the portal client matches it. */
export const DEV_PORTAL_CLIENT_SECRET = 'insighta-portal-dev-secret-not-for-production'

export interface PortalConfig {
  deployment: 'development' | 'test' | 'production'
  host: string
  port: number
  /** the origin browsers use, without a trailing slash, e.g. https://portal.example.com */
  publicUrl: string
  /** true when publicUrl is https: Secure cookies with the __Host- prefix, and HSTS */
  secure: boolean
  /** the API for server-to-server calls */
  apiUrl: string
  /** the API as the browser reaches it (the /auth/github redirect) */
  apiPublicUrl: string
  apiTimeoutMs: number
  clientId: string
  clientSecret: string
  /** 32 bytes: encrypts tokens at rest and the login/flash cookies */
  sessionKey: Buffer
  /** true when no PORTAL_SESSION_KEY was configured and a random one is in use */
  sessionKeyGenerated: boolean
  sessionIdleMs: number
  sessionAbsoluteMs: number
  /** refresh the API access token when it expires within this many ms */
  refreshMarginMs: number
  /** how long this process reuses a session row it has read (0 = read it on every request) */
  sessionCacheMs: number
  uploadLimitBytes: number
  timeouts: {
    /** the whole request (headers and body) must arrive within this (408 otherwise) */
    requestMs: number
    /** the request headers must arrive within this (408 otherwise); at most requestMs */
    headersMs: number
    /** a connection with no traffic either way for this long is closed (a stalled reader, a dead client) */
    connectionMs: number
    /** how long an idle keep-alive connection stays open between requests */
    keepAliveMs: number
  }
  logLevel: string
  logFormat: LogFormat
  trustProxy: boolean | number | string[]
  databaseUrl: string | undefined
  dataDir: string
  dbPoolMax: number
  dbStatementTimeoutMs: number
}


function decodeKey(value: string): Buffer {
  const key = /^[0-9a-fA-F]{64}$/.test(value) ? Buffer.from(value, 'hex') : Buffer.from(value, 'base64url')
  if (key.length !== 32) throw new Error('invalid configuration:\n  PORTAL_SESSION_KEY: must be 32 bytes (64 hex digits or base64)')
  return key
}

export function loadPortalConfig(env: Record<string, string | undefined> = processEnv()): PortalConfig {
  const e = parseEnv(PortalEnvSchema, env)
  const production = e.DEPLOYMENT_ENV === 'production'
  const missing: string[] = []
  if (production && !e.PORTAL_CLIENT_SECRET) missing.push('  PORTAL_CLIENT_SECRET: required in production')
  if (production && !e.PORTAL_SESSION_KEY) missing.push('  PORTAL_SESSION_KEY: required in production')
  const publicUrl = e.PORTAL_PUBLIC_URL.replace(/\/$/, '')
  if (production && !publicUrl.startsWith('https://')) missing.push('  PORTAL_PUBLIC_URL: must be https in production')
  if (e.PORTAL_HEADERS_TIMEOUT_MS > e.PORTAL_REQUEST_TIMEOUT_MS) missing.push('  PORTAL_HEADERS_TIMEOUT_MS: must not exceed PORTAL_REQUEST_TIMEOUT_MS')
  if (missing.length > 0) throw new Error(`invalid configuration:\n${missing.join('\n')}`)
  const apiUrl = e.API_URL.replace(/\/$/, '')
  return {
    deployment: e.DEPLOYMENT_ENV,
    host: e.PORTAL_HOST,
    port: e.PORTAL_PORT,
    publicUrl,
    secure: publicUrl.startsWith('https://'),
    apiUrl,
    apiPublicUrl: (e.API_PUBLIC_URL ?? apiUrl).replace(/\/$/, ''),
    apiTimeoutMs: e.API_TIMEOUT_MS,
    clientId: e.PORTAL_CLIENT_ID,
    clientSecret: e.PORTAL_CLIENT_SECRET ?? DEV_PORTAL_CLIENT_SECRET,
    sessionKey: e.PORTAL_SESSION_KEY ? decodeKey(e.PORTAL_SESSION_KEY) : randomBytes(32),
    sessionKeyGenerated: !e.PORTAL_SESSION_KEY,
    sessionIdleMs: e.PORTAL_SESSION_IDLE_MINUTES * 60_000,
    sessionAbsoluteMs: e.PORTAL_SESSION_ABSOLUTE_HOURS * 3_600_000,
    refreshMarginMs: e.PORTAL_REFRESH_MARGIN_SECONDS * 1000,
    sessionCacheMs: e.PORTAL_SESSION_CACHE_MS,
    uploadLimitBytes: e.PORTAL_UPLOAD_LIMIT_BYTES,
    timeouts: {
      requestMs: e.PORTAL_REQUEST_TIMEOUT_MS,
      headersMs: e.PORTAL_HEADERS_TIMEOUT_MS,
      connectionMs: e.PORTAL_CONNECTION_TIMEOUT_MS,
      keepAliveMs: e.PORTAL_KEEP_ALIVE_TIMEOUT_MS,
    },
    logLevel: e.LOG_LEVEL,
    logFormat: e.LOG_FORMAT,
    trustProxy: parseTrustProxy(e.TRUST_PROXY),
    databaseUrl: e.DATABASE_URL,
    dataDir: e.DATA_DIR,
    dbPoolMax: e.DB_POOL_MAX,
    dbStatementTimeoutMs: e.DB_STATEMENT_TIMEOUT_MS,
  }
}
