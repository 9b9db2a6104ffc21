import type { ApiClient, CallContext } from './api-client.ts'
import type { PortalConfig } from './config.ts'
import type { SecretBox } from './secrets.ts'
import type { PortalSession, SessionStore } from './session-store.ts'

/** Who may open a portal route: anyone, any signed-in user, or admins only. */
export type PortalAccess = 'public' | 'user' | 'admin'

export type FlashKind = 'success' | 'error' | 'info'

/** A message shown once on the next page, after a POST → redirect → GET. */
export interface Flash {
  kind: FlashKind
  text: string
  /** small structured payload: an import report, a form's values */
  data?: Record<string, unknown>
}

export interface PortalServices {
  config: PortalConfig
  api: ApiClient
  sessions: SessionStore
  box: SecretBox
  cookieNames: { session: string; login: string; flash: string }
  now: () => Date
}

declare module 'fastify' {
  interface FastifyInstance {
    portal: PortalServices
  }
  interface FastifyRequest {
    /** the signed-in visitor's session, or null */
    portalSession: PortalSession | null
    /**
     * Runs an API call as the signed-in user: a fresh access token (refreshed transparently), the
     * end user's address and this request's id. A 401 forces one refresh and one retry (unless
     * `retry` is false, for calls whose body cannot be sent twice); a dead API session becomes a
     * SessionExpiredError, which sends the browser to the login page.
     */
    callApi<T>(fn: (api: ApiClient, ctx: CallContext) => Promise<T>, options?: { retry?: boolean }): Promise<T>
  }
  interface FastifyReply {
    /** Renders views/pages/<name>.ejs inside the site layout with the common locals. */
    renderPage(name: string, data?: Record<string, unknown>, status?: number): Promise<FastifyReply>
    /** Queues a flash message for the next page (an encrypted, HttpOnly cookie). */
    flash(kind: FlashKind, text: string, data?: Record<string, unknown>): FastifyReply
    /** The flash this request brought (read and cleared once; the page rendered later shows it). */
    takeFlash(): Flash | undefined
  }
  interface FastifyContextConfig {
    /** who may open the route; routes without it need a signed-in user */
    portalAccess?: PortalAccess
    /** 'in-handler': a multipart form whose first field is the CSRF token, checked by the handler */
    portalCsrf?: 'in-handler'
  }
}
