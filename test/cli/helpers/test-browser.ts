import type { ChildProcessWithoutNullStreams } from 'node:child_process'
import type { GitHubStandIn } from '../../../dev/github-stand-in.ts'
import { cliBuilt, collect, spawnCli, waitForStderr, type CliResult, type CliOptions } from './run-cli.ts'

/** The test browser introduces itself like a desktop Chrome, so a session it opened is recognisable. */
export const BROWSER_AGENT = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36'

/**
 * What a browser does with the URL `insighta login` prints: the API redirects to GitHub (the
 * stand-in), the user approves as `login`, GitHub redirects to the API's callback, the API redirects
 * to the CLI's loopback listener, whose page the browser finally shows. Every hop is real HTTP.
 */
export async function followLogin(authorizeUrl: string, github: GitHubStandIn, login: string): Promise<{ status: number; body: string; loopbackUrl: string }> {
  const headers = { 'user-agent': BROWSER_AGENT }
  const start = await fetch(authorizeUrl, { redirect: 'manual', headers })
  const toGitHub = start.headers.get('location')
  if (start.status !== 302 || toGitHub === null) throw new Error(`GET /auth/github answered ${start.status}: ${await start.text()}`)
  const toApiCallback = await github.approve(toGitHub, login)
  const callback = await fetch(toApiCallback, { redirect: 'manual', headers })
  const toLoopback = callback.headers.get('location')
  if (callback.status !== 302 || toLoopback === null) throw new Error(`the API callback answered ${callback.status}: ${await callback.text()}`)
  const page = await fetch(toLoopback, { headers })
  return { status: page.status, body: await page.text(), loopbackUrl: toLoopback }
}

export const AUTHORIZE_URL = /(http:\/\/127\.0\.0\.1:\d+\/auth\/github\?\S+)/

/** `insighta login --no-browser` driven to completion by the test browser. */
export async function cliLogin(
  apiUrl: string,
  github: GitHubStandIn,
  login: string,
  options: CliOptions,
): Promise<CliResult & { page: { status: number; body: string; loopbackUrl: string } }> {
  await cliBuilt()
  const child: ChildProcessWithoutNullStreams = spawnCli(['login', '--no-browser', '--api-url', apiUrl], options)
  const done = collect(child, options.timeoutMs ?? 60_000, ['login'])
  const [, url] = await waitForStderr(child, AUTHORIZE_URL)
  const page = await followLogin(url, github, login)
  return { ...(await done), page }
}
