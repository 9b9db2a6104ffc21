import http, { type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface ScriptedServer {
  url: string
  requests: { method: string; url: string; headers: IncomingMessage['headers'] }[]
  /** what the next requests get; the default answers every request with it */
  respond: (request: IncomingMessage, response: ServerResponse) => void
  close(): Promise<void>
}

/** A stand-in for "something at the API's address": answers whatever the test scripts, records all. */
export async function startScriptedServer(t: { teardown(fn: () => unknown): void }): Promise<ScriptedServer> {
  const scripted: ScriptedServer = {
    url: '',
    requests: [],
    respond: (_request, response) => {
      response.writeHead(500, { 'content-type': 'text/plain' })
      response.end('not scripted')
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  }
  const server = http.createServer((request, response) => {
    scripted.requests.push({ method: request.method ?? '', url: request.url ?? '', headers: request.headers })
    request.resume()
    request.on('end', () => scripted.respond(request, response))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  scripted.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  t.teardown(() => {
    server.closeAllConnections()
    return scripted.close()
  })
  return scripted
}

export function reply(status: number, body: string, headers: Record<string, string> = {}) {
  return (_request: IncomingMessage, response: ServerResponse) => {
    response.writeHead(status, headers)
    response.end(body)
  }
}

export function replyJson(status: number, body: unknown, headers: Record<string, string> = {}) {
  return reply(status, JSON.stringify(body), { 'content-type': 'application/json; charset=utf-8', ...headers })
}
