import { createCipheriv, createDecipheriv, createHash, hkdfSync, timingSafeEqual } from 'node:crypto'
import type { RandomBytes } from './clock.ts'

/** A new opaque secret of `bytes` random bytes, base64url (32 bytes = 256 bits = 43 characters). */
export function newSecret(random: RandomBytes, bytes = 32): string {
  return random(bytes).toString('base64url')
}

/** How secrets are stored: a SHA-256 hex digest (the secrets are high-entropy, so no salt or stretching). */
export function sha256Hex(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex')
}

/**
 * Constant-time string equality. Both sides are hashed first, so neither the length nor the position of
 * the first difference leaks through timing.
 */
export function safeEqual(a: string, b: string): boolean {
  const da = createHash('sha256').update(a, 'utf8').digest()
  const db = createHash('sha256').update(b, 'utf8').digest()
  return timingSafeEqual(da, db) && a.length === b.length
}

/** RFC 7636 S256: BASE64URL(SHA256(ASCII(code_verifier))). */
export function s256Challenge(verifier: string): string {
  return createHash('sha256').update(verifier, 'ascii').digest('base64url')
}

/** RFC 7636 §4.1: 43–128 unreserved characters. */
export const CODE_VERIFIER_PATTERN = /^[A-Za-z0-9\-._~]{43,128}$/
/** An S256 challenge is a base64url SHA-256 digest: exactly 43 characters. */
export const S256_CHALLENGE_PATTERN = /^[A-Za-z0-9_-]{43}$/

const SEAL_VERSION = 'v1'

function sealKey(secret: string): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, 'insighta-refresh-retry', 'seal refresh successor v1', 32))
}

/**
 * AES-256-GCM under keys derived from the token-signing secrets: how a rotated refresh token's
 * successor is kept for the short retry window without storing a usable token in the database.
 * The current key seals; the previous one (during secret rotation) can still open.
 */
export class Sealer {
  private readonly keys: Buffer[]

  constructor(
    secrets: readonly (string | undefined)[],
    private readonly random: RandomBytes,
  ) {
    this.keys = secrets.filter((s): s is string => typeof s === 'string' && s !== '').map(sealKey)
    if (this.keys.length === 0) throw new Error('Sealer needs at least one secret')
  }

  seal(plaintext: string, associated: string): string {
    const iv = this.random(12)
    const cipher = createCipheriv('aes-256-gcm', this.keys[0], iv)
    cipher.setAAD(Buffer.from(associated, 'utf8'))
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()])
    const tag = cipher.getAuthTag()
    return [SEAL_VERSION, iv.toString('base64url'), body.toString('base64url'), tag.toString('base64url')].join('.')
  }

  /** The plaintext, or undefined when no key opens it (tampered, or sealed under a retired secret). */
  open(sealed: string, associated: string): string | undefined {
    const [version, iv, body, tag] = sealed.split('.')
    if (version !== SEAL_VERSION || !iv || !body || !tag) return undefined
    for (const key of this.keys) {
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'))
        decipher.setAAD(Buffer.from(associated, 'utf8'))
        decipher.setAuthTag(Buffer.from(tag, 'base64url'))
        return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8')
      } catch {
        // try the next key
      }
    }
    return undefined
  }
}
