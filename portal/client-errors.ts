/**
 * What Node refuses before a request reaches Fastify (a request or its headers too slow, headers
 * too large, a malformed request line) is answered in the portal's error-page style rather than
 * Node's bare status line.
 */
import type { Duplex } from 'node:stream'

const PAGES: Record<number, { reason: string; heading: string; message: string }> = {
  400: { reason: 'Bad Request', heading: 'That request did not make sense', message: 'The request could not be understood. Check the address and try again.' },
  408: { reason: 'Request Timeout', heading: 'That took too long', message: 'Your browser did not finish sending the request in time. Check your connection and try again.' },
  431: { reason: 'Request Header Fields Too Large', heading: 'That request was too large', message: 'The request carried more data in its headers than the portal accepts. Clearing this site’s cookies may help.' },
}

function statusOf(code: string | undefined): 400 | 408 | 431 {
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return 408
  if (code === 'HPE_HEADER_OVERFLOW') return 431
  return 400
}

/** The page as a whole HTTP/1.1 response; static (no user data), so it needs no escaping or nonce. */
export function clientErrorResponse(status: 400 | 408 | 431): string {
  const page = PAGES[status]
  const body =
    '<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">' +
    `<title>${page.heading} — Insighta Labs+</title><link rel="stylesheet" href="/static/portal.css"></head><body>` +
    '<header class="site-header"><div class="site-header__inner"><a class="brand" href="/"><span class="brand__mark" aria-hidden="true">◆</span> <span class="brand__name">Insighta Labs+</span></a></div></header>' +
    `<main id="main"><section class="error-page" aria-labelledby="error-title"><p class="error-page__status" aria-hidden="true">${status}</p>` +
    `<h1 id="error-title">${page.heading}</h1><p>${page.message}</p><p class="error-page__actions"><a class="button button--primary" href="/">Go to the dashboard</a></p></section></main></body></html>`
  const length = Buffer.byteLength(body)
  return (
    `HTTP/1.1 ${status} ${page.reason}\r\n` +
    'Content-Type: text/html; charset=utf-8\r\n' +
    `Content-Length: ${length}\r\n` +
    "Content-Security-Policy: default-src 'none'; style-src 'self'; frame-ancestors 'none'; base-uri 'none'\r\n" +
    'X-Content-Type-Options: nosniff\r\n' +
    'Cache-Control: no-store\r\n' +
    'Connection: close\r\n\r\n' +
    body
  )
}

export function clientErrorHandler(error: Error & { code?: string }, socket: Duplex): void {
  // A reset connection has nobody left to answer.
  if (error.code === 'ECONNRESET' || socket.destroyed) return
  // A response already under way cannot be replaced by another: the connection just ends.
  const inFlight = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage
  if (socket.writable && !inFlight?.headersSent) socket.end(clientErrorResponse(statusOf(error.code)))
  else socket.destroy(error)
}
