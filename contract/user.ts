import { Type, type Static } from 'typebox'

const Timestamp = Type.String({ description: 'UTC, YYYY-MM-DDTHH:MM:SSZ' })

export const RoleSchema = Type.Union([Type.Literal('admin'), Type.Literal('analyst')])

/** The contract's user object (§5): exactly these nine keys. */
export const UserSchema = Type.Object({
  id: Type.String({ format: 'uuid', description: 'UUID v7' }),
  github_id: Type.Integer(),
  username: Type.String({ description: 'GitHub login' }),
  email: Type.Union([Type.String(), Type.Null()]),
  avatar_url: Type.Union([Type.String(), Type.Null()]),
  role: RoleSchema,
  is_active: Type.Boolean(),
  last_login_at: Type.Union([Timestamp, Type.Null()]),
  created_at: Timestamp,
})
export type UserJson = Static<typeof UserSchema>

/** `GET /auth/me`, `GET /api/users/me`: `data` and `user` carry the same object, existing clients read either. */
export const MeSchema = Type.Object({
  status: Type.Literal('success'),
  data: UserSchema,
  user: UserSchema,
})
