import { errors as joseErrors, jwtVerify, SignJWT, type JWTPayload } from 'jose'
import type { AuthConfig } from '../config.ts'
import type { Role } from '../../contract/roles.ts'
import { newSecret } from './auth-crypto.ts'
import type { Clock, RandomBytes } from './clock.ts'

/** The JOSE `typ` of access tokens (RFC 9068), so no other JWT signed with the same key passes. */
export const ACCESS_TOKEN_TYP = 'at+jwt'
const ALGORITHM = 'HS256'
/** Seconds of clock skew tolerated between API instances. */
const CLOCK_TOLERANCE_SECONDS = 5

export interface AccessClaims {
  sub: string
  role: Role
  sid: string
  jti: string
  iat: number
  exp: number
}

export type VerifiedAccessToken =
  | { ok: true; claims: AccessClaims }
  /** `expiredClaims` is set only when the signature and every other check passed but the token expired. */
  | { ok: false; reason: string; expiredClaims?: AccessClaims }

function isRole(value: unknown): value is Role {
  return value === 'admin' || value === 'analyst'
}

function claimsOf(payload: JWTPayload): AccessClaims | undefined {
  const { sub, sid, jti, iat, exp } = payload
  const role = payload.role
  if (typeof sub !== 'string' || typeof sid !== 'string' || typeof jti !== 'string') return undefined
  if (typeof iat !== 'number' || typeof exp !== 'number' || !isRole(role)) return undefined
  return { sub, sid, jti, iat, exp, role }
}

/**
 * Short-lived JWT access tokens: HS256 pinned (no `alg: none`, no algorithm confusion), `iss`, `aud`
 * and `typ` checked, a maximum age enforced from `iat` (so a token "issued in the future" fails too).
 * During a secret rotation the previous secret still verifies; only the current one signs.
 */
export class AccessTokens {
  private readonly signingKey: Uint8Array
  private readonly verificationKeys: Uint8Array[]

  constructor(
    private readonly config: AuthConfig,
    private readonly clock: Clock,
    private readonly random: RandomBytes,
  ) {
    const encoder = new TextEncoder()
    this.signingKey = encoder.encode(config.jwtSecret)
    this.verificationKeys = [this.signingKey]
    if (config.jwtPreviousSecret) this.verificationKeys.push(encoder.encode(config.jwtPreviousSecret))
  }

  get ttlSeconds(): number {
    return this.config.accessTokenTtlSeconds
  }

  async sign(subject: { userId: string; role: Role; sessionId: string }): Promise<string> {
    const now = Math.floor(this.clock() / 1000)
    return new SignJWT({ role: subject.role, sid: subject.sessionId })
      .setProtectedHeader({ alg: ALGORITHM, typ: ACCESS_TOKEN_TYP })
      .setIssuer(this.config.jwtIssuer)
      .setAudience(this.config.jwtAudience)
      .setSubject(subject.userId)
      .setJti(newSecret(this.random, 16))
      .setIssuedAt(now)
      .setNotBefore(now)
      .setExpirationTime(now + this.config.accessTokenTtlSeconds)
      .sign(this.signingKey)
  }

  async verify(token: string): Promise<VerifiedAccessToken> {
    let lastReason = 'invalid token'
    for (const key of this.verificationKeys) {
      try {
        const { payload } = await jwtVerify(token, key, {
          algorithms: [ALGORITHM],
          issuer: this.config.jwtIssuer,
          audience: this.config.jwtAudience,
          typ: ACCESS_TOKEN_TYP,
          requiredClaims: ['sub', 'sid', 'jti', 'iat', 'exp', 'role'],
          maxTokenAge: this.config.accessTokenTtlSeconds,
          clockTolerance: CLOCK_TOLERANCE_SECONDS,
          currentDate: new Date(this.clock()),
        })
        const claims = claimsOf(payload)
        return claims ? { ok: true, claims } : { ok: false, reason: 'malformed claims' }
      } catch (error) {
        if (error instanceof joseErrors.JWSSignatureVerificationFailed) {
          lastReason = 'bad signature'
          continue // maybe signed with the other key
        }
        if (error instanceof joseErrors.JWTExpired) {
          return { ok: false, reason: 'expired', expiredClaims: claimsOf(error.payload) }
        }
        return { ok: false, reason: error instanceof joseErrors.JOSEError ? error.code : 'invalid token' }
      }
    }
    return { ok: false, reason: lastReason }
  }
}
