import { createInterface } from 'node:readline/promises'
import { Command } from 'commander'
import type { CliContext } from '../context.ts'
import { isRecord } from '../credentials.ts'
import { InvalidArgumentError } from 'commander'
import { MAX_QUERY_LENGTH } from '../../contract/query-limits.ts'
import { SEARCH_EXAMPLES } from '../../contract/search-examples.ts'
import { CliError, ExitCode, usageError } from '../errors.ts'
import { cellText } from '../output.ts'
import { isFullId } from '../short-ids.ts'
import { unexpectedResponse } from '../http.ts'
import { profileName, uuid } from '../validate.ts'
import { listEnvelope, profileDetails, profileTable, statsReport } from '../views.ts'
import { exportCommand } from './profile-export.ts'
import { savedName } from './saved-name.ts'
import { importCommand } from './profile-import.ts'
import {
  checkPagingChoice,
  filterQuery,
  pagingQuery,
  printJson,
  withExamples,
  withFilters,
  withJson,
  withPaging,
  type FilterOptions,
  type PagingOptions,
} from './shared.ts'

type JsonFlag = { json?: boolean }

export function profilesCommand(ctx: CliContext): Command {
  const profiles = withExamples(
    new Command('profiles'),
    ['insighta profiles list --gender male --country NG', 'insighta profiles search "young males from nigeria"', 'insighta profiles stats --json'],
  )
  profiles.addCommand(listCommand(ctx))
  profiles.addCommand(getCommand(ctx))
  profiles.addCommand(searchCommand(ctx))
  profiles.addCommand(createCommand(ctx))
  profiles.addCommand(deleteCommand(ctx))
  profiles.addCommand(exportCommand(ctx))
  profiles.addCommand(statsCommand(ctx))
  profiles.addCommand(importCommand(ctx))
  return profiles
}

/** Prints a page of profiles: the API's JSON, or a table with "page x of y, total N". */
export async function showPage(ctx: CliContext, path: string, query: Record<string, string | number | undefined>, json: boolean) {
  const client = await ctx.client()
  const body = await ctx.out.spin('Loading profiles…', () => client.json({ method: 'GET', path, query }))
  if (json) return printJson(ctx, body)
  // A search says how it read the question; a person at a terminal sees it, a pipe gets data only.
  if (ctx.out.interactive) {
    const line = (await import('./search-explained.ts')).understoodAs(body.interpreted)
    if (line !== undefined) ctx.out.message(line)
  }
  const list = listEnvelope(body)
  if (list === null) throw unexpectedResponse(client.apiUrl, 200)
  ctx.out.table(profileTable(list))
}

/** One page (showPage), or with `--all` every page as it arrives (profile-walk.ts). */
export async function showProfiles(ctx: CliContext, path: string, query: Record<string, string | number | undefined>, options: PagingOptions & JsonFlag) {
  if (options.all !== true) return showPage(ctx, path, query, options.json === true)
  const { page: _page, ...rest } = query
  await (await import('./profile-walk.ts')).walkAllPages(ctx, path, rest, options.json === true)
}

function listCommand(ctx: CliContext): Command {
  const command = withJson(withPaging(withFilters(new Command('list').description('list profiles, filtered, sorted and paginated'))))
  command.option('--saved <name>', 'run one of your saved searches (insighta saved list); paging and sorting flags still apply', savedName)
  return withExamples(command, [
    'insighta profiles list',
    'insighta profiles list --gender male --country NG --min-age 25',
    'insighta profiles list --age-group adult --sort-by age --order desc --page 2 --limit 20',
    'insighta profiles list --min-gender-probability 0.8 --json',
    'insighta profiles list --saved "lagos women"',
    'insighta profiles list --all --country NG > nigeria.tsv',
    'insighta profiles list --all --json --sort-by age | jq -r .name',
  ]).action(async (options: FilterOptions & PagingOptions & JsonFlag & { saved?: string }) => {
    checkPagingChoice(options)
    if (options.saved !== undefined) return (await import('./saved.ts')).runSaved(ctx, options.saved, options, options.json === true)
    await showProfiles(ctx, '/api/profiles', { ...filterQuery(options), ...pagingQuery(options) }, options)
  })
}

function searchCommand(ctx: CliContext): Command {
  const command = withJson(withPaging(new Command('search').description('search profiles in plain English (rule-based: docs/search.md)')))
  return withExamples(command.argument('<query>', `e.g. "${SEARCH_EXAMPLES[0]}" (at most ${MAX_QUERY_LENGTH} characters)`, searchQuery), [
    ...SEARCH_EXAMPLES.slice(0, 3).map((example) => `insighta profiles search "${example}"`),
    'insighta profiles search "seniors from angola" --page 2 --json',
    'insighta profiles search "young males" --all | wc -l',
  ]).action(async (query: string, options: PagingOptions & JsonFlag) => {
    checkPagingChoice(options)
    try {
      await showProfiles(ctx, '/api/profiles/search', { q: query, ...pagingQuery(options) }, options)
    } catch (error) {
      // The API could not read the query (400 "Unable to interpret query", 422): show what it can read.
      if (error instanceof CliError && error.exitCode === ExitCode.usage && error.partial !== true) throw new CliError(error.exitCode, `${error.message}\n${searchExamplesText(error.examples)}`)
      throw error
    }
  })
}

function getCommand(ctx: CliContext): Command {
  const command = withJson(new Command('get').description('show one profile').argument('<id>', 'the profile id (a UUID)', profileId))
  return withExamples(command, ['insighta profiles get 0190a4b2-7c1e-7d3a-9f00-1234567890ab', 'insighta profiles get <id> --json']).action(
    async (id: string, options: JsonFlag) => {
      const client = await ctx.client()
      const body = await ctx.out.spin('Loading profile…', () => client.json({ method: 'GET', path: `/api/profiles/${id}` }))
      if (options.json) return printJson(ctx, body)
      if (!isRecord(body.data)) throw unexpectedResponse(client.apiUrl, 200)
      ctx.out.print(profileDetails(body.data))
    },
  )
}

function createCommand(ctx: CliContext): Command {
  const command = withJson(
    new Command('create')
      .description('create a profile from a name (admin): the API estimates gender, age and country')
      .requiredOption('--name <name>', 'the full name', profileName),
  )
  return withExamples(command, ['insighta profiles create --name "Harriet Tubman"', 'insighta profiles create --name "Ada Lovelace" --json']).action(
    async (options: { name: string } & JsonFlag) => {
      const client = await ctx.client()
      const body = await ctx.out.spin('Creating profile…', () => client.json({ method: 'POST', path: '/api/profiles', json: { name: options.name } }))
      if (options.json) return printJson(ctx, body)
      if (!isRecord(body.data)) throw unexpectedResponse(client.apiUrl, 200)
      // 200 "Profile already exists" is a success too: the name is unique, nothing was written.
      ctx.out.print(typeof body.message === 'string' ? `${body.message}:` : 'Created:')
      ctx.out.print(profileDetails(body.data))
    },
  )
}

function deleteCommand(ctx: CliContext): Command {
  const command = new Command('delete')
    .description('delete a profile (admin); asks first unless --yes')
    .argument('<id>', 'the profile id (a UUID)', profileId)
    .option('-y, --yes', 'do not ask for confirmation (required when not on a terminal)')
  return withExamples(command, ['insighta profiles delete 0190a4b2-7c1e-7d3a-9f00-1234567890ab', 'insighta profiles delete <id> --yes']).action(
    async (id: string, options: { yes?: boolean }) => {
      if (!options.yes) ensureCanConfirm(ctx)
      const client = await ctx.client()
      // Looked up first: the question names the profile (ids all look alike), and a wrong id fails
      // before anyone is asked anything.
      const body = await ctx.out.spin('Loading profile…', () => client.json({ method: 'GET', path: `/api/profiles/${id}` }))
      const name = isRecord(body.data) && typeof body.data.name === 'string' ? cellText(body.data.name) : undefined
      const what = name === undefined ? `profile ${id}` : `profile "${name}" (${id})`
      if (!options.yes) await confirm(ctx, `Delete ${what}? [y/N] `)
      const response = await ctx.out.spin('Deleting profile…', () => client.request({ method: 'DELETE', path: `/api/profiles/${id}` }))
      await response.body?.cancel()
      ctx.out.print(`Deleted ${what}.`)
    },
  )
}

/** The example queries the portal shows too (contract/search-examples.ts). */
export function searchExamplesText(examples: readonly string[] = SEARCH_EXAMPLES): string {
  return `Try a query like:\n${examples.map((example) => `  insighta profiles search "${example}"`).join('\n')}`
}

/** The query as the API will read it: not blank, no control characters, within the search's limit. */
export function searchQuery(raw: string): string {
  const value = raw.trim()
  if (value === '') throw new InvalidArgumentError(`The search query must not be empty.\n${searchExamplesText()}`)
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(value)) throw new InvalidArgumentError('The search query must not contain control characters (tabs, newlines, NUL).')
  const length = [...value].length
  if (length > MAX_QUERY_LENGTH) {
    throw new InvalidArgumentError(`The search query must be at most ${MAX_QUERY_LENGTH} characters; this one has ${length}.`)
  }
  return value
}

/**
 * A profile id in full. The first characters a terminal table shows are not enough here: UUID v7
 * ids start with their creation time, so every profile created in the same minute shares them, and
 * the API has no id-prefix lookup to tell them apart.
 */
export function profileId(raw: string): string {
  const value = raw.trim().toLowerCase()
  if (!isFullId(value) && /^[0-9a-f]{4,8}(?:-[0-9a-f-]*)?$/.test(value)) {
    throw new InvalidArgumentError(
      'The profile id must be given in full: profiles created in the same minute share their first characters. ' +
        '`insighta profiles list | cut -f1` (or --json) prints full ids.',
    )
  }
  return uuid('The profile id')(value)
}

/** A destructive command never proceeds on a guess: no terminal to ask means --yes is required. */
function ensureCanConfirm(ctx: CliContext): void {
  if (!process.stdin.isTTY || !ctx.out.interactive) throw usageError('Refusing to delete without confirmation: pass --yes.')
}

async function confirm(ctx: CliContext, question: string): Promise<void> {
  ensureCanConfirm(ctx)
  const rl = createInterface({ input: process.stdin, output: process.stderr })
  try {
    const answer = await rl.question(question)
    if (!/^y(es)?$/i.test(answer.trim())) throw usageError('Cancelled: nothing was deleted.')
  } finally {
    rl.close()
  }
}

function statsCommand(ctx: CliContext): Command {
  const command = withJson(withFilters(new Command('stats').description('counts by gender, age group, country and age, for the filtered profiles')))
  return withExamples(command, ['insighta profiles stats', 'insighta profiles stats --country NG --gender female', 'insighta profiles stats --json']).action(
    async (options: FilterOptions & JsonFlag) => {
      const client = await ctx.client()
      const body = await ctx.out.spin('Counting…', () => client.json({ method: 'GET', path: '/api/profiles/stats', query: filterQuery(options) }))
      if (options.json) return printJson(ctx, body)
      if (!isRecord(body.data)) throw unexpectedResponse(client.apiUrl, 200)
      ctx.out.print(statsReport(body.data))
    },
  )
}
