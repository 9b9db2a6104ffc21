import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { ApiError } from '../../errors.ts'
import { signedIn } from '../../plugins/auth.ts'
import { requestContext } from '../../plugins/client-ip.ts'
import { formatInstant } from '../../services/user-admin.ts'
import { ErrorSchema } from '../../../contract/envelope.ts'
import { isUuid } from '../../../contract/ids.ts'
import { SafeText } from '../../../contract/text.ts'

const READERS = ['admin', 'analyst'] as const
/** Managing sessions is a signed-in person's act: a personal access token is refused here. */
const SIGNED_IN_PERSON = { access: READERS, personalAccessTokens: false } as const

const SessionSchema = Type.Object({
  id: Type.String(),
  client_id: Type.String({ description: 'insighta-portal, insighta-cli, direct or test-code' }),
  user_agent: Type.Union([Type.String(), Type.Null()], { description: 'the device that logged in' }),
  ip: Type.Union([Type.String(), Type.Null()]),
  created_at: Type.String(),
  last_used_at: Type.String({ description: 'the last login or token refresh' }),
  expires_at: Type.String({ description: 'absolute end of the session' }),
  idle_expires_at: Type.String({ description: 'when the session ends if it is not used (its refresh token lapses), at most expires_at' }),
  current: Type.Boolean({ description: 'the session of the token making this request' }),
})

const sessions: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/',
    {
      config: SIGNED_IN_PERSON,
      schema: {
        summary: 'My live sessions (devices), newest first',
        tags: ['sessions'],
        response: { 200: Type.Object({ status: Type.Literal('success'), data: Type.Array(SessionSchema) }) },
      },
    },
    async (request) => {
      const user = signedIn(request)
      const rows = await app.identity.sessions.list(user.id)
      return {
        status: 'success' as const,
        data: rows.map((s) => ({
          id: s.id,
          client_id: s.client_id,
          user_agent: s.user_agent,
          ip: s.ip,
          created_at: formatInstant(s.created_at),
          last_used_at: formatInstant(s.last_used_at),
          expires_at: formatInstant(s.expires_at),
          idle_expires_at: formatInstant(s.idle_expires_at),
          current: s.id === user.sessionId,
        })),
      }
    },
  )

  app.delete(
    '/:id',
    {
      config: { ...SIGNED_IN_PERSON, notFound: 'Session not found' },
      schema: {
        summary: 'End one of my sessions (an admin may end anyone’s)',
        tags: ['sessions'],
        params: Type.Object({ id: SafeText() }),
        response: { 204: Type.Null(), 404: ErrorSchema },
      },
    },
    async (request, reply) => {
      if (!isUuid(request.params.id)) throw new ApiError(404, 'Session not found')
      await app.identity.sessions.revokeAs(signedIn(request), request.params.id.toLowerCase(), requestContext(request))
      return reply.code(204).send(null)
    },
  )
}

export default sessions
