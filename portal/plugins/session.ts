import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { ApiResponseError, type ApiClient, type CallContext } from '../api-client.ts'
import { forbidden } from '../errors.ts'
import { SessionExpiredError } from '../errors.ts'
import { snapshotOf } from '../user-snapshot.ts'

/** Paths that never need the session (no database round trip for a stylesheet). */
function skipsSession(url: string): boolean {
  return url.startsWith('/static/') || url === '/healthz' || url === '/favicon.ico'
}

/** The relative URL to come back to after signing in, when it is safe to (a GET to a page of ours). */
export function returnPathOf(request: FastifyRequest): string | undefined {
  if (request.method !== 'GET') return undefined
  const url = request.url
  return url.startsWith('/') && !url.startsWith('//') && url.length <= 1000 ? url : undefined
}

const replies = new WeakMap<FastifyRequest, FastifyReply>()
const abortSignals = new WeakMap<FastifyRequest, AbortController>()

/** Aborts when the browser goes away before the response is complete (stops streams to the API). */
function signalOf(request: FastifyRequest): AbortSignal | undefined {
  let controller = abortSignals.get(request)
  if (!controller) {
    const reply = replies.get(request)
    if (!reply) return undefined
    const created = new AbortController()
    controller = created
    abortSignals.set(request, created)
    reply.raw.once('close', () => {
      if (!reply.raw.writableFinished) created.abort(new Error('client went away'))
    })
  }
  return controller.signal
}

/**
 * Loads the visitor's portal session from its cookie, enforces each route's `portalAccess`
 * (default: signed-in users) and gives handlers `request.callApi` for calls as the user.
 */
export default fp(
    async function sessionPlugin(app: FastifyInstance) {
    const { sessions, api, cookieNames } = app.portal
    app.decorateRequest('portalSession', null)

    app.decorateRequest('callApi', async function callApi<T>(
      this: FastifyRequest,
      fn: (client: ApiClient, ctx: CallContext) => Promise<T>,
      options: { retry?: boolean } = {},
    ): Promise<T> {
      const session = this.portalSession
      if (!session) throw new SessionExpiredError()
      const base: CallContext = { endUserIp: this.ip, requestId: this.id, signal: signalOf(this) }
      const token = await sessions.accessToken(session, base)
      try {
        return await fn(api, { ...base, token })
      } catch (error) {
        if (error instanceof ApiResponseError && error.status === 403) {
          // A role refusal, or the account itself suspended? /auth/me tells them apart, and a
          // changed role is picked up at once.
          const me = await api.me({ ...base, token }).then(
            (user) => ({ user, failure: undefined }),
            (failure: unknown) => ({ user: undefined, failure }),
          )
          const { failure } = me
          if (failure instanceof ApiResponseError && (failure.status === 401 || failure.status === 403)) {
            await sessions.forget(session)
            throw new SessionExpiredError(failure.status === 403 ? 'suspended' : 'expired')
          }
          if (me.user) await sessions.updateSnapshot(session, snapshotOf(me.user))
          throw error
        }
        if (!(error instanceof ApiResponseError) || error.status !== 401) throw error
        // Refused although we thought it valid (revoked, clock skew): refresh once; a dead session throws.
        const renewed = await sessions.accessToken(session, base, token)
        if (options.retry === false) throw error
        try {
          return await fn(api, { ...base, token: renewed })
        } catch (again) {
          if (again instanceof ApiResponseError && again.status === 401) throw new SessionExpiredError()
          throw again
        }
      }
    })

    app.addHook('onRequest', async (request, reply) => {
      if (skipsSession(request.url)) return
      replies.set(request, reply)
      const cookie = request.cookies[cookieNames.session]
      if (cookie === undefined) return
      request.portalSession = (await sessions.load(cookie)) ?? null
    })

    app.addHook('onRequest', async (request) => {
      if (request.is404 || skipsSession(request.url)) return
      const access = request.routeOptions.config.portalAccess ?? 'user'
      if (access === 'public') return
      if (!request.portalSession) {
        throw new SessionExpiredError(request.cookies[cookieNames.session] === undefined ? 'required' : 'expired')
      }
      if (access === 'admin' && request.portalSession.user.role !== 'admin') throw forbidden('This page is for administrators.')
    })
  },
  { name: 'portal-session', dependencies: ['@fastify/cookie'], decorators: { fastify: ['portal'] } },
)
