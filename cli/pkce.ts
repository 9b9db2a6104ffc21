import { createHash, randomBytes } from 'node:crypto'

export interface PkcePair {
  /** 43 base64url characters from 32 CSPRNG bytes: the minimum length RFC 7636 allows, full entropy */
  verifier: string
  /** BASE64URL(SHA-256(verifier)): the only method the API accepts */
  challenge: string
}

export function createPkcePair(): PkcePair {
  const verifier = randomBytes(32).toString('base64url')
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') }
}

/** Binds the browser's answer to this login: a callback without it was not started by us. */
export function createState(): string {
  return randomBytes(32).toString('base64url')
}
