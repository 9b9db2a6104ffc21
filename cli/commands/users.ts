import { Command } from 'commander'
import type { ApiClient } from '../api-client.ts'
import type { CliContext } from '../context.ts'
import { CliError, ExitCode } from '../errors.ts'
import { unexpectedResponse, type QueryValue } from '../http.ts'
import { pageFooter } from '../output.ts'
import { githubLogin, integerIn, MAX_LIMIT, MAX_PAGE, nonBlank, oneOf, ROLES } from '../validate.ts'
import { dataArray, listEnvelope, recordTable } from '../views.ts'
import { printJson, withExamples, withJson } from './shared.ts'
import { userTokensCommand } from './tokens.ts'

const USER_COLUMNS = ['username', 'role', 'is_active', 'email', 'last_login_at', 'created_at', 'id']
const HIDDEN_USER_FIELDS = ['avatar_url', 'github_id']

export function usersCommand(ctx: CliContext): Command {
  const users = withExamples(new Command('users'), [
    'insighta users list --search octo',
    'insighta users set-role octo-analyst admin',
    'insighta users suspend octo-analyst',
  ])
  users.addCommand(listCommand(ctx))

  const setRole = new Command('set-role')
    .description("change a user's role")
    .argument('<login>', 'GitHub username', githubLogin)
    .argument('<role>', ROLES.join(' or '), oneOf(ROLES, 'The role'))
  users.addCommand(
    withExamples(withJson(setRole), ['insighta users set-role octo-analyst admin', 'insighta users set-role octo-admin analyst']).action(
      async (login: string, role: string, options: { json?: boolean }) => updateUser(ctx, login, { role }, `${login} is now ${role}.`, options.json === true),
    ),
  )

  const suspend = new Command('suspend').description('block a user: their sessions stop working at once').argument('<login>', 'GitHub username', githubLogin)
  users.addCommand(
    withExamples(withJson(suspend), ['insighta users suspend octo-analyst']).action(async (login: string, options: { json?: boolean }) =>
      updateUser(ctx, login, { is_active: false }, `${login} is suspended.`, options.json === true),
    ),
  )

  const activate = new Command('activate').description('lift a suspension').argument('<login>', 'GitHub username', githubLogin)
  users.addCommand(
    withExamples(withJson(activate), ['insighta users activate octo-analyst']).action(async (login: string, options: { json?: boolean }) =>
      updateUser(ctx, login, { is_active: true }, `${login} is active again.`, options.json === true),
    ),
  )
  users.addCommand(userTokensCommand(ctx))
  return users
}

function listCommand(ctx: CliContext): Command {
  const command = withJson(
    new Command('list')
      .description('list users, optionally searching by username or email')
      .option('--search <text>', 'part of a username or email', nonBlank('--search'))
      .option('--page <n>', 'page number, from 1', integerIn(1, MAX_PAGE, '--page'))
      .option('--limit <n>', `rows per page, 1–${MAX_LIMIT}`, integerIn(1, MAX_LIMIT, '--limit')),
  )
  return withExamples(command, ['insighta users list', 'insighta users list --search octo --json']).action(
    async (options: { search?: string; page?: number; limit?: number; json?: boolean }) => {
      const client = await ctx.client()
      const body = await ctx.out.spin('Loading users…', () =>
        client.json({ method: 'GET', path: '/api/users', query: userSearch(options.search, { page: options.page, limit: options.limit }) }),
      )
      if (options.json) return printJson(ctx, body)
      const records = dataArray(body)
      if (records === null) throw unexpectedResponse(client.apiUrl, 200)
      const list = listEnvelope(body)
      const footer = list === null ? undefined : pageFooter(list.page, list.totalPages, list.total)
      ctx.out.table(recordTable(records, USER_COLUMNS, HIDDEN_USER_FIELDS, { footer, empty: 'No users match.' }))
    },
  )
}

/**
 * The API names its substring filter `q`; `search` is the name first agreed for it, sent too so the
 * CLI works with either (an API ignores query keys it does not know).
 */
function userSearch(text: string | undefined, paging: { page?: number; limit?: number }): Record<string, QueryValue> {
  return { q: text, search: text, ...paging }
}

/**
 * The API addresses users by id; people know logins. The search is a substring match, so the
 * result is filtered to the exact login (GitHub logins are case-insensitive).
 */
export async function findUserId(client: ApiClient, login: string): Promise<string> {
  const body = await client.json({ method: 'GET', path: '/api/users', query: userSearch(login, { limit: MAX_LIMIT }) })
  const records = dataArray(body)
  if (records === null) throw unexpectedResponse(client.apiUrl, 200)
  const user = records.find((r) => typeof r.username === 'string' && r.username.toLowerCase() === login.toLowerCase())
  if (user === undefined || typeof user.id !== 'string') throw new CliError(ExitCode.notFound, `No user has the login ${login}.`)
  return user.id
}

async function updateUser(ctx: CliContext, login: string, change: Record<string, string | boolean>, done: string, json: boolean) {
  const client = await ctx.client()
  const body = await ctx.out.spin('Updating…', async () => {
    const id = await findUserId(client, login)
    return client.json({ method: 'PATCH', path: `/api/users/${id}`, json: change })
  })
  if (json) return printJson(ctx, body)
  ctx.out.print(done)
}
