import { InvalidArgumentError } from 'commander'
import { MAX_AGE, MAX_LIMIT, MAX_PAGE, SORT_COLUMNS, SORT_ORDERS } from '../contract/query-limits.ts'

/**
 * Option parsers for Commander. Every value is checked before any request is made, so a typo costs
 * no round trip and gets one sentence naming the flag and what it accepts (exit code 2).
 */

export const GENDERS = ['male', 'female'] as const
export const AGE_GROUPS = ['child', 'teenager', 'adult', 'senior'] as const
/** contract §3: the sortable columns */
export const SORT_FIELDS = SORT_COLUMNS
export const ORDERS = SORT_ORDERS
export const ROLES = ['admin', 'analyst'] as const
export { MAX_AGE, MAX_LIMIT, MAX_PAGE }
export const MAX_NAME_LENGTH = 200

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
/** GitHub logins: alphanumerics and single inner hyphens, at most 39 characters. */
const GITHUB_LOGIN = /^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$/

export function oneOf<T extends string>(values: readonly T[], what: string) {
  return (raw: string): T => {
    const value = raw.trim().toLowerCase()
    if (!(values as readonly string[]).includes(value)) throw new InvalidArgumentError(`${what} must be one of: ${values.join(', ')}.`)
    return value as T
  }
}

export function integerIn(min: number, max: number, what: string) {
  return (raw: string): number => {
    const value = raw.trim()
    if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
      throw new InvalidArgumentError(`${what} must be a whole number from ${min} to ${max}.`)
    }
    return Number(value)
  }
}

export function probability(what: string) {
  return (raw: string): number => {
    const value = raw.trim()
    if (!/^(?:\d+(?:\.\d*)?|\.\d+)$/.test(value) || Number(value) > 1) {
      throw new InvalidArgumentError(`${what} must be a number from 0 to 1, e.g. 0.8.`)
    }
    return Number(value)
  }
}

export function countryCode(raw: string): string {
  const value = raw.trim().toUpperCase()
  if (!/^[A-Z]{2}$/.test(value)) throw new InvalidArgumentError('The country must be a two-letter ISO code, e.g. NG.')
  return value
}

export function uuid(what: string) {
  return (raw: string): string => {
    const value = raw.trim()
    if (!UUID.test(value)) throw new InvalidArgumentError(`${what} must be a UUID, e.g. 0190a4b2-7c1e-7d3a-9f00-1234567890ab.`)
    return value.toLowerCase()
  }
}

export function githubLogin(raw: string): string {
  const value = raw.trim().replace(/^@/, '')
  if (!GITHUB_LOGIN.test(value)) throw new InvalidArgumentError('The login must be a GitHub username, e.g. octo-analyst.')
  return value
}

export function profileName(raw: string): string {
  const value = raw.trim()
  if (value === '') throw new InvalidArgumentError('The name must not be empty.')
  if ([...value].length > MAX_NAME_LENGTH) throw new InvalidArgumentError(`The name must be at most ${MAX_NAME_LENGTH} characters.`)
  return value
}

export function nonBlank(what: string) {
  return (raw: string): string => {
    if (raw.trim() === '') throw new InvalidArgumentError(`${what} must not be empty.`)
    return raw.trim()
  }
}

export function port(raw: string): number {
  return integerIn(1, 65535, 'The port')(raw)
}
