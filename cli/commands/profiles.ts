import { createInterface } from 'node:readline/promises'
import { Command } from 'commander'
import type { CliContext } from '../context.ts'
import { isRecord } from '../credentials.ts'
import { usageError } from '../errors.ts'
import { unexpectedResponse } from '../http.ts'
import { nonBlank, profileName, uuid } from '../validate.ts'
import { listEnvelope, profileDetails, profileTable, statsReport } from '../views.ts'
import { exportCommand } from './profile-export.ts'
import { importCommand } from './profile-import.ts'
import {
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
async function showPage(ctx: CliContext, path: string, query: Record<string, string | number | undefined>, json: boolean) {
  const client = await ctx.client()
  const body = await ctx.out.spin('Loading profiles…', () => client.json({ method: 'GET', path, query }))
  if (json) return printJson(ctx, body)
  const list = listEnvelope(body)
  if (list === null) throw unexpectedResponse(client.apiUrl, 200)
  ctx.out.print(profileTable(list))
}

function listCommand(ctx: CliContext): Command {
  const command = withJson(withPaging(withFilters(new Command('list').description('list profiles, filtered, sorted and paginated'))))
  return withExamples(command, [
    'insighta profiles list',
    'insighta profiles list --gender male --country NG --min-age 25',
    'insighta profiles list --age-group adult --sort-by age --order desc --page 2 --limit 20',
    'insighta profiles list --min-gender-probability 0.8 --json',
  ]).action(async (options: FilterOptions & PagingOptions & JsonFlag) => {
    await showPage(ctx, '/api/profiles', { ...filterQuery(options), ...pagingQuery(options) }, options.json === true)
  })
}

function searchCommand(ctx: CliContext): Command {
  const command = withJson(withPaging(new Command('search').description('search profiles in plain English (rule-based, see the README)')))
  return withExamples(command.argument('<query>', 'e.g. "young males from nigeria"', nonBlank('The search query')), [
    'insighta profiles search "young males from nigeria"',
    'insighta profiles search "women aged 20-45 living in kenya" --page 2',
    'insighta profiles search "seniors from angola" --json',
  ]).action(async (query: string, options: PagingOptions & JsonFlag) => {
    await showPage(ctx, '/api/profiles/search', { q: query, ...pagingQuery(options) }, options.json === true)
  })
}

function getCommand(ctx: CliContext): Command {
  const command = withJson(new Command('get').description('show one profile').argument('<id>', 'the profile id (a UUID)', uuid('The profile id')))
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
    .argument('<id>', 'the profile id (a UUID)', uuid('The profile id'))
    .option('-y, --yes', 'do not ask for confirmation (required when not on a terminal)')
  return withExamples(command, ['insighta profiles delete 0190a4b2-7c1e-7d3a-9f00-1234567890ab', 'insighta profiles delete <id> --yes']).action(
    async (id: string, options: { yes?: boolean }) => {
      if (!options.yes) await confirm(ctx, `Delete profile ${id}? [y/N] `)
      const client = await ctx.client()
      const response = await ctx.out.spin('Deleting profile…', () => client.request({ method: 'DELETE', path: `/api/profiles/${id}` }))
      await response.body?.cancel()
      ctx.out.print(`Deleted profile ${id}.`)
    },
  )
}

/** A destructive command never proceeds on a guess: no terminal to ask means --yes is required. */
async function confirm(ctx: CliContext, question: string): Promise<void> {
  if (!process.stdin.isTTY || !ctx.out.interactive) throw usageError('Refusing to delete without confirmation: pass --yes.')
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
