import { Command } from 'commander'
import { cliDeviceLabel } from '../../contract/cli-user-agent.ts'
import type { ApiClient } from '../api-client.ts'
import type { CliContext } from '../context.ts'
import { unexpectedResponse } from '../http.ts'
import { idOrPrefix, isFullId, resolvePrefix } from '../short-ids.ts'
import { dataArray, recordTable } from '../views.ts'
import { printJson, withExamples, withJson } from './shared.ts'

type Json = Record<string, unknown>

/**
 * device: the user agent, or "insighta 0.1.0 on build-box" for the CLI's own (--json keeps the raw
 * user_agent); idle_ends_at / ends_at: when the session really ends if unused, and at the latest.
 */
const SESSION_COLUMNS = ['id', 'current', 'client_id', 'device', 'ip', 'created_at', 'last_used_at', 'idle_ends_at', 'ends_at']
const HIDDEN = ['user_agent', 'expires_at', 'idle_expires_at', 'refresh_expires_at']

export function sessionsCommand(ctx: CliContext): Command {
  const sessions = withExamples(new Command('sessions'), [
    'insighta sessions',
    'insighta sessions list --json',
    'insighta sessions revoke 0190a4b2',
  ])

  const list = withJson(new Command('list').description('list your live sessions and when each one ends (the default)'))
  sessions.addCommand(
    withExamples(list, ['insighta sessions list', 'insighta sessions list --json']).action(async (options: { json?: boolean }) => {
      const client = await ctx.client()
      const body = await ctx.out.spin('Loading sessions…', () => client.json({ method: 'GET', path: '/api/sessions' }))
      if (options.json) return printJson(ctx, body)
      const records = dataArray(body)
      if (records === null) throw unexpectedResponse(client.apiUrl, 200)
      const idleSeconds = (await ctx.tokenSource()).refreshLifetime()
      const now = Date.now()
      const live = records.map((r) => withDevice(withEnds(r, idleSeconds))).filter((r) => !ended(r, now))
      ctx.out.table(recordTable(live, SESSION_COLUMNS, HIDDEN, { empty: 'No live sessions.' }))
    }),
    { isDefault: true },
  )

  const revoke = new Command('revoke')
    .description('end one session: that device must log in again')
    .argument('<id>', 'the session id, or its first characters as "insighta sessions" shows them', idOrPrefix('The session id'))
  sessions.addCommand(
    withExamples(revoke, ['insighta sessions revoke 0190a4b2', 'insighta sessions revoke 0190a4b2-7c1e-7d3a-9f00-1234567890ab']).action(
      async (given: string) => {
        const client = await ctx.client()
        const id = await ctx.out.spin('Revoking…', async () => {
          const id = await sessionId(client, given)
          const response = await client.request({ method: 'DELETE', path: `/api/sessions/${id}` })
          await response.body?.cancel()
          return id
        })
        ctx.out.print(`Revoked session ${id}.`)
      },
    ),
  )
  return sessions
}

function withDevice(session: Json): Json {
  const agent = typeof session.user_agent === 'string' ? session.user_agent : null
  return { ...session, device: cliDeviceLabel(agent) ?? agent }
}

function time(value: unknown): number {
  return typeof value === 'string' ? Date.parse(value) : NaN
}

/**
 * Adds when the session really ends: `ends_at`, its absolute end (the API's expires_at), and
 * `idle_ends_at`, when its refresh token lapses unless used. That one comes from the API when it
 * sends it (idle_expires_at); otherwise it is the last use plus the idle lifetime the API granted
 * this CLI's own session, capped by the absolute end.
 */
export function withEnds(session: Json, idleSeconds: number | undefined): Json {
  const absolute = time(session.expires_at)
  const reported = session.idle_expires_at ?? session.refresh_expires_at
  let idle: string | null = typeof reported === 'string' ? reported : null
  const lastUsed = time(session.last_used_at)
  if (idle === null && idleSeconds !== undefined && !Number.isNaN(lastUsed)) {
    const end = lastUsed + idleSeconds * 1000
    idle = formatInstant(Number.isNaN(absolute) ? end : Math.min(end, absolute))
  }
  return { ...session, idle_ends_at: idle, ends_at: typeof session.expires_at === 'string' ? session.expires_at : null }
}

/** Ended by what the API itself says (its absolute end, or its idle end when it reports one). */
function ended(session: Json, now: number): boolean {
  const reportedIdle = time(session.idle_expires_at ?? session.refresh_expires_at)
  return time(session.expires_at) <= now || reportedIdle <= now
}

function formatInstant(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z')
}

async function sessionId(client: ApiClient, given: string): Promise<string> {
  if (isFullId(given)) return given
  const records = dataArray(await client.json({ method: 'GET', path: '/api/sessions' }))
  if (records === null) throw unexpectedResponse(client.apiUrl, 200)
  return resolvePrefix(given, records.flatMap((r) => (typeof r.id === 'string' ? [r.id.toLowerCase()] : [])), 'session')
}
