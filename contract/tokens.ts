import { SafeText } from './text.ts'
import { Type, type Static } from 'typebox'

/** Every personal access token starts with this, so secret scanners can recognise a leaked one. */
export const PAT_PREFIX = 'insighta_pat_'

/** `read`: list, search, export, stats, own account. `admin`: everything an admin may do (admins only). */
export const TOKEN_SCOPES = ['read', 'admin'] as const
export type TokenScope = (typeof TOKEN_SCOPES)[number]

export const MAX_TOKEN_NAME_LENGTH = 100

export function isTokenScope(value: unknown): value is TokenScope {
  return value === 'read' || value === 'admin'
}

/** Whether a Bearer credential is a personal access token (rather than a JWT access token). */
export function isPersonalAccessToken(token: string): boolean {
  return token.startsWith(PAT_PREFIX)
}

const Timestamp = Type.String({ description: 'UTC, YYYY-MM-DDTHH:MM:SSZ' })
const ScopeSchema = Type.Union([Type.Literal('read'), Type.Literal('admin')])

/**
 * `POST /api/users/me/tokens`. Types are checked here (wrong type → 422); values (blank name, expiry
 * outside 1…max, unknown scope) by the service, with messages that say which.
 */
export const CreateTokenBodySchema = Type.Object(
  {
    name: SafeText({ description: `1–${MAX_TOKEN_NAME_LENGTH} printable characters` }),
    expires_in_days: Type.Optional(Type.Integer({ description: 'default 30; at most PAT_MAX_EXPIRY_DAYS (90 by default)' })),
    scopes: Type.Optional(Type.Array(SafeText(), { description: 'read (default) and/or admin (admins only)' })),
  },
  { additionalProperties: true },
)
export type CreateTokenBody = Static<typeof CreateTokenBodySchema>

/** A token's metadata: never its secret. */
export const TokenSchema = Type.Object({
  id: Type.String({ format: 'uuid' }),
  name: Type.String(),
  scopes: Type.Array(ScopeSchema),
  created_at: Timestamp,
  expires_at: Timestamp,
  expired: Type.Boolean(),
  last_used_at: Type.Union([Timestamp, Type.Null()]),
  last_used_ip: Type.Union([Type.String(), Type.Null()], { description: 'where it was last used from' }),
  last_used_user_agent: Type.Union([Type.String(), Type.Null()]),
})
export type TokenJson = Static<typeof TokenSchema>

export const CreatedTokenSchema = Type.Object({
  status: Type.Literal('success'),
  token: Type.String({ description: `the secret, ${PAT_PREFIX}…; shown this once, stored only as a hash` }),
  data: TokenSchema,
})

export const TokenListSchema = Type.Object({ status: Type.Literal('success'), data: Type.Array(TokenSchema) })

export const OneTokenSchema = Type.Object({ status: Type.Literal('success'), data: TokenSchema })
