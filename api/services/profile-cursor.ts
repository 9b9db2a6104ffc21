/**
 * Keyset paging (contract §6): an opaque `cursor` that carries where the previous page ended — the
 * sort key and id of its last row — with the page number it leads to, bound to the query it came
 * from (filter, sort and page size) and signed, so a forged, altered or foreign cursor is refused (422) instead
 * of silently paging something else. Signed with a key derived from JWT_SECRET, so every API
 * instance reads the cursors of the others.
 */
import { createHmac, timingSafeEqual } from 'node:crypto'
import type { SortColumn } from '../../contract/profile-query.ts'
import type { ProfileJson } from '../../contract/profile.ts'
import type { ProfileSort } from '../../db/repositories/profiles.ts'

export interface CursorPosition {
  /** the page this cursor leads to */
  page: number
  /** the last row's sort value (null for created_at, which is the id's order) */
  key: string | number | null
  id: string
}

interface CursorBody extends CursorPosition {
  v: 1
  /** the canonical filter, sort and page size the cursor belongs to */
  q: string
}

const SIGNATURE_BYTES = 16
const MAX_CURSOR_LENGTH = 512

function sortKeyOf(row: ProfileJson, column: SortColumn): string | number | null {
  switch (column) {
    case 'created_at':
      return null
    case 'name':
      return row.name
    default:
      return row[column]
  }
}

/**
 * What a cursor is bound to. The page size is part of it: the page number a cursor carries is only
 * right for the size it was made with (the links always repeat `limit`).
 */
function boundTo(queryKey: string, sort: ProfileSort, limit: number): string {
  return `${queryKey}|${sort.column}|${sort.direction}|${limit}`
}

export class CursorCodec {
  private readonly key: Buffer

  constructor(secret: string) {
    this.key = createHmac('sha256', secret).update('insighta profile cursor v1').digest()
  }

  private sign(payload: string): Buffer {
    return createHmac('sha256', this.key).update(payload).digest().subarray(0, SIGNATURE_BYTES)
  }

  /** A cursor to the page after the one that ended with `last`. */
  encode(queryKey: string, sort: ProfileSort, limit: number, page: number, last: ProfileJson): string {
    const body: CursorBody = { v: 1, q: boundTo(queryKey, sort, limit), page, key: sortKeyOf(last, sort.column), id: last.id }
    const payload = Buffer.from(JSON.stringify(body)).toString('base64url')
    return `${payload}.${this.sign(payload).toString('base64url')}`
  }

  /** The position a cursor names, or undefined when it is forged, damaged or from another query. */
  decode(cursor: string, queryKey: string, sort: ProfileSort, limit: number): CursorPosition | undefined {
    if (cursor.length > MAX_CURSOR_LENGTH) return undefined
    const [payload, signature, ...rest] = cursor.split('.')
    if (!payload || !signature || rest.length > 0) return undefined
    const given = Buffer.from(signature, 'base64url')
    const expected = this.sign(payload)
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined
    let body: Partial<CursorBody>
    try {
      body = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Partial<CursorBody>
    } catch {
      return undefined
    }
    if (body.v !== 1 || body.q !== boundTo(queryKey, sort, limit)) return undefined
    if (typeof body.page !== 'number' || !Number.isInteger(body.page) || body.page < 2) return undefined
    if (typeof body.id !== 'string') return undefined
    const keyOk = sort.column === 'created_at' ? body.key === null : sort.column === 'name' ? typeof body.key === 'string' : typeof body.key === 'number'
    if (!keyOk) return undefined
    return { page: body.page, key: body.key ?? null, id: body.id }
  }
}
