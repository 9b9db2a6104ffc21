import { createHmac, createSecretKey, timingSafeEqual, type KeyObject } from 'node:crypto'
import { SignJWT } from 'jose'
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

function claimsOf(payload: Record<string, unknown>): AccessClaims | undefined {
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
  /** Built once: importing a key per request was most of the old verification's cost. */
  private readonly verificationKeys: KeyObject[]
  /**
   * Tokens already found authentic (signature, header, claims, issuer, audience: all fixed for a
   * given token and these keys), with what the time checks need, so a token presented again costs a
   * map lookup and its time checks instead of an HMAC and two JSON parses. Only tokens that passed
   * go in; bounded, oldest first out.
   */
  private readonly authentic = new Map<string, { claims: AccessClaims; nbf: number | undefined }>()

  constructor(
    private readonly config: AuthConfig,
    private readonly clock: Clock,
    private readonly random: RandomBytes,
  ) {
    const encoder = new TextEncoder()
    this.signingKey = encoder.encode(config.jwtSecret)
    this.verificationKeys = [createSecretKey(Buffer.from(config.jwtSecret, 'utf8'))]
    if (config.jwtPreviousSecret) this.verificationKeys.push(createSecretKey(Buffer.from(config.jwtPreviousSecret, 'utf8')))
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

  /**
   * Synchronous HS256 verification with node:crypto (a few microseconds: this runs on every request).
   * The header must be exactly HS256 with `typ: at+jwt` and no `crit`; the signature is compared in
   * constant time against the current key, then the previous one; only then are the claims read, in
   * the order jose checks them (typ, required claims, iss, aud, then the times), so `expiredClaims`
   * is set only for a token that is authentic and right in every other respect.
   */
  verify(token: string): VerifiedAccessToken {
    const known = this.authentic.get(token)
    if (known) return this.timely(known.claims, known.nbf)
    if (token.length > MAX_TOKEN_LENGTH) return { ok: false, reason: 'token too long' }
    const firstDot = token.indexOf('.')
    const secondDot = firstDot < 0 ? -1 : token.indexOf('.', firstDot + 1)
    if (secondDot < 0 || token.indexOf('.', secondDot + 1) >= 0) return { ok: false, reason: 'not a compact JWS' }
    const encodedHeader = token.slice(0, firstDot)
    const encodedPayload = token.slice(firstDot + 1, secondDot)
    const signature = token.slice(secondDot + 1)
    if (!BASE64URL.test(encodedHeader) || !BASE64URL.test(encodedPayload) || !BASE64URL.test(signature))
      return { ok: false, reason: 'not base64url' }
    const header = parseJsonObject(encodedHeader)
    if (!header) return { ok: false, reason: 'malformed header' }
    if (header.alg !== ALGORITHM) return { ok: false, reason: 'algorithm not allowed' }
    if (header.typ !== ACCESS_TOKEN_TYP) return { ok: false, reason: 'wrong typ' }
    if (header.crit !== undefined || header.b64 !== undefined) return { ok: false, reason: 'unsupported header' }
    const signed = token.slice(0, secondDot)
    if (!this.verificationKeys.some((key) => signatureMatches(key, signed, signature))) return { ok: false, reason: 'bad signature' }
    const payload = parseJsonObject(encodedPayload)
    if (!payload) return { ok: false, reason: 'malformed claims' }
    const claims = claimsOf(payload)
    if (!claims) return { ok: false, reason: 'malformed claims' }
    if (payload.iss !== this.config.jwtIssuer) return { ok: false, reason: 'wrong issuer' }
    const aud = payload.aud
    if (aud !== this.config.jwtAudience && !(Array.isArray(aud) && aud.includes(this.config.jwtAudience)))
      return { ok: false, reason: 'wrong audience' }
    const nbf = payload.nbf
    if (nbf !== undefined && typeof nbf !== 'number') return { ok: false, reason: 'not yet valid' }
    if (this.authentic.size >= MAX_AUTHENTIC_TOKENS) this.authentic.delete(this.authentic.keys().next().value as string)
    this.authentic.set(token, { claims, nbf })
    return this.timely(claims, nbf)
  }

  /** The checks that depend on the time: nbf, iat and exp, with the clock tolerance. */
  private timely(claims: AccessClaims, nbf: number | undefined): VerifiedAccessToken {
    const now = Math.floor(this.clock() / 1000)
    if (nbf !== undefined && nbf > now + CLOCK_TOLERANCE_SECONDS) return { ok: false, reason: 'not yet valid' }
    if (claims.iat > now + CLOCK_TOLERANCE_SECONDS) return { ok: false, reason: 'issued in the future' }
    if (claims.exp <= now - CLOCK_TOLERANCE_SECONDS || now - claims.iat > this.config.accessTokenTtlSeconds + CLOCK_TOLERANCE_SECONDS)
      return { ok: false, reason: 'expired', expiredClaims: claims }
    return { ok: true, claims }
  }
}

/** Authentic tokens remembered per instance (~1 KB each). */
const MAX_AUTHENTIC_TOKENS = 4096

/** Far above any token this API signs (~400 characters); refuses a megabyte header before any work. */
export const MAX_TOKEN_LENGTH = 4096
const BASE64URL = /^[A-Za-z0-9_-]+$/

function parseJsonObject(encoded: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(encoded, 'base64url').toString('utf8'))
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined
  } catch {
    return undefined
  }
}

/**
 * Compares base64url strings, not decoded bytes: Buffer's decoder ignores stray trailing bits, so a
 * decoded comparison would accept several spellings of one signature.
 */
function signatureMatches(key: KeyObject, signed: string, signature: string): boolean {
  const expected = Buffer.from(createHmac('sha256', key).update(signed).digest('base64url'))
  const presented = Buffer.from(signature)
  return expected.length === presented.length && timingSafeEqual(expected, presented)
}
