import { deriveKey, seal, unseal } from '../platform/crypto.ts'

/** What a sealed value is for; each purpose has its own key and is bound in as associated data. */
export type SealPurpose = 'api-token' | 'login-attempt' | 'flash'

const PURPOSES: readonly SealPurpose[] = ['api-token', 'login-attempt', 'flash']
/** Longer than any cookie the portal sets: refused before it is decoded. */
const MAX_COOKIE_LENGTH = 8192

/**
 * The portal's secrets at rest (API tokens in the session row) and in cookies (the login attempt,
 * flash messages), sealed with platform/crypto.ts under one key per purpose, derived from the
 * portal's session key. A value in any other format (an older one, another key) does not open:
 * callers treat it as absent, which for a session means signed out.
 */
export class SecretBox {
  private readonly keys: Record<SealPurpose, Buffer>

  constructor(masterKey: Buffer) {
    if (masterKey.length !== 32) throw new Error('the session key must be 32 bytes')
    const derive = (purpose: SealPurpose) => deriveKey(masterKey, '', `insighta-portal:${purpose}`)
    this.keys = Object.fromEntries(PURPOSES.map((p) => [p, derive(p)])) as Record<SealPurpose, Buffer>
  }

  /** For a bytea column. */
  seal(purpose: SealPurpose, plaintext: string): Buffer {
    return Buffer.from(seal(this.keys[purpose], plaintext, purpose), 'utf8')
  }

  /** The plaintext, or undefined when the value was not sealed by this key for this purpose. */
  open(purpose: SealPurpose, sealed: Buffer): string | undefined {
    if (sealed.length > MAX_COOKIE_LENGTH) return undefined
    return unseal(this.keys[purpose], sealed.toString('utf8'), purpose)
  }

  /** A sealed JSON value as a cookie-safe string. */
  sealJson(purpose: SealPurpose, value: unknown): string {
    return seal(this.keys[purpose], JSON.stringify(value), purpose)
  }

  openJson(purpose: SealPurpose, cookie: string | undefined): unknown {
    if (!cookie || cookie.length > MAX_COOKIE_LENGTH) return undefined
    const text = unseal(this.keys[purpose], cookie, purpose)
    if (text === undefined) return undefined
    try {
      return JSON.parse(text) as unknown
    } catch {
      return undefined
    }
  }
}
