import rateLimit, { type FastifyRateLimitStore, type FastifyRateLimitStoreCtor } from '@fastify/rate-limit'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { Redis } from 'ioredis'
import { ApiError } from '../errors.ts'
import type { AccessTokens } from '../services/access-tokens.ts'
import type { Clock } from '../services/clock.ts'
import { presentedBearer, verifyBearer } from './bearer.ts'
import { isPersonalAccessToken } from '../../contract/tokens.ts'
import type { PersonalAccessTokenService } from '../services/personal-access-tokens.ts'
import { resolvePersonalAccessToken } from './personal-access-token.ts'

type IncrCallback = (error: Error | null, result?: { current: number; ttl: number }) => void

const MAX_MEMORY_KEYS = 50_000

/**
 * Fixed windows in process memory, on the injectable clock (the plugin's own store reads Date.now,
 * which tests cannot move). Keys already carry their bucket, so children share the map.
 */
function memoryStore(clock: Clock): FastifyRateLimitStoreCtor {
  const windows = new Map<string, { count: number; startedAt: number }>()
  const store: FastifyRateLimitStore = {
    incr(key: string, callback: IncrCallback, timeWindow: number) {
      const now = clock()
      let entry = windows.get(key)
      if (!entry || now - entry.startedAt >= timeWindow || now < entry.startedAt) {
        if (windows.size >= MAX_MEMORY_KEYS) {
          for (const [k, e] of windows) if (now - e.startedAt >= timeWindow) windows.delete(k)
          if (windows.size >= MAX_MEMORY_KEYS) windows.clear()
        }
        entry = { count: 0, startedAt: now }
        windows.set(key, entry)
      }
      entry.count += 1
      callback(null, { current: entry.count, ttl: entry.startedAt + timeWindow - now })
    },
    child() {
      return store
    },
  }
  return function MemoryStore() {
    return store
  } as unknown as FastifyRateLimitStoreCtor
}

const INCR_SCRIPT = `
local current = redis.call('INCR', KEYS[1])
if current == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return {current, ttl}`

/** Shared fixed windows in Redis (several API instances count together); one atomic script per hit. */
function redisStore(redis: Redis, prefix: string): FastifyRateLimitStoreCtor {
  const store: FastifyRateLimitStore = {
    incr(key: string, callback: IncrCallback, timeWindow: number) {
      redis.eval(INCR_SCRIPT, 1, `${prefix}${key}`, String(timeWindow)).then(
        (result) => {
          const [current, ttl] = result as [number, number]
          callback(null, { current, ttl })
        },
        (error: unknown) => callback(error instanceof Error ? error : new Error(String(error))),
      )
    },
    child() {
      return store
    },
  }
  return function RedisStore() {
    return store
  } as unknown as FastifyRateLimitStoreCtor
}

export interface RateLimitOptions {
  authPerWindow: number
  apiPerWindow: number
  windowMs: number
  redisUrl: string | undefined
  clock: Clock
  tokens: AccessTokens
  personalAccessTokens: PersonalAccessTokenService
}

/** Liveness and readiness probes are polled by load balancers and monitors: never limited. */
const UNLIMITED = new Set(['/health', '/healthz', '/readyz'])

function routeOf(request: FastifyRequest): string {
  return request.routeOptions.url ?? request.url.split('?')[0]
}

/**
 * Contract §5 rate limits with @fastify/rate-limit:
 * - `/auth/*`: per client address AND route (`auth:<ip>:<METHOD> <route>`), so the 11th
 *   `GET /auth/github` in a window is refused whatever else the address called. Fail closed: when
 *   the Redis store is down these answer 503 rather than run unlimited.
 * - everything else: per user (the subject of a validly signed access token) or per address when
 *   anonymous. Fail open: a store outage must not take the API down.
 * The address is `request.clientIp`: the socket, a trusted proxy's X-Forwarded-For (TRUST_PROXY), or
 * the end user named by the portal's authenticated server-to-server call.
 */
export default fp(async function rateLimits(app: FastifyInstance, opts: RateLimitOptions) {
  let redis: Redis | undefined
  if (opts.redisUrl) {
    redis = new Redis(opts.redisUrl, {
      maxRetriesPerRequest: 1,
      enableOfflineQueue: false,
      connectTimeout: 1000,
      lazyConnect: true,
    })
    redis.on('error', () => {})
    await redis.connect().catch((err: unknown) => app.log.warn({ err }, 'rate-limit store (Redis) unreachable at startup'))
    app.addHook('onClose', async () => {
      redis?.disconnect()
    })
  }
  await app.register(rateLimit, {
    global: false,
    timeWindow: opts.windowMs,
    store: redis ? redisStore(redis, 'insighta:rl:') : memoryStore(opts.clock),
  })

  const authLimiter = app.createRateLimit({
    max: opts.authPerWindow,
    timeWindow: opts.windowMs,
    skipOnError: false,
    keyGenerator: (request) => `auth:${request.clientIp}:${request.method} ${routeOf(request)}`,
  })
  const apiLimiter = app.createRateLimit({
    max: opts.apiPerWindow,
    timeWindow: opts.windowMs,
    skipOnError: true,
    keyGenerator: async (request) => {
      const bearer = presentedBearer(request)
      if (bearer.token && isPersonalAccessToken(bearer.token)) {
        const presented = await resolvePersonalAccessToken(request, opts.personalAccessTokens, bearer.token)
        return presented.ok ? `api:user:${presented.user.id}` : `api:ip:${request.clientIp}`
      }
      if (bearer.token) {
        const verified = verifyBearer(request, opts.tokens, bearer.token)
        if (verified.ok) return `api:user:${verified.claims.sub}`
      }
      return `api:ip:${request.clientIp}`
    },
  })

  app.addHook('onRequest', async (request, reply) => {
    if (request.is404 || request.method === 'OPTIONS') return
    const route = routeOf(request)
    if (UNLIMITED.has(route)) return
    const isAuth = route.startsWith('/auth/')
    let result: Awaited<ReturnType<typeof authLimiter>>
    try {
      result = await (isAuth ? authLimiter : apiLimiter)(request)
    } catch (err) {
      request.log.error({ err: { message: (err as Error).message } }, 'rate-limit store unavailable: refusing /auth request')
      throw new ApiError(503, 'Service temporarily unavailable: try again shortly', { 'retry-after': '5' })
    }
    if (result.isAllowed) return
    reply.header('x-ratelimit-limit', String(result.max))
    reply.header('x-ratelimit-remaining', String(result.remaining))
    reply.header('x-ratelimit-reset', String(result.ttlInSeconds))
    if (result.isExceeded) {
      throw new ApiError(429, 'Too many requests: rate limit exceeded, try again later', {
        'retry-after': String(Math.max(1, result.ttlInSeconds)),
      })
    }
  })
})
