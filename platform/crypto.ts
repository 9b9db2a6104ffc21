/**
 * The product's one set of crypto helpers, for the API and the portal: sealing (authenticated
 * encryption of a secret at rest or in a cookie), SHA-256 digests of high-entropy secrets, a
 * constant-time comparison and the PKCE S256 challenge. Only node:crypto, no Fastify.
 */
import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto'

/** The sealed format's version: the first field of every sealed value. */
export const SEAL_VERSION = 'v1'
const IV_BYTES = 12
const TAG_BYTES = 16

/** A 32-byte key for `seal`, derived with HKDF-SHA256 from a secret (a key, or a high-entropy string). */
export function deriveKey(secret: string | Buffer, salt: string, info: string): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, salt, info, 32))
}

/**
 * AES-256-GCM: `v1.<iv>.<ciphertext>.<tag>`, each part base64url (so the value fits a cookie or a
 * text column). `associated` is authenticated but not stored: a value sealed for one purpose does
 * not open as another. `iv` is for tests and injected randomness; by default 12 fresh random bytes.
 */
export function seal(key: Buffer, plaintext: string, associated: string, iv: Buffer = randomBytes(IV_BYTES)): string {
  if (key.length !== 32) throw new Error('a seal key is 32 bytes')
  if (iv.length !== IV_BYTES) throw new Error('a seal IV is 12 bytes')
  const cipher = createCipheriv('aes-256-gcm', key, iv)
  cipher.setAAD(Buffer.from(associated, 'utf8'))
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()])
  return [SEAL_VERSION, iv.toString('base64url'), body.toString('base64url'), cipher.getAuthTag().toString('base64url')].join('.')
}

const SEALED = /^v1\.([A-Za-z0-9_-]{16})\.([A-Za-z0-9_-]*)\.([A-Za-z0-9_-]{22})$/

/**
 * The plaintext, or undefined when the value is not in the sealed format, was tampered with, or
 * none of `keys` (the current one first, then retired ones during a rotation) opens it.
 */
export function unseal(keys: Buffer | readonly Buffer[], sealed: string, associated: string): string | undefined {
  const parts = SEALED.exec(sealed)
  if (!parts) return undefined
  const iv = Buffer.from(parts[1], 'base64url')
  const body = Buffer.from(parts[2], 'base64url')
  const tag = Buffer.from(parts[3], 'base64url')
  if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) return undefined
  for (const key of Array.isArray(keys) ? keys : [keys]) {
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, iv)
      decipher.setAAD(Buffer.from(associated, 'utf8'))
      decipher.setAuthTag(tag)
      return Buffer.concat([decipher.update(body), decipher.final()]).toString('utf8')
    } catch {
      // not this key: try the next one
    }
  }
  return undefined
}

/** How secrets are stored and looked up: a SHA-256 hex digest (they are high-entropy, so no salt or stretching). */
export function sha256Hex(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex')
}

/**
 * Constant-time string equality. Both sides are hashed first, so neither the length nor the
 * position of the first difference leaks through timing.
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

/** A new random value of `bytes` bytes, base64url (32 bytes = 256 bits = 43 characters). */
export function randomToken(bytes = 32): string {
  return randomBytes(bytes).toString('base64url')
}
