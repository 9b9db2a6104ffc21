import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'
import {
  DeviceCodeBodySchema,
  DeviceCodeResponseSchema,
  DeviceDecisionResponseSchema,
  DeviceErrorSchema,
  DeviceLookupQuerySchema,
  DeviceRequestResponseSchema,
  UserCodeBodySchema,
} from '../../../contract/device.ts'
import { ErrorSchema } from '../../../contract/envelope.ts'
import { signedIn } from '../../plugins/auth.ts'
import { requestContext } from '../../plugins/client-ip.ts'
import { DeviceGrantFailure } from '../../services/device-logins.ts'
import type { TokenPair } from '../../services/sessions.ts'
import type { UserRow } from '../../../db/repositories/users.ts'

const READERS = ['admin', 'analyst'] as const
/** Approving a device is a signed-in person's act: never a personal access token's. */
const SIGNED_IN_PERSON = { access: READERS, personalAccessTokens: false } as const

/** The RFC 6749 §5.2 error answer, inside the contract's envelope. */
export function sendDeviceFailure(reply: FastifyReply, failure: DeviceGrantFailure) {
  return reply.code(400).send({ status: 'error' as const, message: failure.message, error: failure.error, error_description: failure.message })
}

/** `POST /auth/token` with grant_type=urn:ietf:params:oauth:grant-type:device_code. */
export async function redeemDeviceCode(
  request: FastifyRequest,
  reply: FastifyReply,
  body: { device_code?: string; client_id?: string },
): Promise<{ pair: TokenPair; user: UserRow } | undefined> {
  try {
    return await request.server.deviceLogins.poll(body, requestContext(request))
  } catch (error) {
    if (!(error instanceof DeviceGrantFailure)) throw error
    await sendDeviceFailure(reply, error)
    return undefined
  }
}

const absentBodyIsEmpty = async (request: FastifyRequest) => {
  if (request.body === undefined || request.body === null) request.body = {}
}

/** RFC 8628 device authorization, under /auth/device. */
const device: FastifyPluginAsyncTypebox = async (app) => {
  const service = app.deviceLogins

  app.post(
    '/code',
    {
      config: { access: 'public' },
      preValidation: absentBodyIsEmpty,
      schema: {
        summary: 'Start a device login (RFC 8628): client_id=insighta-cli (JSON or form) → device_code, user_code, verification_uri …',
        description:
          'The CLI shows user_code and verification_uri (the portal’s /device page), then polls POST /auth/token with ' +
          'grant_type=urn:ietf:params:oauth:grant-type:device_code, device_code and client_id every `interval` seconds.',
        tags: ['auth'],
        body: DeviceCodeBodySchema,
        response: { 200: DeviceCodeResponseSchema, 400: DeviceErrorSchema },
      },
    },
    async (request, reply) => {
      try {
        const started = await service.start(request.body.client_id, requestContext(request))
        return {
          status: 'success' as const,
          device_code: started.deviceCode,
          user_code: started.userCode,
          verification_uri: started.verificationUri,
          verification_uri_complete: started.verificationUriComplete,
          expires_in: started.expiresIn,
          interval: started.interval,
        }
      } catch (error) {
        if (error instanceof DeviceGrantFailure) return sendDeviceFailure(reply, error)
        throw error
      }
    },
  )

  const decisionResponses = { 400: ErrorSchema, 404: ErrorSchema, 422: ErrorSchema }

  app.get(
    '/lookup',
    {
      config: SIGNED_IN_PERSON,
      schema: {
        summary: 'The pending device login a user code names: client, when, from which address and user agent',
        description:
          'For the portal’s /device page, called server to server with the signed-in user’s access token (not a personal ' +
          'access token). Wrong codes count against the user and the address: DEVICE_CODE_MAX_FAILURES per window, then 429.',
        tags: ['auth'],
        querystring: DeviceLookupQuerySchema,
        response: { 200: DeviceRequestResponseSchema, ...decisionResponses },
      },
    },
    async (request) => {
      const data = await service.lookup(signedIn(request), request.query.user_code, requestContext(request))
      return { status: 'success' as const, data }
    },
  )

  for (const [path, decision, message] of [
    ['/approve', 'approved', 'Device approved: it is now signed in'],
    ['/deny', 'denied', 'Device denied'],
  ] as const) {
    app.post(
      path,
      {
        config: SIGNED_IN_PERSON,
        schema: {
          summary: decision === 'approved' ? 'Approve a pending device login ({"user_code"}): opens a session for the device' : 'Deny a pending device login ({"user_code"})',
          tags: ['auth'],
          body: UserCodeBodySchema,
          response: { 200: DeviceDecisionResponseSchema, ...decisionResponses },
        },
      },
      async (request) => {
        const data = await service.decide(signedIn(request), request.body.user_code, decision, requestContext(request))
        return { status: 'success' as const, message, data }
      },
    )
  }
}

export default device
