import type { CookieSerializeOptions } from '@fastify/cookie'

/**
 * The portal's cookies live on its own domain only: HttpOnly, SameSite=Lax, path /. Over https they
 * are Secure and carry the __Host- prefix (no Domain attribute, path /), so a sibling subdomain
 * cannot set or shadow them.
 */
export function cookieNames(secure: boolean) {
  const prefix = secure ? '__Host-' : ''
  return {
    session: `${prefix}insighta_session`,
    login: `${prefix}insighta_login`,
    flash: `${prefix}insighta_flash`,
  }
}

export function cookieOptions(secure: boolean, maxAgeSeconds?: number): CookieSerializeOptions {
  return {
    httpOnly: true,
    sameSite: 'lax',
    secure,
    path: '/',
    ...(maxAgeSeconds === undefined ? {} : { maxAge: maxAgeSeconds }),
  }
}
