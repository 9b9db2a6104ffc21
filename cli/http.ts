import { cliUserAgent } from '../contract/cli-user-agent.ts'
import { API_VERSION, API_VERSION_HEADER } from '../contract/headers.ts'
import { isRecord } from './credentials.ts'
import { CLI_VERSION } from './version.ts'
import { CliError, ExitCode, exitCodeForStatus } from './errors.ts'

const DEFAULT_TIMEOUT_MS = 30_000
/** Error bodies are short JSON; an HTML page or a runaway body is not read past this. */
const MAX_ERROR_BODY = 64 * 1024

/**
 * Sent as User-Agent on every request: the API labels a CLI session with the user agent of the
 * request that redeemed its login code, so the session lists read `insighta 0.1.0 on build-box`
 * rather than the browser that approved it (set once by the entry point, from the environment).
 */
let userAgent = `insighta/${CLI_VERSION}`

export function setUserAgentMachine(hostname: string, platform: string): void {
  userAgent = cliUserAgent(CLI_VERSION, hostname, platform)
}

export type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE'
export type QueryValue = string | number | undefined

/** A request body that can be produced again, so a request can be retried after a token refresh. */
export interface StreamedBody {
  stream: ReadableStream<Uint8Array>
  contentType: string
  length?: number
}

export interface HttpRequest {
  method: Method
  path: string
  query?: Record<string, QueryValue>
  headers?: Record<string, string>
  json?: unknown
  body?: () => StreamedBody
  /** limit for the response headers to arrive; the body of a streamed answer is not limited */
  timeoutMs?: number
}

export function urlFor(baseUrl: string, path: string, query: Record<string, QueryValue> = {}): string {
  const url = new URL(`${baseUrl}${path}`)
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined) url.searchParams.set(key, String(value))
  }
  return url.toString()
}

/** One HTTP exchange. Resolves with any status; only transport failures become (network) errors. */
export async function send(baseUrl: string, request: HttpRequest): Promise<Response> {
  const headers: Record<string, string> = {
    [API_VERSION_HEADER]: API_VERSION,
    accept: 'application/json',
    'user-agent': userAgent,
    ...request.headers,
  }
  let body: BodyInit | undefined
  if (request.json !== undefined) {
    headers['content-type'] = 'application/json'
    body = JSON.stringify(request.json)
  } else if (request.body !== undefined) {
    const streamed = request.body()
    headers['content-type'] = streamed.contentType
    if (streamed.length !== undefined) headers['content-length'] = String(streamed.length)
    body = streamed.stream
  }
  const timeoutMs = request.timeoutMs ?? DEFAULT_TIMEOUT_MS
  const controller = new AbortController()
  const timer = setTimeout(() => controller.abort(), timeoutMs)
  try {
    return await fetch(urlFor(baseUrl, request.path, request.query), {
      method: request.method,
      headers,
      body,
      redirect: 'manual',
      signal: controller.signal,
      // required by fetch for a streamed request body
      ...(body instanceof ReadableStream ? { duplex: 'half' } : {}),
    } as RequestInit)
  } catch (error) {
    if (controller.signal.aborted) {
      throw new CliError(ExitCode.network, `The API at ${baseUrl} did not answer within ${Math.round(timeoutMs / 1000)} seconds.`)
    }
    throw networkError(baseUrl, error)
  } finally {
    clearTimeout(timer)
  }
}

export function networkError(baseUrl: string, error: unknown): CliError {
  return new CliError(ExitCode.network, `Could not reach the API at ${baseUrl} (${networkReason(error)}).`, { cause: error })
}

const NETWORK_REASONS: Record<string, string> = {
  ECONNREFUSED: 'connection refused; is it running?',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed',
  ECONNRESET: 'connection reset',
  ETIMEDOUT: 'connection timed out',
  EHOSTUNREACH: 'host unreachable',
  UND_ERR_SOCKET: 'connection closed unexpectedly',
}

/** A few words on why a connection failed, from the errno code fetch buries in its causes. */
export function networkReason(error: unknown): string {
  const code = errnoCode(error)
  if (code !== undefined) return NETWORK_REASONS[code] ?? code
  // fetch refuses some well-known ports outright (the WHATWG "bad port" list, e.g. 6000, 6667).
  if (error instanceof Error && error.cause instanceof Error && error.cause.message === 'bad port') {
    return 'its port is one HTTP clients refuse to use; choose another'
  }
  return 'network error'
}

/** fetch wraps the socket error: TypeError('fetch failed') with the errno error as its cause. */
function errnoCode(error: unknown): string | undefined {
  for (let current: unknown = error, depth = 0; current instanceof Error && depth < 4; depth++) {
    const code = (current as NodeJS.ErrnoException).code
    if (typeof code === 'string') return code
    current = current.cause
  }
  return undefined
}

export function unexpectedResponse(baseUrl: string, status: number): CliError {
  return new CliError(ExitCode.server, `The API at ${baseUrl} returned an unexpected response (HTTP ${status}).`)
}

/** The JSON object of a successful answer; anything else (HTML from a proxy, truncated JSON) is refused. */
export async function readJsonObject(baseUrl: string, response: Response): Promise<Record<string, unknown>> {
  const type = response.headers.get('content-type') ?? ''
  if (!/\bjson\b/i.test(type)) {
    await response.body?.cancel()
    throw unexpectedResponse(baseUrl, response.status)
  }
  let value: unknown
  try {
    value = await response.json()
  } catch {
    throw unexpectedResponse(baseUrl, response.status)
  }
  if (!isRecord(value)) throw unexpectedResponse(baseUrl, response.status)
  return value
}

/**
 * The API's own error message (the contract's `{"status":"error","message"}` envelope) with the exit
 * code for its status. Bodies that are not that envelope are not shown: an HTML error page from a
 * proxy means nothing to the user and may be huge.
 */
export async function apiError(baseUrl: string, response: Response): Promise<CliError> {
  const location = response.headers.get('location')
  if (response.status >= 300 && response.status < 400 && location !== null) {
    // Redirects are not followed (they would carry the token elsewhere); say where it points instead.
    await response.body?.cancel()
    const target = new URL(location, urlFor(baseUrl, '/'))
    return new CliError(
      ExitCode.server,
      `The API at ${baseUrl} redirects to ${sanitise(target.origin)}: use that address (insighta login --api-url ${sanitise(target.origin)}).`,
    )
  }
  const envelope = await readErrorEnvelope(response)
  if (envelope === null) return unexpectedResponse(baseUrl, response.status)
  let message = envelope.message
  if (response.status === 429) {
    const retry = response.headers.get('retry-after')
    if (retry !== null && /^\d+$/.test(retry)) message = `${stripStop(message)}: try again in ${retry} seconds.`
  } else if (response.status >= 500) {
    const requestId = envelope.requestId ?? response.headers.get('x-request-id')
    if (requestId !== null) message = `${stripStop(message)} (request id ${requestId}).`
  }
  const error = new CliError(exitCodeForStatus(response.status), ensureStop(message))
  if (envelope.examples.length > 0) error.examples = envelope.examples
  return error
}

async function readErrorEnvelope(response: Response): Promise<{ message: string; requestId: string | null; examples: string[] } | null> {
  if (!/\bjson\b/i.test(response.headers.get('content-type') ?? '')) {
    await response.body?.cancel()
    return null
  }
  const text = await readCapped(response, MAX_ERROR_BODY)
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return null
  }
  if (!isRecord(value) || typeof value.message !== 'string' || value.message.trim() === '') return null
  const id = value.request_id ?? value.requestId
  // Control characters from a hostile server must not reach the terminal.
  const examples = Array.isArray(value.examples) ? value.examples.filter((e): e is string => typeof e === 'string').slice(0, 10).map(sanitise) : []
  return { message: sanitise(value.message), requestId: typeof id === 'string' ? sanitise(id) : null, examples }
}

async function readCapped(response: Response, limit: number): Promise<string> {
  if (response.body === null) return ''
  const reader = response.body.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    chunks.push(value)
    size += value.byteLength
    if (size > limit) {
      await reader.cancel()
      break
    }
  }
  return Buffer.concat(chunks).toString('utf8')
}

/** Strips terminal control sequences from text that came over the network. */
export function sanitise(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, ' ').slice(0, 500)
}

function stripStop(message: string): string {
  return message.replace(/[.\s]+$/, '')
}

function ensureStop(message: string): string {
  return /[.!?]$/.test(message) ? message : `${message}.`
}
