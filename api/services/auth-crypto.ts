import { deriveKey, safeEqual, s256Challenge, seal, sha256Hex, unseal } from '../../platform/crypto.ts'
import type { RandomBytes } from './clock.ts'

/** A new opaque secret of `bytes` random bytes, base64url (32 bytes = 256 bits = 43 characters). */
export function newSecret(random: RandomBytes, bytes = 32): string {
  return random(bytes).toString('base64url')
}

export { safeEqual, s256Challenge, sha256Hex }

/** RFC 7636 §4.1: 43–128 unreserved characters. */
export const CODE_VERIFIER_PATTERN = /^[A-Za-z0-9\-._~]{43,128}$/
/** An S256 challenge is a base64url SHA-256 digest: exactly 43 characters. */
export const S256_CHALLENGE_PATTERN = /^[A-Za-z0-9_-]{43}$/

function sealKey(secret: string): Buffer {
  return deriveKey(secret, 'insighta-refresh-retry', 'seal refresh successor v1')
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
    return seal(this.keys[0], plaintext, associated, this.random(12))
  }

  /** The plaintext, or undefined when no key opens it (tampered, or sealed under a retired secret). */
  open(sealed: string, associated: string): string | undefined {
    return unseal(this.keys, sealed, associated)
  }
}
