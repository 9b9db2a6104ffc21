import { timingSafeEqual } from 'node:crypto'
import http, { type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { CliError, ExitCode } from './errors.ts'
import { sanitise } from './http.ts'

export const LOOPBACK_HOST = '127.0.0.1'
export const CALLBACK_PATH = '/callback'

/**
 * Pages are constants: nothing from the request (code, state, error text) is ever written back,
 * so a crafted URL cannot inject markup into the page the user sees.
 */
const PAGES = {
  success: page('Logged in', 'You are logged in to Insighta Labs+. You can close this tab and return to the terminal.'),
  failure: page('Login failed', 'The login could not be completed. Return to the terminal for details.'),
  denied: page('Login cancelled', 'The login was cancelled. Return to the terminal for details.'),
  badRequest: page('Bad request', 'This address only accepts the Insighta Labs+ login callback.'),
}

function page(title: string, text: string): string {
  return `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>${title}</title></head><body><h1>${title}</h1><p>${text}</p></body></html>\n`
}

export interface LoopbackOptions {
  /** 0 lets the OS pick a free port */
  port: number
  state: string
  timeoutMs: number
  /** Redeems the code; the browser gets its page only after this settles, so it can say how it went. */
  onCode: (code: string) => Promise<void>
}

export interface LoopbackListener {
  /** `http://127.0.0.1:<port>/callback`, the redirect_uri to register with the API */
  redirectUri: string
  /** settles once a valid callback was handled (or refused by the user), or on timeout */
  done: Promise<void>
  close(): Promise<void>
}

/**
 * A one-shot HTTP server on the loopback interface for the OAuth redirect. It accepts exactly one
 * `GET /callback` carrying the expected state; every other request (another path or method, a
 * wrong or missing state, a stray favicon fetch, a port scanner) gets a 400 and the wait goes on,
 * so noise cannot end a login. It stops answering as soon as the real callback arrives.
 */
export async function startLoopbackListener(options: LoopbackOptions): Promise<LoopbackListener> {
  let settled = false
  let resolveDone!: () => void
  let rejectDone!: (error: unknown) => void
  const done = new Promise<void>((resolve, reject) => {
    resolveDone = resolve
    rejectDone = reject
  })
  // A rejection nobody awaits yet (e.g. a timeout during startup) must not crash the process.
  done.catch(() => undefined)

  // Started before listening so that no branch below can leave the wait without a deadline.
  const timer = setTimeout(() => {
    if (settled) return
    settled = true
    const minutes = options.timeoutMs / 60_000
    const limit = minutes >= 1 ? `${Number(minutes.toFixed(1))} minute${minutes === 1 ? '' : 's'}` : `${Math.round(options.timeoutMs / 1000)} seconds`
    rejectDone(new CliError(ExitCode.auth, `Login timed out: the browser did not come back within ${limit}; run insighta login again.`))
  }, options.timeoutMs)

  const server = http.createServer((request, response) => {
    const outcome = settled ? null : classify(request, server, options.state)
    if (outcome === null) return answer(response, 400, PAGES.badRequest)
    settled = true
    clearTimeout(timer)
    if (outcome.kind === 'denied') {
      answer(response, 200, PAGES.denied)
      // The terminal (unlike the page) may say why: the state proved the answer comes from our login.
      const why = outcome.description ?? outcome.error
      rejectDone(new CliError(ExitCode.auth, `Login did not complete: ${sanitise(why).replace(/[.\s]+$/, '')}.`))
      return
    }
    options.onCode(outcome.code).then(
      () => {
        answer(response, 200, PAGES.success)
        resolveDone()
      },
      (error: unknown) => {
        answer(response, 200, PAGES.failure)
        rejectDone(error)
      },
    )
  })
  // The server is only for the browser's redirect: no keep-alive connection outlives the login.
  server.keepAliveTimeout = 1
  server.headersTimeout = 10_000
  server.requestTimeout = 10_000

  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer)
      if (error.code === 'EADDRINUSE') {
        reject(
          new CliError(
            ExitCode.usage,
            `Port ${options.port} on ${LOOPBACK_HOST} is already in use: choose another with --port, or leave --port out to use any free port.`,
          ),
        )
      } else if (error.code === 'EACCES') {
        reject(new CliError(ExitCode.usage, `Not allowed to listen on port ${options.port}: choose a port above 1023 with --port.`))
      } else {
        reject(error)
      }
    })
    server.listen(options.port, LOOPBACK_HOST, () => resolve())
  })
  const port = (server.address() as AddressInfo).port


  async function close(): Promise<void> {
    clearTimeout(timer)
    await new Promise<void>((resolve) => {
      server.close(() => resolve())
      server.closeAllConnections()
    })
  }

  return { redirectUri: `http://${LOOPBACK_HOST}:${port}${CALLBACK_PATH}`, done, close }
}

type Outcome = { kind: 'code'; code: string } | { kind: 'denied'; error: string; description: string | undefined }

/** The callback's meaning, or null for anything that is not our callback. */
function classify(request: IncomingMessage, server: http.Server, expectedState: string): Outcome | null {
  if (request.method !== 'GET') return null
  const port = (server.address() as AddressInfo).port
  // A page on some other site can make the browser send requests to loopback ports (or DNS-rebind a
  // name onto 127.0.0.1); those carry another Host. The API's redirect always uses this exact one.
  if (request.headers.host !== `${LOOPBACK_HOST}:${port}`) return null
  const url = new URL(request.url ?? '/', `http://${LOOPBACK_HOST}:${port}`)
  if (url.pathname !== CALLBACK_PATH) return null
  const state = url.searchParams.get('state')
  if (state === null || !sameSecret(state, expectedState)) return null
  // With the right state, an OAuth error (the user pressed Cancel) is a real answer: stop waiting.
  const error = url.searchParams.get('error')
  if (error !== null) return { kind: 'denied', error, description: url.searchParams.get('error_description') || undefined }
  const code = url.searchParams.get('code')
  if (code === null || code === '') return null
  return { kind: 'code', code }
}

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given)
  const b = Buffer.from(expected)
  return a.length === b.length && timingSafeEqual(a, b)
}

function answer(response: ServerResponse, status: number, html: string): void {
  response.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'content-length': Buffer.byteLength(html),
    'cache-control': 'no-store',
    // The page's URL carries the one-time code: keep it out of Referer headers and forbid any script.
    'referrer-policy': 'no-referrer',
    'content-security-policy': "default-src 'none'",
    'x-content-type-options': 'nosniff',
    connection: 'close',
  })
  response.end(html)
}
