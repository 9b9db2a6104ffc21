import type { ApiClient } from './api-client.ts'
import type { Warn } from './credentials.ts'
import type { CliEnvironment } from './environment.ts'
import type { Output } from './output.ts'
import type { TokenSource } from './session.ts'

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
  // Loaded on first use: --help and usage errors never pay for the credentials and HTTP modules.
  const tokenSource = () => (source ??= import('./session.ts').then(({ openTokenSource }) => openTokenSource(env, warn)))
  return {
    env,
    out,
    warn,
    tokenSource,
    async client() {
      const [{ ApiClient }, tokens] = await Promise.all([import('./api-client.ts'), tokenSource()])
      return new ApiClient(tokens)
    },
  }
}
