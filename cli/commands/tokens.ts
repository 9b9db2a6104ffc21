import { Command, InvalidArgumentError } from 'commander'
import type { ApiClient } from '../api-client.ts'
import type { CliContext } from '../context.ts'
import { isRecord } from '../credentials.ts'
import { sanitise, unexpectedResponse } from '../http.ts'
import { PAT_PREFIX } from '../personal-tokens.ts'
import { idOrPrefix, isFullId, resolvePrefix } from '../short-ids.ts'
import { githubLogin, oneOf } from '../validate.ts'
import { dataArray, keyValues, recordTable } from '../views.ts'
import { printJson, withExamples, withJson } from './shared.ts'
import { findUserId } from './users.ts'

type Json = Record<string, unknown>

const TOKEN_COLUMNS = ['id', 'name', 'scopes', 'created_at', 'expires_at', 'expired', 'last_used_at', 'last_used_ip', 'last_used_user_agent']
const SCOPES = ['read', 'admin'] as const
const MAX_NAME = 100
/** The API's own maximum is configurable (90 days by default) and it says so when exceeded. */
const MAX_DAYS = 3650

/** `30d`, `30` (days) or `12w`: whole days, 1 or more. */
export function expiryDays(raw: string): number {
  const match = /^\s*(\d{1,5})\s*(d|day|days|w|week|weeks)?\s*$/i.exec(raw)
  const days = match === null ? NaN : Number(match[1]) * (match[2]?.toLowerCase().startsWith('w') ? 7 : 1)
  if (!Number.isInteger(days) || days < 1 || days > MAX_DAYS) {
    throw new InvalidArgumentError('--expires must be a number of days such as 30d (or weeks: 4w), at least 1 day.')
  }
  return days
}

export function tokenName(raw: string): string {
  const value = raw.trim()
  if (value === '') throw new InvalidArgumentError('The token name must not be empty.')
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f-\u009f]/.test(value)) throw new InvalidArgumentError('The token name must not contain control characters.')
  if ([...value].length > MAX_NAME) throw new InvalidArgumentError(`The token name must be at most ${MAX_NAME} characters.`)
  return value
}

/** Scopes as a table cell: `read, admin`. */
function tokenRows(records: readonly Json[]): Json[] {
  return records.map((r) => ({ ...r, scopes: Array.isArray(r.scopes) ? r.scopes.map(String).join(', ') : r.scopes }))
}

function tokenTable(ctx: CliContext, client: ApiClient, body: Json, empty: string): void {
  const records = dataArray(body)
  if (records === null) throw unexpectedResponse(client.apiUrl, 200)
  ctx.out.table(recordTable(tokenRows(records), TOKEN_COLUMNS, [], { empty }))
}

async function resolveTokenId(client: ApiClient, listPath: string, given: string): Promise<string> {
  if (isFullId(given)) return given
  const records = dataArray(await client.json({ method: 'GET', path: listPath }))
  if (records === null) throw unexpectedResponse(client.apiUrl, 200)
  return resolvePrefix(given, records.flatMap((r) => (typeof r.id === 'string' ? [r.id.toLowerCase()] : [])), 'token')
}

export function tokensCommand(ctx: CliContext): Command {
  const tokens = withExamples(new Command('tokens'), [
    'insighta tokens create --name ci --expires 30d',
    'insighta tokens list',
    'insighta tokens revoke 0190a4b2',
  ])

  const create = withJson(
    new Command('create')
      .description(`create a personal access token (${PAT_PREFIX}…) for CI and scripts; the secret is printed once, on stdout`)
      .requiredOption('--name <name>', 'what the token is for, e.g. ci or build-box', tokenName)
      .option('--expires <days>', 'lifetime, e.g. 30d (default: the API’s, 30 days; at most its maximum, 90 days by default)', expiryDays)
      .option('--scope <scope...>', 'read (default) or admin (admins only); repeatable', (value: string, previous: string[] | undefined) => [
        ...(previous ?? []),
        oneOf(SCOPES, 'The scope')(value),
      ]),
  )
  tokens.addCommand(
    withExamples(create, [
      'insighta tokens create --name ci --expires 30d',
      'insighta tokens create --name nightly-admin --expires 7d --scope read --scope admin',
      'TOKEN=$(insighta tokens create --name ci) && echo "$TOKEN" | insighta login --with-token',
    ]).action(async (options: { name: string; expires?: number; scope?: string[]; json?: boolean }) => {
      const client = await ctx.client()
      const body = await ctx.out.spin('Creating token…', () =>
        client.json({
          method: 'POST',
          path: '/api/users/me/tokens',
          json: { name: options.name, ...(options.expires === undefined ? {} : { expires_in_days: options.expires }), ...(options.scope ? { scopes: options.scope } : {}) },
        }),
      )
      if (options.json) return printJson(ctx, body)
      if (typeof body.token !== 'string' || !body.token.startsWith(PAT_PREFIX) || !isRecord(body.data)) throw unexpectedResponse(client.apiUrl, 201)
      // The secret alone on stdout (for $(…) and pipes); what it is, on stderr.
      ctx.out.print(body.token)
      const data = body.data
      ctx.out.message(
        keyValues([
          ['id', typeof data.id === 'string' ? data.id : null],
          ['name', typeof data.name === 'string' ? data.name : null],
          ['scopes', Array.isArray(data.scopes) ? data.scopes.map(String).join(', ') : null],
          ['expires', typeof data.expires_at === 'string' ? data.expires_at : null],
        ]),
      )
      ctx.out.message('This is the only time the token is shown: store it now (e.g. as a CI secret).')
    }),
  )

  const list = withJson(new Command('list').description('your personal access tokens: scopes, expiry, last use (the default)'))
  tokens.addCommand(
    withExamples(list, ['insighta tokens list', 'insighta tokens list --json']).action(async (options: { json?: boolean }) => {
      const client = await ctx.client()
      const body = await ctx.out.spin('Loading tokens…', () => client.json({ method: 'GET', path: '/api/users/me/tokens' }))
      if (options.json) return printJson(ctx, body)
      tokenTable(ctx, client, body, 'No personal access tokens.')
    }),
    { isDefault: true },
  )

  const revoke = new Command('revoke')
    .description('revoke one of your tokens: it stops working at once')
    .argument('<id>', 'the token id, or its first characters as "insighta tokens" shows them', idOrPrefix('The token id'))
  tokens.addCommand(
    withExamples(revoke, ['insighta tokens revoke 0190a4b2']).action(async (given: string) => {
      const client = await ctx.client()
      const id = await ctx.out.spin('Revoking…', async () => {
        const id = await resolveTokenId(client, '/api/users/me/tokens', given)
        const response = await client.request({ method: 'DELETE', path: `/api/users/me/tokens/${id}` })
        await response.body?.cancel()
        return id
      })
      ctx.out.print(`Revoked token ${id}.`)
    }),
  )
  return tokens
}

/** `insighta users tokens LOGIN` and `insighta users tokens revoke LOGIN TOKEN_ID` (admins). */
export function userTokensCommand(ctx: CliContext): Command {
  const tokens = withExamples(new Command('tokens').description("list or revoke a user's personal access tokens (admin)"), [
    'insighta users tokens octo-analyst',
    'insighta users tokens revoke octo-analyst 0190a4b2',
  ])
  const list = withJson(new Command('list').description("a user's personal access tokens (the default)").argument('<login>', 'GitHub username', githubLogin))
  tokens.addCommand(
    list.action(async (login: string, options: { json?: boolean }) => {
      const client = await ctx.client()
      const body = await ctx.out.spin('Loading tokens…', async () => client.json({ method: 'GET', path: `/api/users/${await findUserId(client, login)}/tokens` }))
      if (options.json) return printJson(ctx, body)
      tokenTable(ctx, client, body, `${sanitise(login)} has no personal access tokens.`)
    }),
    { isDefault: true },
  )
  const revoke = new Command('revoke')
    .description("revoke a user's token: it stops working at once")
    .argument('<login>', 'GitHub username', githubLogin)
    .argument('<token-id>', 'the token id, or its first characters', idOrPrefix('The token id'))
  tokens.addCommand(
    revoke.action(async (login: string, given: string) => {
      const client = await ctx.client()
      const id = await ctx.out.spin('Revoking…', async () => {
        const userId = await findUserId(client, login)
        const id = await resolveTokenId(client, `/api/users/${userId}/tokens`, given)
        const response = await client.request({ method: 'DELETE', path: `/api/users/${userId}/tokens/${id}` })
        await response.body?.cancel()
        return id
      })
      ctx.out.print(`Revoked token ${id} of ${login}.`)
    }),
  )
  return tokens
}


