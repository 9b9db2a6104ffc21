import { Command } from 'commander'
import type { CliContext } from '../context.ts'
import { unexpectedResponse } from '../http.ts'
import { uuid } from '../validate.ts'
import { dataArray, recordTable } from '../views.ts'
import { printJson, withExamples, withJson } from './shared.ts'

const SESSION_COLUMNS = ['id', 'current', 'client_id', 'user_agent', 'ip', 'created_at', 'last_used_at', 'expires_at']

export function sessionsCommand(ctx: CliContext): Command {
  const sessions = withExamples(new Command('sessions'), [
    'insighta sessions list',
    'insighta sessions revoke 0190a4b2-7c1e-7d3a-9f00-1234567890ab',
  ])

  const list = withJson(new Command('list').description('list your active sessions'))
  sessions.addCommand(
    withExamples(list, ['insighta sessions list', 'insighta sessions list --json']).action(async (options: { json?: boolean }) => {
      const client = await ctx.client()
      const body = await ctx.out.spin('Loading sessions…', () => client.json({ method: 'GET', path: '/api/sessions' }))
      if (options.json) return printJson(ctx, body)
      const records = dataArray(body)
      if (records === null) throw unexpectedResponse(client.apiUrl, 200)
      ctx.out.print(records.length === 0 ? 'No active sessions.' : recordTable(records, SESSION_COLUMNS))
    }),
  )

  const revoke = new Command('revoke')
    .description('end one session: that device must log in again')
    .argument('<id>', 'the session id from "insighta sessions list"', uuid('The session id'))
  sessions.addCommand(
    withExamples(revoke, ['insighta sessions revoke 0190a4b2-7c1e-7d3a-9f00-1234567890ab']).action(async (id: string) => {
      const client = await ctx.client()
      const response = await ctx.out.spin('Revoking…', () => client.request({ method: 'DELETE', path: `/api/sessions/${id}` }))
      await response.body?.cancel()
      ctx.out.print(`Revoked session ${id}.`)
    }),
  )
  return sessions
}
