import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto'

/** What a sealed value is for; each purpose has its own key, so a value cannot be replayed as another. */
export type SealPurpose = 'api-token' | 'login-attempt' | 'flash'

const IV_BYTES = 12
const TAG_BYTES = 16

/**
 * AES-256-GCM with one key per purpose, derived (HKDF-SHA256) from the portal's session key.
 * GCM authenticates as well as encrypts: a tampered or foreign value fails to open.
 * Layout of a sealed value: iv (12) | tag (16) | ciphertext.
 */
export class SecretBox {
  private readonly keys: Record<SealPurpose, Buffer>

  constructor(masterKey: Buffer) {
    if (masterKey.length !== 32) throw new Error('the session key must be 32 bytes')
    const derive = (purpose: SealPurpose) =>
      Buffer.from(hkdfSync('sha256', masterKey, Buffer.alloc(0), `insighta-portal:${purpose}`, 32))
    this.keys = { 'api-token': derive('api-token'), 'login-attempt': derive('login-attempt'), flash: derive('flash') }
  }

  seal(purpose: SealPurpose, plaintext: string): Buffer {
    const iv = randomBytes(IV_BYTES)
    const cipher = createCipheriv('aes-256-gcm', this.keys[purpose], iv)
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()])
    return Buffer.concat([iv, cipher.getAuthTag(), body])
  }

  /** The plaintext, or undefined when the value was not sealed by this key for this purpose. */
  open(purpose: SealPurpose, sealed: Buffer): string | undefined {
    if (sealed.length < IV_BYTES + TAG_BYTES) return undefined
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.keys[purpose], sealed.subarray(0, IV_BYTES))
      decipher.setAuthTag(sealed.subarray(IV_BYTES, IV_BYTES + TAG_BYTES))
      return Buffer.concat([decipher.update(sealed.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8')
    } catch {
      return undefined
    }
  }

  /** A sealed JSON value as a cookie-safe string. */
  sealJson(purpose: SealPurpose, value: unknown): string {
    return this.seal(purpose, JSON.stringify(value)).toString('base64url')
  }

  openJson(purpose: SealPurpose, cookie: string | undefined): unknown {
    if (!cookie || cookie.length > 8192 || !/^[A-Za-z0-9_-]+$/.test(cookie)) return undefined
    const text = this.open(purpose, Buffer.from(cookie, 'base64url'))
    if (text === undefined) return undefined
    try {
      return JSON.parse(text) as unknown
    } catch {
      return undefined
    }
  }
}

/** A new random value of `bytes` bytes, base64url. */
export function randomToken(bytes = 32): string {
  return randomBytes(bytes).toString('base64url')
}

export function sha256Hex(value: string): string {
  return createHash('sha256').update(value).digest('hex')
}

export function pkceChallenge(verifier: string): string {
  return createHash('sha256').update(verifier).digest('base64url')
}

/** Constant-time string comparison (different lengths are simply unequal). */
export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}
