import { SafeText } from '../../../contract/text.ts'
import { Type } from 'typebox'
import { DEVICE_CODE_GRANT_TYPE } from '../../../contract/device.ts'

/** The user summary that comes with a login (contract §5, grader shortcut), plus the email. */
export const TokenUserSchema = Type.Object({
  id: Type.String(),
  github_id: Type.Integer(),
  username: Type.String(),
  email: Type.Union([Type.String(), Type.Null()]),
  role: Type.Union([Type.Literal('admin'), Type.Literal('analyst')]),
})

export const TokenResponseSchema = Type.Object({
  status: Type.Literal('success'),
  access_token: Type.String({ description: 'JWT (HS256, typ at+jwt); send as Authorization: Bearer' }),
  refresh_token: Type.String({ description: 'opaque, single use; rotate at POST /auth/refresh' }),
  token_type: Type.Literal('Bearer'),
  expires_in: Type.Integer({ description: 'seconds the access token lives' }),
  refresh_expires_in: Type.Integer({ description: 'seconds the refresh token stays usable if not rotated' }),
  user: Type.Optional(TokenUserSchema),
})

export const AuthorizeQuerySchema = Type.Object(
  {
    client_id: Type.Optional(SafeText({ description: 'insighta-portal or insighta-cli; omit all five for a plain login' })),
    redirect_uri: Type.Optional(
      SafeText({ description: "the client's registered redirect: the portal's exact URI, or http://127.0.0.1:<port>/callback" }),
    ),
    state: Type.Optional(SafeText({ description: "the client's own state, returned unchanged" })),
    code_challenge: Type.Optional(SafeText({ description: 'BASE64URL(SHA256(code_verifier)), 43 characters' })),
    code_challenge_method: Type.Optional(SafeText({ description: 'must be S256' })),
  },
  { additionalProperties: true },
)

export const CallbackQuerySchema = Type.Object(
  {
    code: Type.Optional(SafeText()),
    state: Type.Optional(SafeText()),
    error: Type.Optional(SafeText()),
    error_description: Type.Optional(SafeText()),
  },
  { additionalProperties: true },
)

export const CallbackBodySchema = Type.Object(
  {
    code: Type.Optional(SafeText({ description: 'GitHub code, or test_code / analyst_test_code when enabled' })),
    state: Type.Optional(SafeText()),
    error: Type.Optional(SafeText()),
  },
  { additionalProperties: true },
)

export const TokenBodySchema = Type.Object(
  {
    grant_type: Type.Optional(
      Type.Union([Type.Literal('authorization_code'), Type.Literal('refresh_token'), Type.Literal(DEVICE_CODE_GRANT_TYPE)], {
        description: `authorization_code (default), refresh_token, or ${DEVICE_CODE_GRANT_TYPE} (with device_code and client_id)`,
      }),
    ),
    device_code: Type.Optional(SafeText({ description: 'the device grant: the device_code from POST /auth/device/code' })),
    code: Type.Optional(SafeText()),
    code_verifier: Type.Optional(SafeText()),
    redirect_uri: Type.Optional(SafeText()),
    client_id: Type.Optional(SafeText()),
    client_secret: Type.Optional(SafeText({ description: 'insighta-portal only (or HTTP Basic, or X-Portal-Client-Secret)' })),
    refresh_token: Type.Optional(SafeText()),
    refreshToken: Type.Optional(SafeText()),
  },
  { additionalProperties: true },
)

export const RefreshBodySchema = Type.Object(
  {
    refresh_token: Type.Optional(SafeText()),
    refreshToken: Type.Optional(SafeText({ description: 'camelCase alias of refresh_token' })),
  },
  { additionalProperties: true },
)

export const MessageSchema = Type.Object({ status: Type.Literal('success'), message: Type.String() })

/** 400 of POST /auth/token: the contract's envelope; the device grant adds RFC 6749 §5.2 `error`. */
export const TokenErrorSchema = Type.Object({
  status: Type.Literal('error'),
  message: Type.String(),
  error: Type.Optional(Type.String({ description: 'device grant only: authorization_pending, slow_down, access_denied, expired_token, invalid_grant …' })),
  error_description: Type.Optional(Type.String()),
})

export const LogoutAllBodySchema = Type.Object(
  { revoke_tokens: Type.Optional(Type.Boolean({ description: 'also revoke every personal access token of the user' })) },
  { additionalProperties: true },
)

export const LogoutAllResponseSchema = Type.Object({
  status: Type.Literal('success'),
  message: Type.String(),
  revoked: Type.Integer({ description: 'sessions ended' }),
  tokens_revoked: Type.Integer({ description: 'personal access tokens revoked (only with revoke_tokens)' }),
  tokens_remaining: Type.Integer({ description: 'personal access tokens still live after this call' }),
})
