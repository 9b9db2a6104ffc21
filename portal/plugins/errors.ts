import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { ApiResponseError, ApiUnavailableError } from '../api-client.ts'
import { cookieOptions } from '../cookies.ts'
import { PageError } from '../errors.ts'
import { isDatabaseUnavailable, isPoolBusy } from '../../db/errors.ts'
import { href } from '../format.ts'
import { SessionExpiredError } from '../errors.ts'
import { returnPathOf } from './session.ts'

const HEADINGS: Record<number, string> = {
  400: 'That request did not make sense',
  403: 'You cannot do that',
  404: 'Page not found',
  405: 'Method not allowed',
  408: 'That took too long',
  413: 'That file is too large',
  415: 'Unsupported form',
  422: 'Please check what you entered',
  429: 'Slow down a little',
  500: 'Something went wrong',
  502: 'The data service reported a problem',
  503: 'The data service is unavailable',
}

/** The XHR upload asks for JSON; everything else is a browser navigation and gets a page. */
export function wantsJson(request: FastifyRequest): boolean {
  const accept = request.headers.accept ?? ''
  return accept.includes('application/json') && !accept.includes('text/html')
}

/** The path and query of a same-origin Referer, or undefined (another site, none, or malformed). */
export function sameOriginReferrer(request: FastifyRequest, publicOrigin: string): string | undefined {
  const referer = request.headers.referer
  if (typeof referer !== 'string' || referer.length > 1000) return undefined
  try {
    const url = new URL(referer)
    return url.origin === publicOrigin ? `${url.pathname}${url.search}` : undefined
  } catch {
    return undefined
  }
}

/** How long a visitor is asked to wait when the portal's database or the API is unavailable. */
export const UNAVAILABLE_RETRY_AFTER_SECONDS = 30

async function errorPage(request: FastifyRequest, reply: FastifyReply, status: number, message: string) {
  if (wantsJson(request)) return reply.code(status).send({ status: 'error', message })
  return reply.renderPage('error', { title: `${HEADINGS[status] ?? 'Error'} — Insighta Labs+`, status, heading: HEADINGS[status] ?? 'Error', message }, status)
}

/**
 * The one place failures become pages: the site's 403/404/500 designs, the login page for a dead
 * session (with a message, never an error page), and generic text for anything unexpected (the
 * details go to the log with the request id, which the page shows).
 */
export default fp(
    async function errors(app: FastifyInstance) {
    const { config, cookieNames } = app.portal
  const publicOrigin = new URL(config.publicUrl).origin

    app.setNotFoundHandler(async (request, reply) => errorPage(request, reply, 404, 'There is nothing at this address. Check the link, or start again from the dashboard.'))

    app.setErrorHandler(async (error: FastifyError | Error, request, reply) => {
      if (error instanceof SessionExpiredError) {
        reply.clearCookie(cookieNames.session, cookieOptions(config.secure))
        if (error.reason !== 'required') reply.flash('error', error.message)
        // back to this page after signing in; for a form post, to the page the form was on
        const next = returnPathOf(request) ?? sameOriginReferrer(request, publicOrigin)
        const login = href('/login', { next: next && next !== '/' ? next : undefined })
        if (wantsJson(request)) return reply.code(401).send({ status: 'error', message: error.message, redirect: login })
        return reply.redirect(login, 303)
      }
      if (error instanceof PageError) return errorPage(request, reply, error.statusCode, error.message)
      if (error instanceof ApiResponseError) {
        if (error.status === 429) {
          if (error.retryAfter) reply.header('retry-after', error.retryAfter)
          const wait = error.retryAfter && /^\d+$/.test(error.retryAfter) ? ` Try again in ${error.retryAfter} seconds.` : ' Try again shortly.'
          return errorPage(request, reply, 429, `You have made too many requests.${wait}`)
        }
        if (error.status === 403 || error.status === 404 || error.status === 413) return errorPage(request, reply, error.status, error.message)
      if (error.status === 503) {
        // the API is up but cannot serve (its database is down, or it is busy): say so, and when to retry
        reply.header('retry-after', error.retryAfter && /^\d+$/.test(error.retryAfter) ? error.retryAfter : String(UNAVAILABLE_RETRY_AFTER_SECONDS))
        request.log.warn({ apiStatus: error.status }, 'the API is unavailable')
        return errorPage(request, reply, 503, `The data service is unavailable right now. Please try again in a minute. (Reference: ${request.id})`)
      }
        if (error.status >= 400 && error.status < 500) return errorPage(request, reply, 400, error.message)
        request.log.error({ apiStatus: error.status }, 'the API failed')
        return errorPage(request, reply, 502, `The data service could not complete the request. Please try again. (Reference: ${request.id})`)
      }
      if (error instanceof ApiUnavailableError) {
        if (error.aborted) {
          // The browser left before the API answered: nobody to show a page to, nothing went wrong.
          request.log.info('client went away during an API call')
          return reply.code(499).send()
        }
        request.log.error({ err: error }, 'the API is unavailable')
        reply.header('retry-after', String(UNAVAILABLE_RETRY_AFTER_SECONDS))
        return errorPage(request, reply, 503, `The data service cannot be reached right now. Please try again in a minute. (Reference: ${request.id})`)
      }
      if (isDatabaseUnavailable(error) || isPoolBusy(error)) {
        // the portal's own database (its sessions): nothing can be shown until it is back
        request.log.error({ err: error }, 'the portal database is unavailable')
        reply.header('retry-after', String(UNAVAILABLE_RETRY_AFTER_SECONDS))
        return errorPage(request, reply, 503, `The portal cannot reach its database right now. Please try again in a minute. (Reference: ${request.id})`)
      }
      const fe = error as FastifyError
      switch (fe.code) {
        case 'FST_ERR_CTP_BODY_TOO_LARGE':
        case 'FST_REQ_FILE_TOO_LARGE':
          return errorPage(request, reply, 413, 'The form or file you sent is larger than the portal accepts.')
        case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
          return errorPage(request, reply, 415, 'The portal does not accept that kind of form submission.')
        case 'FST_ERR_REQ_TIMEOUT':
          return errorPage(request, reply, 408, 'Your browser did not finish sending the request in time. Check your connection and try again.')
      }
      const status = fe.statusCode ?? 500
      if (status >= 400 && status < 500) return errorPage(request, reply, status === 405 ? 405 : 400, 'The request could not be understood.')
      request.log.error({ err: error }, 'unhandled error')
      return errorPage(request, reply, 500, `An unexpected error occurred. Please try again. (Reference: ${request.id})`)
    })
  },
  { name: 'portal-errors', dependencies: ['portal-view'], decorators: { fastify: ['portal'] } },
)
