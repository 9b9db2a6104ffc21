import { Type, type Static } from 'typebox'

/** The contract's error envelope (§2); 5xx bodies add the request id. */
export const ErrorSchema = Type.Object({
  status: Type.Literal('error'),
  message: Type.String(),
  request_id: Type.Optional(Type.String()),
})
export type ErrorBody = Static<typeof ErrorSchema>
