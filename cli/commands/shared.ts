import type { Command } from 'commander'
import type { CliContext } from '../context.ts'
import { usageError } from '../errors.ts'
import type { QueryValue } from '../http.ts'
import {
  AGE_GROUPS,
  countryCode,
  GENDERS,
  integerIn,
  MAX_AGE,
  MAX_LIMIT,
  MAX_PAGE,
  oneOf,
  ORDERS,
  probability,
  SORT_FIELDS,
} from '../validate.ts'

/** Appends an "Examples:" section to a command's --help. */
export function withExamples(command: Command, examples: readonly string[]): Command {
  return command.addHelpText('after', `\nExamples:\n${examples.map((e) => `  $ ${e}`).join('\n')}\n`)
}

export function withJson(command: Command): Command {
  return command.option('--json', "print the API's JSON answer instead of a table (for scripts)")
}

export function printJson(ctx: CliContext, body: unknown): void {
  ctx.out.print(JSON.stringify(body, null, 2))
}

export interface FilterOptions {
  gender?: string
  country?: string
  ageGroup?: string
  minAge?: number
  maxAge?: number
  minGenderProbability?: number
  minCountryProbability?: number
}

export interface PagingOptions {
  /** every page, following the API's cursor (list and search) */
  all?: boolean
  page?: number
  limit?: number
  sortBy?: string
  order?: string
}

export function withFilters(command: Command): Command {
  return command
    .option('--gender <gender>', 'male or female', oneOf(GENDERS, 'The gender'))
    .option('--country <code>', 'two-letter ISO country code, e.g. NG', countryCode)
    .option('--age-group <group>', AGE_GROUPS.join(', '), oneOf(AGE_GROUPS, 'The age group'))
    .option('--min-age <years>', `youngest age, 0–${MAX_AGE}`, integerIn(0, MAX_AGE, '--min-age'))
    .option('--max-age <years>', `oldest age, 0–${MAX_AGE}`, integerIn(0, MAX_AGE, '--max-age'))
    .option('--min-gender-probability <p>', 'gender confidence at least p (0–1)', probability('--min-gender-probability'))
    .option('--min-country-probability <p>', 'country confidence at least p (0–1)', probability('--min-country-probability'))
}

export function withSorting(command: Command): Command {
  return command
    .option('--sort-by <field>', SORT_FIELDS.join(', '), oneOf(SORT_FIELDS, '--sort-by'))
    .option('--order <order>', 'asc or desc', oneOf(ORDERS, '--order'))
}

export function withPaging(command: Command): Command {
  return withSorting(command)
    .option('--page <n>', 'page number, from 1', integerIn(1, MAX_PAGE, '--page'))
    .option('--limit <n>', `rows per page, 1–${MAX_LIMIT} (with --all: ${MAX_LIMIT})`, integerIn(1, MAX_LIMIT, '--limit'))
    .option('--all', 'every page, printed as it arrives (--limit is the page size; with --json: one profile per line)')
}

/** `--all` starts at the first page and walks to the last: a page number makes no sense with it. */
export function checkPagingChoice(options: PagingOptions): void {
  if (options.all === true && options.page !== undefined) {
    throw usageError('--all prints every page from the first one: leave out --page (--limit sets the page size).')
  }
}

/** The contract's query parameter names (§3). */
export function filterQuery(options: FilterOptions): Record<string, QueryValue> {
  return {
    gender: options.gender,
    country_id: options.country,
    age_group: options.ageGroup,
    min_age: options.minAge,
    max_age: options.maxAge,
    min_gender_probability: options.minGenderProbability,
    min_country_probability: options.minCountryProbability,
  }
}

export function pagingQuery(options: PagingOptions): Record<string, QueryValue> {
  return { sort_by: options.sortBy, order: options.order, page: options.page, limit: options.limit }
}
