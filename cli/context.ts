import { ApiClient } from './api-client.ts'
import type { Warn } from './credentials.ts'
import type { CliEnvironment } from './environment.ts'
import type { Output } from './output.ts'
import { openTokenSource, type TokenSource } from './session.ts'

/** What every command receives: its environment, where to write, and (lazily) an API client. */
export interface CliContext {
  env: CliEnvironment
  out: Output
  warn: Warn
  /** the credentials in force (INSIGHTA_TOKEN or the file); throws "not logged in" when there are none */
  tokenSource(): Promise<TokenSource>
  client(): Promise<ApiClient>
}

export function createContext(env: CliEnvironment, out: Output): CliContext {
  const warn: Warn = (message) => out.message(message)
  let source: Promise<TokenSource> | undefined
  const tokenSource = () => (source ??= openTokenSource(env, warn))
  return {
    env,
    out,
    warn,
    tokenSource,
    async client() {
      return new ApiClient(await tokenSource())
    },
  }
}
