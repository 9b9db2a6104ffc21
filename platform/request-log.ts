import { randomUUID } from 'node:crypto'
import { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { pino, type Bindings, type ChildLoggerOptions, type DestinationStream, type Logger } from 'pino'
import pretty from 'pino-pretty'

/** Query parameters whose values are secrets or single-use credentials. */
const SECRET_PARAMS = /^(code|state|token|access_token|refresh_token|refreshToken|code_verifier|client_secret|test_code|device_code|user_code)$/i

/** The URL with every secret-bearing query value replaced, safe to log. */
export function redactUrl(url: string): string {
  const q = url.indexOf('?')
  if (q === -1) return url
  const params = new URLSearchParams(url.slice(q + 1))
  let changed = false
  for (const key of new Set(params.keys())) {
    if (SECRET_PARAMS.test(key)) {
      params.set(key, '[REDACTED]')
      changed = true
    }
  }
  return changed ? `${url.slice(0, q)}?${params.toString()}` : url
}

const REQUEST_ID = /^[A-Za-z0-9._-]{8,64}$/

/** Honour a caller's X-Request-Id when it looks like one, so traces join across services. */
export function genRequestId(req: { headers: Record<string, string | string[] | undefined> }): string {
  const given = req.headers['x-request-id']
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID()
}

/**
 * Fastify's own per-request lines are off (this plugin writes one line instead); request ids are
 * logged as reqId.
 */
export function quietLogController(): LogController {
  return new LogController({ disableRequestLogging: true, requestIdLogLabel: 'reqId' })
}

type LogMethod = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace'
type LogArgs = Parameters<Logger['info']>

/**
 * A request's logger that becomes a pino child (with the request id bound) only when a line is
 * written at a level that prints, or a child or the level is asked for: most requests log nothing
 * through it (their one access line has its own logger), and a pino child costs an allocation and
 * a bindings serialisation per request.
 */
class LazyChildLogger {
  private built: Logger | undefined

  constructor(
    private readonly parent: Logger,
    private readonly bindings: Bindings,
  ) {}

  private get logger(): Logger {
    return (this.built ??= this.parent.child(this.bindings))
  }

  get level(): string {
    return (this.built ?? this.parent).level
  }

  set level(level: string) {
    this.logger.level = level
  }

  isLevelEnabled(level: string): boolean {
    return (this.built ?? this.parent).isLevelEnabled(level)
  }

  private write(method: LogMethod, args: LogArgs): void {
    if ((this.built ?? this.parent).isLevelEnabled(method)) this.logger[method](...args)
  }

  fatal(...args: LogArgs) { this.write('fatal', args) }
  error(...args: LogArgs) { this.write('error', args) }
  warn(...args: LogArgs) { this.write('warn', args) }
  info(...args: LogArgs) { this.write('info', args) }
  debug(...args: LogArgs) { this.write('debug', args) }
  trace(...args: LogArgs) { this.write('trace', args) }
  silent() {}

  child(bindings: Bindings, options?: ChildLoggerOptions): Logger {
    return this.logger.child(bindings, options)
  }
}

/**
 * Fastify's `childLoggerFactory` for both apps: a lazy request logger (above). A route's own log
 * level or serializers, or a logger that is not pino (`logger: false`), get Fastify's eager child.
 */
export function lazyChildLoggerFactory(
  logger: FastifyBaseLogger,
  bindings: Bindings,
  options: ChildLoggerOptions,
): FastifyBaseLogger {
  const parent = logger as Logger
  if (typeof parent.isLevelEnabled !== 'function' || options.level !== undefined || options.serializers !== undefined)
    return logger.child(bindings, options)
  return new LazyChildLogger(parent, bindings) as unknown as FastifyBaseLogger
}

export const LOG_FORMATS = ['json', 'pretty'] as const
/** `json`: one JSON object per line (production, log shippers); `pretty`: one human-readable line (development). */
export type LogFormat = (typeof LOG_FORMATS)[number]

const REDACT = {
  paths: ['req.headers.authorization', 'req.headers.cookie', 'req.headers["x-portal-client-secret"]', 'res.headers["set-cookie"]', '*.password', '*.token'],
  censor: '[REDACTED]',
}

/** Pino options shared by both apps: credentials never reach a log line. */
export function loggerOptions(level: string) {
  return { level, redact: REDACT }
}

/** Keys of the access line that the pretty format folds into its message. */
const ACCESS_KEYS = ['reqId', 'method', 'route', 'url', 'status', 'ms', 'outcome', 'cause', 'sent_status'] as const

/** LOG_FORMAT=pretty: `12:00:01.234 INFO GET /api/profiles?page=2 200 3.1ms (reqId)`, other lines as message + fields. */
function prettyStream(destination: NodeJS.WritableStream | number): DestinationStream {
  return pretty({
    destination,
    colorize: false,
    singleLine: true,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: ['pid', 'hostname', ...ACCESS_KEYS].join(','),
    messageFormat: (log, messageKey) => {
      const id = typeof log.reqId === 'string' ? ` (${log.reqId})` : ''
      if (log[messageKey] !== 'request') return `${String(log[messageKey] ?? '')}${id}`
      const end = log.outcome === 'aborted' ? ` aborted: ${String(log.cause)}` : ''
      return `${String(log.method)} ${String(log.url)} ${String(log.status)} ${String(log.ms)}ms${end}${id}`
    },
  })
}

export interface AppLoggers {
  /** the app's logger (Fastify's `loggerInstance`): every line redacted */
  logger: Logger
  /**
   * The access-line logger, on the same destination. Its lines hold only fields this module builds
   * from already-redacted values (method, route pattern, redactUrl'd URL, status, time, request id),
   * so it skips pino's redaction pass — by measure the largest cost of a line.
   */
  access: Logger
}

/** Both loggers of an app: LOG_LEVEL, LOG_FORMAT, and a stream to write to instead of stdout (tests). */
export function createLoggers(options: { level: string; format?: LogFormat; stream?: NodeJS.WritableStream }): AppLoggers {
  const destination: DestinationStream =
    options.format === 'pretty'
      ? prettyStream(options.stream ?? 1)
      : (options.stream ?? pino.destination({ dest: 1, sync: false }))
  return {
    logger: pino(loggerOptions(options.level), destination),
    access: pino({ level: options.level }, destination),
  }
}

const logged = Symbol('access line written')
const endCause = Symbol('end cause')
type Tracked = FastifyRequest & { [logged]?: true; [endCause]?: string }

/**
 * Records why a response will not complete (e.g. an export cut off by its idle timeout), for the
 * access line of a request that ends early. Without it, an early end reads as the client's doing.
 */
export function setEndCause(request: FastifyRequest, cause: string): void {
  ;(request as Tracked)[endCause] = cause
}

/**
 * One structured line per request, whatever its end: written when the response finishes or fails
 * (onResponse), or — for a response that never finishes (client gone mid-download or mid-upload, a
 * stream destroyed) — when its connection closes, with status 499, `outcome: "aborted"`, the cause
 * and the status that had been sent. The request id appears once. Nothing is built for a line
 * the level would not print.
 */
export default fp(async function requestLog(app: FastifyInstance, options: { access?: Logger }) {
  // Without its own access logger (an app built with `logger` options), lines go through the app's.
  const access = options.access ?? (app.log as Logger)
  // `logger: false` gives Fastify's silent logger, which has no levels at all: nothing is printed.
  const printable = typeof access.isLevelEnabled === 'function' ? (level: string) => access.isLevelEnabled(level) : () => false

  function write(request: Tracked, reply: FastifyReply, aborted: boolean) {
    if (request[logged]) return
    request[logged] = true
    const status = aborted ? 499 : reply.statusCode
    const level = status >= 500 ? 'error' : 'info'
    if (!printable(level)) return
    const url = request.url.includes('?') ? redactUrl(request.url) : request.url
    const ms = Math.round(reply.elapsedTime * 100) / 100
    const route = request.routeOptions.url ?? null
    if (aborted) {
      const cause =
        request[endCause] ??
        (request.raw.complete ? 'client closed the connection before the response was complete' : 'client aborted the request body')
      access[level]({ reqId: request.id, method: request.method, route, url, status, ms, outcome: 'aborted', cause, sent_status: reply.statusCode }, 'request')
    } else {
      access[level]({ reqId: request.id, method: request.method, route, url, status, ms }, 'request')
    }
  }

  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id)
    const res = reply.raw
    res.once('close', () => {
      if (!res.writableFinished) write(request, reply, true)
    })
    done()
  })
  app.addHook('onResponse', (request, reply, done) => {
    write(request, reply, !reply.raw.writableFinished && reply.raw.destroyed)
    done()
  })
})
