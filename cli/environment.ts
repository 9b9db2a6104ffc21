import os from 'node:os'
import path from 'node:path'
import { usageError } from './errors.ts'
import type { ColourMode } from './output.ts'

/** The API a fresh `insighta login` talks to: the local development server (`npm start`). */
export const DEFAULT_API_URL = 'http://127.0.0.1:3000'
export const DEFAULT_LOGIN_TIMEOUT_MS = 5 * 60 * 1000

/**
 * Everything the CLI takes from its environment, read in this one place so the rest of the code
 * receives plain values (and tests can run the real binary with a controlled environment).
 */
export interface CliEnvironment {
  /** folder holding credentials.json: INSIGHTA_HOME, else ~/.insighta */
  home: string
  /** INSIGHTA_TOKEN: an access token that replaces the credentials file (CI, scripts) */
  token: string | undefined
  /** INSIGHTA_API_URL: overrides the API URL stored at login */
  apiUrl: string | undefined
  /** INSIGHTA_LOGIN_TIMEOUT_MS: how long login waits for the browser (tests shorten it) */
  loginTimeoutMs: number
  /** INSIGHTA_DEBUG=1: print stack traces of unexpected failures */
  debug: boolean
  /** NO_COLOR (any value: never) wins over FORCE_COLOR (any value but 0/false: always); else auto */
  colour: ColourMode
  /** the machine's name and OS family, for the User-Agent `insighta/<version> (<host>; <platform>)` */
  hostname: string
  platform: NodeJS.Platform
  /** why no browser can show a page here (SSH, no display), or undefined: login then uses the device flow */
  headless: string | undefined
}

export function readEnvironment(env: NodeJS.ProcessEnv = process.env): CliEnvironment {
  const home = nonEmpty(env.INSIGHTA_HOME)
  const timeout = nonEmpty(env.INSIGHTA_LOGIN_TIMEOUT_MS)
  if (timeout !== undefined && !/^[1-9]\d*$/.test(timeout)) {
    throw usageError('INSIGHTA_LOGIN_TIMEOUT_MS must be a positive whole number of milliseconds.')
  }
  const apiUrl = nonEmpty(env.INSIGHTA_API_URL)
  return {
    home: path.resolve(home ?? path.join(os.homedir(), '.insighta')),
    token: nonEmpty(env.INSIGHTA_TOKEN),
    apiUrl: apiUrl === undefined ? undefined : normaliseApiUrl(apiUrl, 'INSIGHTA_API_URL'),
    loginTimeoutMs: timeout === undefined ? DEFAULT_LOGIN_TIMEOUT_MS : Number(timeout),
    debug: env.INSIGHTA_DEBUG === '1',
    colour: colourMode(env),
    hostname: os.hostname(),
    platform: process.platform,
    headless: headlessReason(env, process.platform),
  }
}

/** SSH_CONNECTION / SSH_TTY: a remote shell; on Linux and the BSDs, no DISPLAY or WAYLAND_DISPLAY: no desktop. */
export function headlessReason(env: NodeJS.ProcessEnv, platform: NodeJS.Platform): string | undefined {
  if (nonEmpty(env.SSH_CONNECTION) !== undefined || nonEmpty(env.SSH_TTY) !== undefined) return 'this is an SSH session'
  const desktop = platform === 'darwin' || platform === 'win32'
  if (!desktop && nonEmpty(env.DISPLAY) === undefined && nonEmpty(env.WAYLAND_DISPLAY) === undefined) {
    return 'there is no display (DISPLAY and WAYLAND_DISPLAY are not set)'
  }
  return undefined
}

/** https://no-color.org and the FORCE_COLOR convention of Node and most CLIs. */
export function colourMode(env: NodeJS.ProcessEnv): ColourMode {
  if (nonEmpty(env.NO_COLOR) !== undefined) return 'never'
  const force = nonEmpty(env.FORCE_COLOR)?.toLowerCase()
  if (force === undefined) return 'auto'
  return force === '0' || force === 'false' ? 'never' : 'always'
}

/** An http(s) origin plus optional path prefix, without a trailing slash, so paths can be appended. */
export function normaliseApiUrl(value: string, source: string): string {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw usageError(`${source} must be an absolute http or https URL, e.g. ${DEFAULT_API_URL}.`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw usageError(`${source} must be an http or https URL, e.g. ${DEFAULT_API_URL}.`)
  }
  // Credentials in the URL would be sent to every endpoint and printed in messages: refuse them.
  if (url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '') {
    throw usageError(`${source} must not contain credentials, a query string or a fragment.`)
  }
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim()
}
