/**
 * CSV exports at the speed of Postgres, on their own connection budget.
 *
 * An export is one `COPY (SELECT …) TO STDOUT` (db/repositories/profiles.ts profilesCopySql) on a
 * small pool of its own, so however many clients download, and however slowly they read, the rest
 * of the API keeps its connections. A cap on exports in total and per user turns the excess away
 * at once (429 per user, 503 in total, both "busy" with Retry-After) instead of queueing it.
 *
 * Every way an export can end releases its connection exactly once: a complete COPY returns it to
 * the pool; an error, a client that went away or was cut for reading nothing, or the database
 * dying destroy the socket and discard the client, because a COPY interrupted mid-stream leaves the
 * connection in the middle of the protocol (and the backend blocked on a full socket).
 */
import { Transform, type TransformCallback } from 'node:stream'
import type pg from 'pg'
import { to as copyTo } from 'pg-copy-streams'
import { PROFILE_COLUMNS } from '../../contract/profile.ts'
import type { ProfileFilter } from '../../contract/profile-filter.ts'
import type { Executor } from '../../db/types.ts'
import { profilesCopySql, type ProfileSort } from '../../db/repositories/profiles.ts'
import { ApiError, isPoolBusy } from '../errors.ts'
import { csvLine } from './csv.ts'
import { whereOf } from './profile-rows.ts'

export interface ExportLimits {
  /** exports running at once, all users together (EXPORT_MAX_CONCURRENT) */
  maxConcurrent: number
  /** exports one user may run at once (EXPORT_MAX_PER_USER) */
  maxPerUser: number
  /** seconds a busy client is told to wait (Retry-After) */
  retryAfterSeconds: number
  /** a client that accepts no byte for this long is cut off (EXPORT_IDLE_TIMEOUT_MS) */
  idleTimeoutMs: number
}

export interface ExportOptions {
  /** prefix cells that a spreadsheet would run as a formula with `'` (OWASP CSV injection) */
  neutraliseFormulas: boolean
}

const userBusy = (limits: ExportLimits) =>
  new ApiError(429, `Busy: you already have ${limits.maxPerUser} exports in progress; retry when one finishes`, {
    'retry-after': String(limits.retryAfterSeconds),
  })
const serverBusy = (limits: ExportLimits) =>
  new ApiError(503, 'Busy: the maximum number of exports is in progress; retry shortly', {
    'retry-after': String(limits.retryAfterSeconds),
  })

/**
 * RFC 4180 rows end in CRLF; COPY ends them in LF. A newline inside a quoted field stays as it is
 * (as the JavaScript formatter leaves it), so the quote state is carried across chunks.
 */
export class CrlfRows extends Transform {
  private quoted = false

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    const parts: Buffer[] = []
    let from = 0
    let at = 0
    while (at < chunk.length) {
      if (this.quoted) {
        const q = chunk.indexOf(0x22, at)
        if (q === -1) break
        this.quoted = false
        at = q + 1
        continue
      }
      const q = chunk.indexOf(0x22, at)
      const lf = chunk.indexOf(0x0a, at)
      if (lf !== -1 && (q === -1 || lf < q)) {
        parts.push(chunk.subarray(from, lf), CRLF)
        from = at = lf + 1
        continue
      }
      if (q === -1) break
      this.quoted = true
      at = q + 1
    }
    if (from === 0) {
      done(null, chunk)
      return
    }
    if (from < chunk.length) parts.push(chunk.subarray(from))
    done(null, Buffer.concat(parts))
  }
}

const CRLF = Buffer.from('\r\n')
const HEADER = Buffer.from(csvLine(PROFILE_COLUMNS))

/** What the export pool looks like right now (tests and the abuse bench read it). */
export interface ExportPoolState {
  total: number
  idle: number
  waiting: number
  /** exports holding a slot */
  active: number
}

export class ProfileExports {
  private active = 0
  private readonly perUser = new Map<string, number>()

  constructor(
    /** the exports' own pool */
    readonly pool: pg.Pool,
    /** compiles the statement (any Kysely instance of the schema) */
    private readonly db: Executor,
    private readonly limits: ExportLimits,
  ) {}

  get idleTimeoutMs(): number {
    return this.limits.idleTimeoutMs
  }

  state(): ExportPoolState {
    return { total: this.pool.totalCount, idle: this.pool.idleCount, waiting: this.pool.waitingCount, active: this.active }
  }

  /**
   * Takes an export slot for `userId`, or throws the busy answer (429 when this user is at their
   * cap, 503 when every slot is taken). The returned function gives it back; calling it twice is
   * harmless.
   */
  reserve(userId: string): () => void {
    const mine = this.perUser.get(userId) ?? 0
    if (mine >= this.limits.maxPerUser) throw userBusy(this.limits)
    if (this.active >= this.limits.maxConcurrent) throw serverBusy(this.limits)
    this.active++
    this.perUser.set(userId, mine + 1)
    let released = false
    return () => {
      if (released) return
      released = true
      this.active--
      const left = (this.perUser.get(userId) ?? 1) - 1
      if (left <= 0) this.perUser.delete(userId)
      else this.perUser.set(userId, left)
    }
  }

  /**
   * The CSV of every profile matching `filter`, in `sort` order, header row first, as a byte stream.
   * Resolves once Postgres has a connection for it (503 busy when the export pool stays full). The
   * stream errors when the database connection fails; destroying it (the client went away) stops
   * the COPY. Either way its connection is discarded; only a complete COPY returns it to the pool.
   */
  async open(filter: ProfileFilter, sort: ProfileSort, options: ExportOptions): Promise<Transform> {
    const text = profilesCopySql(this.db, whereOf(filter), sort, options)
    let client: pg.PoolClient
    try {
      client = await this.pool.connect()
    } catch (error) {
      if (isPoolBusy(error)) throw serverBusy(this.limits)
      throw error
    }
    const copy = client.query(copyTo(text))
    const out = new CrlfRows()
    let settled = false
    const settle = (healthy: boolean) => {
      if (settled) return
      settled = true
      if (healthy) {
        client.release()
        return
      }
      // Destroying the socket (not just ending it) also frees the backend blocked on sending.
      client.connection.stream.destroy()
      client.release(true)
    }
    out.push(HEADER)
    copy.on('end', () => {
      settle(true)
      out.end()
    })
    copy.on('error', (error) => {
      settle(false)
      out.destroy(error)
    })
    copy.on('data', (chunk: Buffer) => {
      if (!out.write(chunk)) copy.pause()
    })
    out.on('drain', () => copy.resume())
    out.on('close', () => {
      if (!settled) {
        settle(false)
        copy.destroy()
      }
    })
    return out
  }
}
