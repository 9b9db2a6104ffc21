import type { FastifyRequest } from 'fastify'
import type { PersonalAccessTokenService, PresentedToken } from '../services/personal-access-tokens.ts'
import { requestContext } from './client-ip.ts'

const resolved = new WeakMap<FastifyRequest, Promise<PresentedToken>>()

/**
 * The request's personal access token, looked up once per request (the rate limiter keys on its
 * user, the auth hook then uses the same result, and the use is recorded once).
 */
export function resolvePersonalAccessToken(
  request: FastifyRequest,
  service: PersonalAccessTokenService,
  token: string,
): Promise<PresentedToken> {
  let result = resolved.get(request)
  if (!result) {
    result = service.authenticate(token, requestContext(request))
    resolved.set(request, result)
  }
  return result
}
