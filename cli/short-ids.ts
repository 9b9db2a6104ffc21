import { InvalidArgumentError } from 'commander'
import { CliError, ExitCode } from './errors.ts'
import { SHORT_ID_LENGTH } from './output.ts'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
/** The start of a UUID as a terminal table shows it: at least 4 hex digits, hyphens where a UUID has them. */
const PREFIX = /^[0-9a-f]{4,8}(?:-[0-9a-f]{0,4}(?:-[0-9a-f]{0,4}(?:-[0-9a-f]{0,4}(?:-[0-9a-f]{0,12})?)?)?)?$/

export function isFullId(value: string): boolean {
  return UUID.test(value)
}

/** Option parser: a full UUID or the first characters of one (what a terminal table shows). */
export function idOrPrefix(what: string) {
  return (raw: string): string => {
    const value = raw.trim().toLowerCase()
    if (!UUID.test(value) && !PREFIX.test(value)) {
      throw new InvalidArgumentError(
        `${what} must be a UUID or its first characters (at least 4, e.g. the ${SHORT_ID_LENGTH} a table shows), e.g. 0190a4b2.`,
      )
    }
    return value
  }
}

/**
 * The one id among `ids` that starts with `given`. None is "not found" (exit 5); several are refused
 * (exit 2) with the candidates, because acting on a guess (revoking the wrong session) is worse than
 * asking for a few more characters.
 */
export function resolvePrefix(given: string, ids: readonly string[], what: string): string {
  if (ids.includes(given)) return given
  const matches = ids.filter((id) => id.startsWith(given))
  if (matches.length === 1) return matches[0]
  if (matches.length === 0) throw new CliError(ExitCode.notFound, `No ${what} has an id starting with ${given}.`)
  const shown = matches.slice(0, 5).join(', ')
  const more = matches.length > 5 ? ` and ${matches.length - 5} more` : ''
  throw new CliError(ExitCode.usage, `${given} is ambiguous: ${matches.length} ${what}s have ids starting with it (${shown}${more}); give more characters.`)
}
