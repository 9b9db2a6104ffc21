import { Command, InvalidArgumentError } from 'commander'
import type { ApiClient } from '../api-client.ts'
import type { CliContext } from '../context.ts'
import { isRecord } from '../credentials.ts'
import { CliError, ExitCode, usageError } from '../errors.ts'
import { sanitise, unexpectedResponse } from '../http.ts'
import { dataArray, recordTable } from '../views.ts'
import { showProfiles } from './profiles.ts'
import { savedName } from './saved-name.ts'
import {
  filterQuery,
  pagingQuery,
  printJson,
  withExamples,
  withFilters,
  withJson,
  withSorting,
  type FilterOptions,
  type PagingOptions,
} from './shared.ts'
import { integerIn, MAX_LIMIT } from '../validate.ts'

type Json = Record<string, unknown>

const SAVED_COLUMNS = ['name', 'kind', 'query', 'created_at', 'id']
/** contract/saved-search.ts MAX_SAVED_SEARCH_QUERY */
const MAX_QUERY = 1000
/** A saved search runs one of these two requests and nothing else, whatever path the API stored. */
const RUNNABLE = /^\/api\/profiles(?:\/search)?(?:\?|$)/

interface SavedSearch {
  id: string
  name: string
  kind: string
  path: string
}

function queryString(raw: string): string {
  const value = raw.trim().replace(/^\?/, '')
  if (value === '') throw new InvalidArgumentError('--query must not be empty, e.g. --query "gender=female&country_id=NG" or --query "q=young males".')
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f-\u009f]/.test(value)) throw new InvalidArgumentError('--query must not contain control characters.')
  if (value.length > MAX_QUERY) throw new InvalidArgumentError(`--query must be at most ${MAX_QUERY} characters.`)
  return value
}

async function savedSearches(client: ApiClient): Promise<SavedSearch[]> {
  const records = dataArray(await client.json({ method: 'GET', path: '/api/saved-searches' }))
  if (records === null) throw unexpectedResponse(client.apiUrl, 200)
  return records.flatMap((r) =>
    typeof r.id === 'string' && typeof r.name === 'string' && typeof r.path === 'string' ? [{ id: r.id, name: r.name, kind: String(r.kind), path: r.path }] : [],
  )
}

/** By exact name, else by the one name that matches ignoring case. */
async function findSaved(client: ApiClient, name: string): Promise<SavedSearch> {
  const all = await savedSearches(client)
  const exact = all.find((s) => s.name === name)
  if (exact !== undefined) return exact
  const folded = all.filter((s) => s.name.toLowerCase() === name.toLowerCase())
  if (folded.length === 1) return folded[0]
  throw new CliError(ExitCode.notFound, `You have no saved search named "${name}" (insighta saved list shows them).`)
}

/** `insighta profiles list --saved NAME`: the saved request, with this command line's paging and sorting. */
export async function runSaved(ctx: CliContext, name: string, options: FilterOptions & PagingOptions, json: boolean): Promise<void> {
  if (Object.values(filterQuery(options)).some((v) => v !== undefined)) {
    throw usageError('--saved runs the saved filter as it is: leave out the filter flags, or save a new search (insighta saved save).')
  }
  const client = await ctx.client()
  const saved = await ctx.out.spin('Loading saved search…', () => findSaved(client, name))
  if (!RUNNABLE.test(saved.path)) throw unexpectedResponse(client.apiUrl, 200)
  const [path, search = ''] = saved.path.split('?', 2)
  const query: Record<string, string | number | undefined> = Object.fromEntries(new URLSearchParams(search))
  for (const [key, value] of Object.entries(pagingQuery(options))) if (value !== undefined) query[key] = value
  await showProfiles(ctx, path, query, { ...options, json })
}

export function savedCommand(ctx: CliContext): Command {
  const saved = withExamples(new Command('saved'), [
    'insighta saved list',
    'insighta saved save "lagos women" --gender female --country NG',
    'insighta saved save "young kenyans" --query "q=young people from kenya"',
    'insighta profiles list --saved "lagos women"',
    'insighta saved delete "lagos women"',
  ])

  const list = withJson(new Command('list').description('your saved searches (the default)'))
  saved.addCommand(
    withExamples(list, ['insighta saved list', 'insighta saved list --json']).action(async (options: { json?: boolean }) => {
      const client = await ctx.client()
      const body = await ctx.out.spin('Loading saved searches…', () => client.json({ method: 'GET', path: '/api/saved-searches' }))
      if (options.json) return printJson(ctx, body)
      const records = dataArray(body)
      if (records === null) throw unexpectedResponse(client.apiUrl, 200)
      ctx.out.table(recordTable(records, SAVED_COLUMNS, ['path'], { empty: 'No saved searches: insighta saved save NAME --gender female …' }))
    }),
    { isDefault: true },
  )

  const save = withJson(
    withSorting(
      withFilters(
        new Command('save')
          .description('save a list filter (the list flags) or a query string (--query) under a name')
          .argument('<name>', 'how you will call it, e.g. "lagos women"', savedName)
          .option('--query <qs>', 'a list or search query string: "gender=female&country_id=NG" or "q=young males from kenya"', queryString),
      ),
    ).option('--limit <n>', `rows per page, 1–${MAX_LIMIT}`, integerIn(1, MAX_LIMIT, '--limit')),
  )
  saved.addCommand(
    withExamples(save, [
      'insighta saved save "lagos women" --gender female --country NG',
      'insighta saved save seniors --age-group senior --sort-by age --order desc',
      'insighta saved save "young kenyans" --query "q=young people from kenya"',
    ]).action(async (name: string, options: FilterOptions & PagingOptions & { query?: string; json?: boolean }) => {
      const flags = Object.entries({ ...filterQuery(options), ...pagingQuery(options) }).filter(([, v]) => v !== undefined)
      if (options.query !== undefined && flags.length > 0) throw usageError('Give either --query or the list flags, not both.')
      const query = options.query ?? new URLSearchParams(flags.map(([k, v]) => [k, String(v)])).toString()
      if (query === '') throw usageError('Nothing to save: give list flags (e.g. --gender female --country NG) or --query "q=…".')
      const client = await ctx.client()
      const body = await ctx.out.spin('Saving…', () => client.json({ method: 'POST', path: '/api/saved-searches', json: { name, query } }))
      if (options.json) return printJson(ctx, body)
      const data: Json | undefined = isRecord(body.data) ? body.data : undefined
      if (data === undefined) throw unexpectedResponse(client.apiUrl, 201)
      const [saved, kind, stored] = [data.name, data.kind, data.query].map((v) => sanitise(String(v)))
      ctx.out.print(`Saved "${saved}" (${kind}: ${stored}). Run it with: insighta profiles list --saved "${saved}"`)
    }),
  )

  const remove = new Command('delete').description('delete one of your saved searches').argument('<name>', 'its name', savedName)
  saved.addCommand(
    withExamples(remove, ['insighta saved delete "lagos women"']).action(async (name: string) => {
      const client = await ctx.client()
      const found = await ctx.out.spin('Deleting…', async () => {
        const found = await findSaved(client, name)
        const response = await client.request({ method: 'DELETE', path: `/api/saved-searches/${found.id}` })
        await response.body?.cancel()
        return found
      })
      ctx.out.print(`Deleted the saved search "${sanitise(found.name)}".`)
    }),
  )
  return saved
}
