/**
 * Exit codes are part of the CLI's interface: scripts branch on them, so each failure class gets its
 * own number and the numbers never change. docs/cli.md lists them.
 */
export const ExitCode = {
  ok: 0,
  /** reserved for crashes (a bug): Node's own exit code for an uncaught error */
  internal: 1,
  /** bad flags or values, unknown command, a request the API refused as invalid (400/409/413/422) */
  usage: 2,
  /** not logged in, session expired, login failed or timed out (401) */
  auth: 3,
  /** logged in, but the role or account state does not allow it (403) */
  permission: 4,
  /** the profile, user or session does not exist (404) */
  notFound: 5,
  /** the API could not be reached, or did not answer in time */
  network: 6,
  /** the API failed or answered something that is not the API (5xx, 429, HTML, invalid JSON) */
  server: 7,
} as const

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode]

/** A failure the user can act on: printed as one sentence, never with a stack trace. */
export class CliError extends Error {
  readonly exitCode: ExitCodeValue
  /** example queries the API sent with a search it could not interpret (contract §6) */
  examples?: readonly string[]
  /** the failure came after part of the output was printed (`--all` failing on a later page) */
  partial?: boolean

  constructor(exitCode: ExitCodeValue, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'CliError'
    this.exitCode = exitCode
  }
}

/** No credentials at all (neither INSIGHTA_TOKEN nor a file). */
export class NotLoggedInError extends CliError {
  constructor() {
    super(ExitCode.auth, NOT_LOGGED_IN)
  }
}

/** A credentials file that exists but cannot be used; `insighta login` replaces it. */
export class CorruptedCredentialsError extends CliError {
  constructor(file: string, why: string) {
    super(ExitCode.auth, `The credentials file ${file} is corrupted (${why}): run insighta login to replace it.`)
  }
}

/** The credentials file holds a session the API no longer accepts; the stored user is still known. */
export class SessionEndedError extends CliError {
  constructor(
    message: string,
    readonly user: { username: string; role: string; email: string | null } | undefined,
  ) {
    super(ExitCode.auth, message)
  }
}

export const usageError = (message: string) => new CliError(ExitCode.usage, message)
export const authError = (message: string) => new CliError(ExitCode.auth, message)

export const SESSION_EXPIRED = 'Session expired: run insighta login'
export const NOT_LOGGED_IN = 'You are not logged in: run insighta login'

/** The exit code for an API error status; anything unexpected counts as the server's fault. */
export function exitCodeForStatus(status: number): ExitCodeValue {
  if (status === 400 || status === 409 || status === 413 || status === 422) return ExitCode.usage
  if (status === 401) return ExitCode.auth
  if (status === 403) return ExitCode.permission
  if (status === 404) return ExitCode.notFound
  return ExitCode.server
}
