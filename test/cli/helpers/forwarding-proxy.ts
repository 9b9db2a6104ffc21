import http, { type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Teardown } from './run-cli.ts'

export interface ForwardedRequest {
  method: string
  /** path and query as the client sent them */
  url: string
}

export interface ForwardingProxy {
  url: string
  requests: ForwardedRequest[]
  /**
   * Runs before the nth request (from 1) is forwarded: may wait, act on the API (revoke a token,
   * cut the database) or return another URL to forward instead.
   */
  before: (n: number, request: IncomingMessage) => Promise<string | void> | string | void
}

/**
 * An HTTP proxy on loopback in front of the real API: records what a CLI asks for and lets a test
 * step in between two pages, so that what happens midway is deterministic. The answers are the
 * API's own.
 */
export async function startForwardingProxy(t: Teardown, target: string): Promise<ForwardingProxy> {
  const upstream = new URL(target)
  const proxy: ForwardingProxy = { url: '', requests: [], before: () => undefined }
  const server = http.createServer((request, response) => {
    const n = proxy.requests.push({ method: request.method ?? 'GET', url: request.url ?? '/' })
    void (async () => {
      const url = (await proxy.before(n, request)) ?? request.url ?? '/'
      const forwarded = http.request(
        { host: upstream.hostname, port: upstream.port, method: request.method, path: url, headers: { ...request.headers, host: upstream.host } },
        (answer) => {
          response.writeHead(answer.statusCode ?? 502, answer.headers)
          answer.pipe(response)
        },
      )
      forwarded.on('error', () => response.destroy())
      request.pipe(forwarded)
    })().catch(() => response.destroy())
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  t.teardown(() => {
    server.closeAllConnections()
    return new Promise<void>((resolve) => server.close(() => resolve()))
  })
  return proxy
}
