/**
 * `insighta profiles list --all` and `profiles search --all`: every matching profile, page after
 * page, by following the API's keyset cursor (`links.next_cursor`, contract §6) until it is null.
 * Rows are printed as each page arrives and then forgotten, and the next page is asked for only once
 * stdout has taken the last one, so memory stays at one page whatever the total.
 */
import type { ApiClient } from '../api-client.ts'
import type { CliContext } from '../context.ts'
import { isRecord } from '../credentials.ts'
import { CliError, ExitCode } from '../errors.ts'
import { unexpectedResponse, type QueryValue } from '../http.ts'
import { pageFooter } from '../output.ts'
import { listEnvelope, NO_PROFILES, PROFILE_TABLE_COLUMNS, profileRows } from '../views.ts'
import { MAX_LIMIT } from '../validate.ts'

type Query = Record<string, QueryValue>

/** Exit code after Ctrl-C, as a shell reports a process ended by SIGINT (128 + 2). */
export const INTERRUPTED_EXIT_CODE = 130

/** The walk stopped because stdout's reader went away; anything but EPIPE is a real failure. */
class ReaderGone extends Error {
  constructor(readonly code: string | undefined) {
    super(`stdout closed (${code ?? 'unknown'})`)
  }
}

/**
 * Prints every page of `path` (`/api/profiles` or `/api/profiles/search`) for `query`, which holds
 * no `page`: `limit` is the page size, the largest the API allows unless given. `json` prints
 * NDJSON, one profile object per line. An API error midway ends the walk with that error, after the
 * rows already printed.
 */
export async function walkAllPages(ctx: CliContext, path: string, query: Query, json: boolean): Promise<void> {
  const client = await ctx.client()
  const out = ctx.out
  const writeRows = out.tableWriter(PROFILE_TABLE_COLUMNS)
  let printed = 0
  let total: number | undefined
  // An object, not a variable: it is set by a listener while the loop awaits.
  const reader: { gone?: ReaderGone } = {}
  const stopWatching = out.watchReader((error) => (reader.gone = new ReaderGone(error.code)))
  const onInterrupt = () => {
    out.endProgress()
    out.message(`Interrupted after ${count(printed)}${total === undefined ? '' : ` of ${count(total)}`} profiles.`)
    process.exit(INTERRUPTED_EXIT_CODE)
  }
  process.once('SIGINT', onInterrupt)
  try {
    let request: Query = { ...query, limit: query.limit ?? MAX_LIMIT }
    let first = true
    for (;;) {
      const body = first ? await out.spin('Loading profiles…', () => fetchPage(client, path, request)) : await fetchLaterPage(client, path, request)
      if (reader.gone) break
      const list = listEnvelope(body)
      if (list === null) throw unexpectedResponse(client.apiUrl, 200)
      if (first && out.interactive && !json) {
        // A search says how it read the question; a person at a terminal sees it once.
        const line = (await import('./search-explained.ts')).understoodAs(body.interpreted)
        if (line !== undefined) out.message(line)
      }
      first = false
      total = list.total
      if (json) {
        if (list.data.length > 0) out.print(list.data.map((profile) => JSON.stringify(profile)).join('\n'))
      } else {
        writeRows(profileRows(list.data))
      }
      printed += list.data.length
      await out.drained()
      if (reader.gone) break
      const next = nextCursor(client, path, body, request, list.data.length)
      if (next === null) {
        if (!json) finish(ctx, printed, list)
        return
      }
      out.progress(`${count(printed)} of ${count(list.total)} profiles…`)
      request = next
    }
  } finally {
    process.off('SIGINT', onInterrupt)
    stopWatching()
    out.endProgress()
  }
  // Only a reader that went away ends the loop early: `| head` is not a failure, anything else is.
  const { gone } = reader
  if (gone && gone.code !== 'EPIPE' && gone.code !== 'ERR_STREAM_DESTROYED') {
    throw new CliError(ExitCode.internal, `Could not write the output (${gone.code ?? 'write error'}).`)
  }
}

function fetchPage(client: ApiClient, path: string, query: Query): Promise<Record<string, unknown>> {
  return client.json({ method: 'GET', path, query })
}

/** A page after the first: its failure comes after rows were printed, which the error says. */
async function fetchLaterPage(client: ApiClient, path: string, query: Query): Promise<Record<string, unknown>> {
  try {
    return await fetchPage(client, path, query)
  } catch (error) {
    if (error instanceof CliError) error.partial = true
    throw error
  }
}

/**
 * The request for the next page, from `links.next_cursor`; null on the last page. The link must be
 * the same route with a new cursor: anything else (another path, no cursor, the cursor just used, a
 * further page after an empty one) is not an answer to follow.
 */
function nextCursor(client: ApiClient, path: string, body: Record<string, unknown>, current: Query, rows: number): Query | null {
  const links = isRecord(body.links) ? body.links : undefined
  const next = links?.next_cursor
  if (next === null) return null
  if (typeof next !== 'string' || !next.startsWith(`${path}?`) || rows === 0) throw unexpectedResponse(client.apiUrl, 200)
  const query: Query = Object.fromEntries(new URLSearchParams(next.slice(path.length + 1)))
  if (typeof query.cursor !== 'string' || query.cursor === '' || query.cursor === current.cursor) throw unexpectedResponse(client.apiUrl, 200)
  return query
}

/** "pages 1–41 of 41, total 2026": under the table on a terminal, on stderr in a pipe; or "No profiles match." */
function finish(ctx: CliContext, printed: number, last: { page: number; totalPages: number; total: number }): void {
  if (printed === 0) {
    ctx.out.table({ columns: PROFILE_TABLE_COLUMNS, rows: [], empty: NO_PROFILES, footer: pageFooter(1, 0, last.total) })
    return
  }
  ctx.out.footer(last.page <= 1 ? pageFooter(1, last.totalPages, last.total) : `pages 1–${last.page} of ${last.totalPages}, total ${last.total}`)
}

function count(n: number): string {
  return n.toLocaleString('en-US')
}
