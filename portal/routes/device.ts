/**
 * The device-login verification page (RFC 8628, issue 14): a signed-in user enters or confirms the
 * code a terminal shows, sees what is asking and approves or denies it. Not signed in, the session
 * plugin sends the visitor to the login page with `next=/device?user_code=…` and back here after.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyReply } from 'fastify'
import { Type } from 'typebox'
import { formatUserCode, normaliseUserCode } from '../../contract/device.ts'
import { ApiResponseError } from '../api-client.ts'
import { notFound } from '../errors.ts'
import { CsrfField, failedIn, TEXT_PATTERN } from '../forms.ts'

/** Generous for typing (spaces, dashes), tight enough that nothing odd reaches the API. */
const UserCodeField = Type.String({ maxLength: 64, pattern: TEXT_PATTERN })
const DeviceQuerySchema = Type.Object({ user_code: Type.Optional(UserCodeField) }, { additionalProperties: true })
const DeviceBodySchema = Type.Object({ user_code: UserCodeField, ...CsrfField })
const DecisionParamsSchema = Type.Object({ decision: Type.Union([Type.Literal('approve'), Type.Literal('deny')]) })

const INVALID_CODE = 'That code is not valid or has expired. Check the code your terminal shows, or start the login again there.'
const MALFORMED_CODE = 'A code is 8 letters, shown like WDJB-MJHT. Check the code your terminal shows.'

function tooManyTries(retryAfter: string | undefined): string {
  const seconds = Number(retryAfter)
  const wait = Number.isFinite(seconds) && seconds > 0 ? ` Try again in ${seconds < 120 ? `${Math.ceil(seconds)} seconds` : `${Math.ceil(seconds / 60)} minutes`}.` : ' Try again later.'
  return `Too many wrong codes.${wait}`
}

/** What the page says for an API refusal of a code; anything else is not ours to explain. */
function codeProblem(error: unknown): { status: number; message: string; retryAfter?: string } | undefined {
  if (!(error instanceof ApiResponseError)) return undefined
  if (error.status === 404) return { status: 404, message: INVALID_CODE }
  if (error.status === 429) return { status: 429, message: tooManyTries(error.retryAfter), retryAfter: error.retryAfter }
  if (error.status === 400 || error.status === 422) return { status: 400, message: MALFORMED_CODE }
  return undefined
}

const deviceRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const title = 'Connect a device — Insighta Labs+'

  async function entryForm(reply: FastifyReply, status: number, typed: string, problem?: string, retryAfter?: string) {
    if (retryAfter !== undefined && /^\d{1,6}$/.test(retryAfter)) reply.header('retry-after', retryAfter)
    return reply.renderPage('device', { title, state: 'enter', typed, problem }, status)
  }

  app.get('/device', { attachValidation: true, schema: { querystring: DeviceQuerySchema } }, async (request, reply) => {
    if (request.validationError) return entryForm(reply, 400, '', MALFORMED_CODE)
    const typed = (request.query.user_code ?? '').trim()
    if (typed === '') return entryForm(reply, 200, '')
    const code = normaliseUserCode(typed)
    if (!code) return entryForm(reply, 400, typed, MALFORMED_CODE)
    let pending
    try {
      pending = await request.callApi((api, ctx) => api.deviceLookup(code, ctx))
    } catch (error) {
      const problem = codeProblem(error)
      if (!problem) throw error
      return entryForm(reply, problem.status, typed, problem.message, problem.retryAfter)
    }
    return reply.renderPage('device', { title, state: 'confirm', typed, code: formatUserCode(code), pending })
  })

  app.post(
    '/device/:decision',
    { attachValidation: true, schema: { params: DecisionParamsSchema, body: DeviceBodySchema } },
    async (request, reply) => {
      if (failedIn(request, 'params')) throw notFound()
      const code = request.validationError ? undefined : normaliseUserCode(request.body.user_code)
      if (!code) {
        reply.flash('error', MALFORMED_CODE)
        return reply.redirect('/device', 303)
      }
      const decision = request.params.decision
      try {
        await request.callApi((api, ctx) => api.decideDevice(code, decision, ctx))
      } catch (error) {
        const problem = codeProblem(error)
        if (!problem) throw error
        reply.flash('error', problem.message)
        return reply.redirect('/device', 303)
      }
      if (decision === 'approve') reply.flash('success', `Device approved (code ${formatUserCode(code)}). You can go back to your terminal: it is signed in as you.`)
      else reply.flash('info', `Device denied (code ${formatUserCode(code)}). It was not signed in.`)
      return reply.redirect('/device', 303)
    },
  )
}

export default deviceRoutes
