import { SafeText } from './text.ts'
import { Type, type Static } from 'typebox'

/** RFC 8628 §3.4: the grant type the CLI polls `POST /auth/token` with. */
export const DEVICE_CODE_GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:device_code'

/** RFC 8628 §6.1: consonants only, no look-alikes (no vowels, so no words; no 0/O, 1/I/L confusion). */
export const USER_CODE_ALPHABET = 'BCDFGHJKLMNPQRSTVWXZ'
export const USER_CODE_LENGTH = 8

/**
 * A user code as typed: case-, space- and dash-insensitive. Returns the canonical 8 letters, or
 * undefined when the input cannot be a user code.
 */
export function normaliseUserCode(input: string): string | undefined {
  if (input.length > 64) return undefined
  const code = input.toUpperCase().replace(/[\s-]/g, '')
  if (code.length !== USER_CODE_LENGTH) return undefined
  for (const ch of code) if (!USER_CODE_ALPHABET.includes(ch)) return undefined
  return code
}

/** How a user code is shown: `WDJB-MJHT`. */
export function formatUserCode(code: string): string {
  return `${code.slice(0, 4)}-${code.slice(4)}`
}

/** RFC 8628 §3.5 (and RFC 6749 §5.2) error codes of the device grant at `POST /auth/token`. */
export type DeviceGrantError =
  | 'authorization_pending'
  | 'slow_down'
  | 'access_denied'
  | 'expired_token'
  | 'invalid_grant'
  | 'invalid_request'
  | 'invalid_client'

/** Errors of the device endpoints: the contract's envelope plus the RFC's `error` code. */
export const DeviceErrorSchema = Type.Object({
  status: Type.Literal('error'),
  message: Type.String(),
  error: Type.String({ description: 'authorization_pending, slow_down, access_denied, expired_token, invalid_grant, invalid_request, invalid_client' }),
  error_description: Type.String(),
})

export const DeviceCodeBodySchema = Type.Object(
  { client_id: Type.Optional(SafeText({ description: 'insighta-cli' })) },
  { additionalProperties: true },
)

export const DeviceCodeResponseSchema = Type.Object({
  status: Type.Literal('success'),
  device_code: Type.String({ description: 'secret, for polling POST /auth/token; single use' }),
  user_code: Type.String({ description: 'shown to the user, e.g. WDJB-MJHT (case- and dash-insensitive)' }),
  verification_uri: Type.String({ description: "the portal's /device page" }),
  verification_uri_complete: Type.String({ description: 'verification_uri with the user code filled in' }),
  expires_in: Type.Integer({ description: 'seconds both codes live' }),
  interval: Type.Integer({ description: 'seconds to wait between polls' }),
})

const Timestamp = Type.String({ description: 'UTC, YYYY-MM-DDTHH:MM:SSZ' })

/** What the approving user is shown about a pending request. */
export const DeviceRequestSchema = Type.Object({
  user_code: Type.String(),
  client_id: Type.String(),
  client_name: Type.String(),
  created_at: Timestamp,
  expires_at: Timestamp,
  ip: Type.Union([Type.String(), Type.Null()], { description: 'the address the device asked from' }),
  user_agent: Type.Union([Type.String(), Type.Null()], { description: 'the device’s user agent' }),
})
export type DeviceRequestJson = Static<typeof DeviceRequestSchema>

export const DeviceLookupQuerySchema = Type.Object(
  { user_code: Type.Optional(SafeText()) },
  { additionalProperties: true },
)

export const UserCodeBodySchema = Type.Object(
  { user_code: SafeText({ description: 'as typed: WDJB-MJHT, wdjbmjht …' }) },
  { additionalProperties: true },
)

export const DeviceRequestResponseSchema = Type.Object({ status: Type.Literal('success'), data: DeviceRequestSchema })
export const DeviceDecisionResponseSchema = Type.Object({
  status: Type.Literal('success'),
  message: Type.String(),
  data: DeviceRequestSchema,
})
