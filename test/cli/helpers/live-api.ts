import { buildTestApi, type TestApi, type TestRole } from '../../helpers/api.ts'
import type { Clock } from '../../../api/services/clock.ts'
import type { TestDatabase } from '../../helpers/database.ts'
import { startGitHubStandIn, type GitHubStandIn } from '../../../dev/github-stand-in.ts'
import { freePort } from '../../helpers/ports.ts'
import type { Teardown } from './run-cli.ts'

export interface LiveApi {
  api: TestApi
  /** where the API listens, e.g. http://127.0.0.1:41234 */
  url: string
  github: GitHubStandIn
  /** an access token for a user of the role (for INSIGHTA_TOKEN) */
  token(role: TestRole): Promise<string>
}

/**
 * The real API, listening on a loopback port for the CLI child processes, with GitHub replaced by the
 * stand-in (octo-admin is an admin by the allowlist; octo-analyst is a plain analyst).
 */
export async function startLiveApi(
  t: Teardown,
  options: { seed?: boolean; env?: Record<string, string>; db?: TestDatabase; clock?: Clock } = {},
): Promise<LiveApi> {
  const github = await startGitHubStandIn()
  t.teardown(() => github.close())
  // The API must know its own public URL (GitHub sends the browser back there), so its port is
  // chosen before it starts.
  const port = await freePort()
  const api = await buildTestApi(t, {
    seed: options.seed,
    db: options.db,
    clock: options.clock,
    env: {
      GITHUB_CLIENT_ID: github.clientId,
      GITHUB_CLIENT_SECRET: github.clientSecret,
      GITHUB_OAUTH_URL: github.url,
      GITHUB_API_URL: github.url,
      ADMIN_GITHUB_LOGINS: 'octo-admin',
      API_PUBLIC_URL: `http://127.0.0.1:${port}`,
      ...options.env,
    },
  })
  const url = await api.app.listen({ host: '127.0.0.1', port })
  return {
    api,
    url,
    github,
    async token(role) {
      const headers = await api.headers(role)
      return headers.authorization.replace(/^Bearer /, '')
    },
  }
}
