import { STATUS_CODES } from 'node:http'
import type { Socket } from 'node:net'
import type { FastifyInstance } from 'fastify'
import { API_VERSION } from '../../contract/headers.ts'

/**
 * The longest path parameter the router accepts. Node refuses a request line plus headers above its
 * maxHeaderSize (16 KiB by default) before the router sees it, so with this limit no parameter is
 * ever "too long" for the router: a 5,000-character id reaches its route and is an unknown id (404
 * "Profile not found"), not Fastify's own 414.
 */
export const MAX_PARAM_LENGTH = 16 * 1024

/** Node parser errors (and the request timeout) as contract statuses and safe messages. */
function describe(code: string | undefined): { status: number; message: string; cause: string } {
  switch (code) {
    case 'HPE_HEADER_OVERFLOW':
      return { status: 431, message: 'Request headers or URL too large', cause: 'header_overflow' }
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return { status: 408, message: 'Request timeout: the request was not received in time', cause: 'request_timeout' }
    case 'HPE_URI_TOO_LONG':
      return { status: 414, message: 'URL too long', cause: 'uri_too_long' }
    default:
      return { status: 400, message: 'Malformed HTTP request', cause: code?.toLowerCase() ?? 'client_error' }
  }
}

/**
 * Fastify's `clientErrorHandler`: what Node's HTTP parser rejects before any route runs (a URL or
 * headers above 16 KiB, an invalid header byte, a malformed request line, a request that timed out)
 * is answered in the contract's envelope, with `X-API-Version` and CORS like every other answer,
 * and logged as one line. A connection the client already reset gets nothing (nobody is listening).
 */
export function envelopeClientErrorHandler(this: FastifyInstance, error: Error & { code?: string }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return
  const { status, message, cause } = describe(error.code)
  // A response already under way (an upload answered early, a long download) cannot take another.
  const responding = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent === true
  if (responding) {
    socket.destroy()
    return
  }
  const body = JSON.stringify({ status: 'error', message })
  this.log.info({ status, cause, remote: socket.remoteAddress }, 'request rejected by the HTTP parser')
  if (socket.writable) {
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n` +
        'Content-Type: application/json; charset=utf-8\r\n' +
        `Content-Length: ${Buffer.byteLength(body)}\r\n` +
        `X-API-Version: ${API_VERSION}\r\n` +
        'Access-Control-Allow-Origin: *\r\n' +
        'Connection: close\r\n' +
        '\r\n' +
        body,
    )
    // end() flushes the answer first; a peer that never closes its side is cut off shortly after.
    setTimeout(() => socket.destroy(), 1000).unref()
    return
  }
  socket.destroy()
}
