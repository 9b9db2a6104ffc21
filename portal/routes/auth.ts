import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyReply } from 'fastify'
import { Type } from 'typebox'
import { ApiResponseError, ApiUnavailableError } from '../api-client.ts'
import { cookieOptions } from '../cookies.ts'
import { href } from '../format.ts'
import { CsrfField, schemaProblems, TEXT_PATTERN } from '../forms.ts'
import { randomToken, s256Challenge, safeEqual } from '../../platform/crypto.ts'

/** How long a visitor has to finish signing in at GitHub. */
const LOGIN_ATTEMPT_SECONDS = 600

interface LoginAttempt {
  state: string
  verifier: string
  next: string
  expiresAt: number
}

function isLoginAttempt(value: unknown): value is LoginAttempt {
  if (typeof value !== 'object' || value === null) return false
  const v = value as Record<string, unknown>
  return typeof v.state === 'string' && typeof v.verifier === 'string' && typeof v.next === 'string' && typeof v.expiresAt === 'number'
}

/** A path on this site to return to after signing in; anything else (other sites, "//evil") becomes "/". */
export function safeNext(value: unknown): string {
  if (typeof value !== 'string' || value.length > 1000) return '/'
  if (!value.startsWith('/') || value.startsWith('//') || value.startsWith('/\\')) return '/'
  if (/[\r\n\t]/.test(value) || value.startsWith('/auth/') || value.startsWith('/login')) return '/'
  return value
}

const SIGNED_OUT_MESSAGES: Record<string, string> = {
  '1': 'You have signed out.',
  everywhere: 'You have signed out on every device.',
  'with-tokens': 'You have signed out on every device, and your personal access tokens were revoked.',
  'tokens-kept': 'You have signed out on every device. Your personal access tokens still work until they expire or you revoke them.',
}

/** A return path is checked by safeNext (a bad one becomes "/"), so its schema is only a size bound. */
const NextField = Type.Optional(Type.String({ maxLength: 2000 }))
const LoginQuerySchema = Type.Object({ next: NextField, signed_out: Type.Optional(Type.String({ maxLength: 20 })) }, { additionalProperties: true })
const LoginBodySchema = Type.Object({ next: NextField, ...CsrfField })
/** What the API sends back: a one-time code and our state, or an OAuth error. */
const CallbackQuerySchema = Type.Object(
  {
    code: Type.Optional(Type.String({ minLength: 1, maxLength: 1000 })),
    state: Type.Optional(Type.String({ maxLength: 1000 })),
    error: Type.Optional(Type.String({ maxLength: 200 })),
    error_description: Type.Optional(Type.String({ maxLength: 300, pattern: TEXT_PATTERN })),
  },
  { additionalProperties: true },
)

const authRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { config, api, sessions, box, cookieNames, now } = app.portal
  const redirectUri = `${config.publicUrl}/auth/callback`

  async function toLogin(reply: FastifyReply, kind: 'error' | 'info', text: string) {
    reply.flash(kind, text)
    return reply.redirect('/login', 303)
  }

  app.get('/login', { config: { portalAccess: 'public' }, attachValidation: true, schema: { querystring: LoginQuerySchema } }, async (request, reply) => {
    const query = request.validationError ? {} : request.query
    const next = safeNext(query.next)
    if (request.portalSession) return reply.redirect(next, 303)
    const signedOut = typeof query.signed_out === 'string' ? SIGNED_OUT_MESSAGES[query.signed_out] : undefined
    return reply.renderPage('login', { title: 'Sign in — Insighta Labs+', next, signedOut })
  })

  // Starting a sign-in is a POST: it sets the login-attempt cookie and leaves for the API.
  app.post('/auth/login', { config: { portalAccess: 'public' }, attachValidation: true, schema: { body: LoginBodySchema } }, async (request, reply) => {
    const body = request.validationError ? {} : request.body
    const attempt: LoginAttempt = {
      state: randomToken(32),
      verifier: randomToken(48),
      next: safeNext(body.next),
      expiresAt: now().getTime() + LOGIN_ATTEMPT_SECONDS * 1000,
    }
    reply.setCookie(cookieNames.login, box.sealJson('login-attempt', attempt), cookieOptions(config.secure, LOGIN_ATTEMPT_SECONDS))
    const target = href(`${config.apiPublicUrl}/auth/github`, {
      client_id: config.clientId,
      redirect_uri: redirectUri,
      state: attempt.state,
      code_challenge: s256Challenge(attempt.verifier),
      code_challenge_method: 'S256',
    })
    // An interstitial page, not a 303: CSP form-action ('self') also governs the redirects that
    // follow a form submission, and the API sends the browser on to GitHub, another origin.
    return reply.renderPage('login-continue', { title: 'Continuing to GitHub — Insighta Labs+', target, refreshTo: target })
  })

  app.get('/auth/callback', { config: { portalAccess: 'public' }, attachValidation: true, schema: { querystring: CallbackQuerySchema } }, async (request, reply) => {
    const bad = new Set(schemaProblems(request).map((p) => p.field))
    const query = request.query
    const attempt = box.openJson('login-attempt', request.cookies[cookieNames.login])
    reply.clearCookie(cookieNames.login, cookieOptions(config.secure))
    if (typeof query.error === 'string' || bad.has('error')) {
      // The API's reason (a suspended account, GitHub refusing) is shown only to the browser that
      // started this attempt: from anyone else's link it would be text an attacker chose.
      const ours = isLoginAttempt(attempt) && attempt.expiresAt >= now().getTime() && !bad.has('state') && safeEqual(query.state ?? '', attempt.state)
      const reason = ours && !bad.has('error_description') ? query.error_description?.trim() : undefined
      if (reason) return toLogin(reply, 'error', `Sign-in was refused: ${reason}.`)
      return toLogin(reply, 'info', query.error === 'access_denied' ? 'Sign-in was cancelled.' : 'Sign-in did not complete. Please try again.')
    }
    const code = !bad.has('code') && typeof query.code === 'string' ? query.code : ''
    const state = !bad.has('state') && typeof query.state === 'string' ? query.state : ''
    // Login CSRF: only the browser that started this attempt holds the state that matches.
    if (
      !isLoginAttempt(attempt) ||
      attempt.expiresAt < now().getTime() ||
      code === '' ||
      !safeEqual(state, attempt.state)
    ) {
      return toLogin(reply, 'error', 'That sign-in link has expired or was not started in this browser. Please try again.')
    }
    const base = { endUserIp: request.ip, requestId: request.id }
    let created
    try {
      const tokens = await api.exchangeCode({ code, codeVerifier: attempt.verifier, redirectUri }, base)
      const user = await api.me({ ...base, token: tokens.access_token })
      // Session fixation: whatever session this browser had is ended; the new one gets a new id.
      if (request.portalSession) await sessions.destroy(request.portalSession, base)
      created = await sessions.create(tokens, user, request.headers['user-agent'])
    } catch (error) {
      if (error instanceof ApiResponseError) {
        request.log.warn({ apiStatus: error.status }, 'sign-in refused by the API')
        return toLogin(reply, 'error', error.status === 403 ? error.message : `Sign-in failed: ${error.message}`)
      }
      if (error instanceof ApiUnavailableError) return toLogin(reply, 'error', 'The sign-in service cannot be reached. Please try again in a minute.')
      throw error
    }
    reply.setCookie(cookieNames.session, created.cookieValue, cookieOptions(config.secure, Math.floor(config.sessionAbsoluteMs / 1000)))
    reply.flash('success', `Signed in as ${created.session.user.username}.`)
    return reply.redirect(attempt.next, 303)
  })

  // Public so that a visitor whose session already ended can still clear the cookie.
  app.post('/logout', { config: { portalAccess: 'public' } }, async (request, reply) => {
    if (request.portalSession) await sessions.destroy(request.portalSession, { endUserIp: request.ip, requestId: request.id })
    reply.clearCookie(cookieNames.session, cookieOptions(config.secure))
    reply.header('clear-site-data', '"cookies"')
    return reply.redirect('/login?signed_out=1', 303)
  })
}

export default authRoutes
