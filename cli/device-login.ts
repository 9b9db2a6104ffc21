import { openBrowser } from './browser.ts'
import type { CliContext } from './context.ts'
import { credentialsPath, isRecord, writeCredentials, type Credentials } from './credentials.ts'
import { CliError, ExitCode } from './errors.ts'
import { apiError, readJsonObject, sanitise, send, unexpectedResponse } from './http.ts'
import { CLI_CLIENT_ID, credentialsFor } from './login.ts'
import { parseTokenResponse } from './session.ts'

/** RFC 8628 §3.4 (the same string as contract/device.ts, which the CLI cannot load: it needs typebox). */
export const DEVICE_CODE_GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:device_code'
/** RFC 8628 §3.5: each slow_down adds 5 seconds to the interval, for good. */
const SLOW_DOWN_STEP_SECONDS = 5
/** When the API names no interval (the RFC's default). */
const DEFAULT_INTERVAL_SECONDS = 5
/** A Retry-After longer than this is not waited for: the code would be long expired. */
const MAX_WAIT_SECONDS = 600

export interface DeviceLoginOptions {
  apiUrl: string
  /** try to open verification_uri_complete in a browser on this machine */
  openBrowser: boolean
  /** why the device flow is used without being asked for (printed first) */
  reason?: string
}

interface DeviceCode {
  deviceCode: string
  userCode: string
  verificationUri: string
  verificationUriComplete: string | undefined
  expiresIn: number
  interval: number
}

/**
 * The OAuth device authorization grant (RFC 8628): the API hands out a device code and a short user
 * code; the user approves the code on the portal's /device page, from any browser on any machine;
 * meanwhile this process polls /auth/token. The credentials are stored exactly like a browser login's.
 */
export async function deviceLogin(ctx: CliContext, options: DeviceLoginOptions): Promise<Credentials> {
  const { apiUrl } = options
  if (options.reason !== undefined) ctx.out.message(`No browser can be used here (${options.reason}): logging in with a code instead.`)
  const code = await requestDeviceCode(apiUrl)
  const opened = options.openBrowser && code.verificationUriComplete !== undefined && (await openBrowser(code.verificationUriComplete))
  ctx.out.message(`To log in, open ${code.verificationUri} in a browser on any device and enter the code:\n\n  ${code.userCode}\n`)
  if (code.verificationUriComplete !== undefined) ctx.out.message(`Or open this link, which fills in the code:\n  ${code.verificationUriComplete}\n`)
  if (opened) ctx.out.message('Your browser has been opened at that page.')

  const credentials = await ctx.out.spin(`Waiting for the code to be approved (it expires in ${minutes(code.expiresIn)}; Ctrl+C cancels)…`, () =>
    poll(ctx, apiUrl, code),
  )
  await writeCredentials(ctx.env.home, credentials, ctx.warn)
  ctx.out.print(`Logged in to ${apiUrl} as ${credentials.user.username} (${credentials.user.role}).`)
  ctx.out.print(`Credentials saved in ${credentialsPath(ctx.env.home)}.`)
  return credentials
}

async function requestDeviceCode(apiUrl: string): Promise<DeviceCode> {
  const response = await send(apiUrl, { method: 'POST', path: '/auth/device/code', json: { client_id: CLI_CLIENT_ID } })
  if (!response.ok) throw await apiError(apiUrl, response)
  const body = await readJsonObject(apiUrl, response)
  const { device_code, user_code, verification_uri, verification_uri_complete, expires_in, interval } = body
  if (
    typeof device_code !== 'string' ||
    device_code === '' ||
    typeof user_code !== 'string' ||
    user_code === '' ||
    typeof verification_uri !== 'string' ||
    !/^https?:\/\//.test(verification_uri) ||
    typeof expires_in !== 'number' ||
    !(expires_in > 0)
  ) {
    throw unexpectedResponse(apiUrl, response.status)
  }
  const complete = typeof verification_uri_complete === 'string' && /^https?:\/\//.test(verification_uri_complete) ? verification_uri_complete : undefined
  return {
    deviceCode: device_code,
    // Shown on the terminal: nothing from the network reaches it unfiltered.
    userCode: sanitise(user_code),
    verificationUri: sanitise(verification_uri),
    verificationUriComplete: complete === undefined ? undefined : sanitise(complete),
    expiresIn: expires_in,
    interval: typeof interval === 'number' && interval >= 1 ? Math.min(interval, MAX_WAIT_SECONDS) : DEFAULT_INTERVAL_SECONDS,
  }
}

/**
 * Polls every `interval` seconds: authorization_pending waits, slow_down (and a 429 busy answer)
 * waits longer from then on, anything else ends the login. The code's own expiry bounds the loop,
 * by the local clock as well as by the API's expired_token.
 */
async function poll(ctx: CliContext, apiUrl: string, code: DeviceCode): Promise<Credentials> {
  const deadline = Date.now() + code.expiresIn * 1000
  let interval = code.interval
  for (;;) {
    await sleep(interval * 1000)
    if (Date.now() > deadline + interval * 1000) throw expired()
    const now = Date.now()
    const response = await send(apiUrl, {
      method: 'POST',
      path: '/auth/token',
      json: { grant_type: DEVICE_CODE_GRANT_TYPE, device_code: code.deviceCode, client_id: CLI_CLIENT_ID },
    })
    if (response.ok) {
      const tokens = parseTokenResponse(apiUrl, response.status, await readJsonObject(apiUrl, response))
      return credentialsFor(apiUrl, tokens, now)
    }
    if (response.status === 429) {
      const retry = Number(response.headers.get('retry-after'))
      await response.body?.cancel()
      interval = Math.max(interval + SLOW_DOWN_STEP_SECONDS, Number.isInteger(retry) && retry > 0 ? Math.min(retry, MAX_WAIT_SECONDS) : 0)
      ctx.out.message(`The API is busy: polling every ${interval} seconds from now on.`)
      continue
    }
    if (response.status !== 400) throw await apiError(apiUrl, response)
    const error = await deviceError(apiUrl, response)
    switch (error) {
      case 'authorization_pending':
        continue
      case 'slow_down':
        interval += SLOW_DOWN_STEP_SECONDS
        ctx.out.message(`The API asked to poll more slowly: every ${interval} seconds from now on.`)
        continue
      case 'access_denied':
        throw new CliError(ExitCode.auth, 'The login was denied in the browser: nothing was saved.')
      case 'expired_token':
        throw expired()
      default:
        throw new CliError(ExitCode.auth, `The API refused the device login (${error}): run insighta login --device again.`)
    }
  }
}

async function deviceError(apiUrl: string, response: Response): Promise<string> {
  const body = await readJsonObject(apiUrl, response).catch(() => null)
  if (body === null || !isRecord(body) || typeof body.error !== 'string') throw unexpectedResponse(apiUrl, response.status)
  return sanitise(body.error).slice(0, 64)
}

const expired = () => new CliError(ExitCode.auth, 'The code expired before it was approved: run insighta login --device again.')

function minutes(seconds: number): string {
  if (seconds < 120) return `${Math.round(seconds)} seconds`
  return `${Math.round(seconds / 60)} minutes`
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
