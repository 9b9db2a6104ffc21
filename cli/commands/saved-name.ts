import { InvalidArgumentError } from 'commander'

/** contract/saved-search.ts MAX_SAVED_SEARCH_NAME (that module needs typebox, which the CLI does not ship). */
export const MAX_SAVED_NAME = 100

/** A saved search's name as typed: trimmed, not empty, printable, within the API's limit. */
export function savedName(raw: string): string {
  const value = raw.trim()
  if (value === '') throw new InvalidArgumentError('The saved search name must not be empty.')
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f-\u009f]/.test(value)) throw new InvalidArgumentError('The saved search name must not contain control characters.')
  if ([...value].length > MAX_SAVED_NAME) throw new InvalidArgumentError(`The saved search name must be at most ${MAX_SAVED_NAME} characters.`)
  return value
}
