import type { FastifyRequest } from 'fastify'
import type { AccessTokens, VerifiedAccessToken } from '../services/access-tokens.ts'

export interface PresentedBearer {
  /** an Authorization header was sent (so a 401 says error="invalid_token") */
  sent: boolean
  /** the token of a well-formed `Bearer <token>` header */
  token: string | undefined
}

const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i

export function presentedBearer(request: FastifyRequest): PresentedBearer {
  const value = request.headers.authorization
  if (value === undefined || value === '') return { sent: false, token: undefined }
  const match = BEARER.exec(value)
  return { sent: true, token: match?.[1] }
}

const verified = new WeakMap<FastifyRequest, VerifiedAccessToken>()

/**
 * The request's access token, verified once per request (the rate limiter keys on its subject, the
 * auth hook then uses the same result). Signature and claims only: session liveness is the auth hook's.
 */
export function verifyBearer(request: FastifyRequest, tokens: AccessTokens, token: string): VerifiedAccessToken {
  let result = verified.get(request)
  if (!result) {
    result = tokens.verify(token)
    verified.set(request, result)
  }
  return result
}
