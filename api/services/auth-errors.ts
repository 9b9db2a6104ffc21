import { ApiError } from '../errors.ts'

export const REALM = 'insighta'

/**
 * 401 with the RFC 6750 challenge the contract requires: `Bearer realm="insighta"`, plus
 * `error="invalid_token"` when the caller did present a token (or other credential) and it failed.
 */
export function unauthorized(message: string, credentialSent: boolean): ApiError {
  const challenge = credentialSent ? `Bearer realm="${REALM}", error="invalid_token"` : `Bearer realm="${REALM}"`
  return new ApiError(401, message, { 'www-authenticate': challenge })
}

export const forbidden = (message = 'Forbidden: your role does not allow this') => new ApiError(403, message)

export const SUSPENDED_MESSAGE = 'Your account has been suspended by an administrator'
export const accountSuspended = () => new ApiError(403, SUSPENDED_MESSAGE)
