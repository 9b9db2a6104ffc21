import path from 'node:path'
import { fileURLToPath } from 'node:url'
import view from '@fastify/view'
import ejs from 'ejs'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { cookieOptions } from '../cookies.ts'
import { formatters } from '../format.ts'
import { navModel } from '../nav.ts'
import type { Flash, FlashKind } from '../types.ts'

export const VIEWS_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'views')

const FLASH_KINDS: ReadonlySet<string> = new Set(['success', 'error', 'info'])

function isFlash(value: unknown): value is Flash {
  if (typeof value !== 'object' || value === null) return false
  const f = value as Record<string, unknown>
  return typeof f.kind === 'string' && FLASH_KINDS.has(f.kind) && typeof f.text === 'string'
}

/**
 * EJS templates (escaped `<%= %>` output; `<%-` only for include), compiled once and cached.
 * Templates see their data as `it` (no `with`): a missing variable is an error, never a silent
 * lookup on the global object.
 */
export default fp(
  async function viewPlugin(app: FastifyInstance) {
    const { config, box, cookieNames } = app.portal
    await app.register(view, {
      engine: { ejs },
      root: VIEWS_DIR,
      production: true,
      // every page is rendered inside the one layout, which receives it as `it.body`
      layout: 'layouts/main.ejs',
      options: { cache: true, localsName: 'it', _with: false, strict: true, root: VIEWS_DIR, rmWhitespace: true },
    })

    /** Reads and clears the flash cookie. */
    function takeFlash(request: FastifyRequest, reply: FastifyReply): Flash | undefined {
      const raw = request.cookies[cookieNames.flash]
      if (raw === undefined) return undefined
      reply.clearCookie(cookieNames.flash, cookieOptions(config.secure))
      const value = box.openJson('flash', raw)
      return isFlash(value) ? value : undefined
    }

    app.decorateReply('flash', function flash(this: FastifyReply, kind: FlashKind, text: string, data?: Record<string, unknown>) {
      const value: Flash = data ? { kind, text, data } : { kind, text }
      return this.setCookie(cookieNames.flash, box.sealJson('flash', value), cookieOptions(config.secure, 300))
    })

    const taken = new WeakMap<FastifyReply, Flash | null>()
    app.decorateReply('takeFlash', function (this: FastifyReply) {
      if (!taken.has(this)) taken.set(this, takeFlash(this.request, this) ?? null)
      return taken.get(this) ?? undefined
    })

    app.decorateReply(
      'renderPage',
      async function renderPage(this: FastifyReply, name: string, data: Record<string, unknown> = {}, status = 200) {
        const request = this.request
        const session = request.portalSession
        const user = session?.user ?? null
        const currentPath = request.url.split('?')[0]
        const html = await this.viewAsync(`pages/${name}.ejs`, {
          title: 'Insighta Labs+',
          nonce: this.cspNonce.script,
          nav: navModel(user, currentPath),
          refreshTo: undefined,
          user,
          isAdmin: user?.role === 'admin',
          csrfToken: session?.csrfToken ?? '',
          flash: this.takeFlash(),
          currentPath,
          requestId: request.id,
          f: formatters,
          ...data,
        })
        // Pages show personal data: never cached by a shared cache, nor by the browser for "back" after logout.
        return this.code(status).type('text/html; charset=utf-8').header('cache-control', 'no-store').send(html)
      },
    )
  },
  { name: 'portal-view', dependencies: ['@fastify/cookie'], decorators: { fastify: ['portal'] } },
)
