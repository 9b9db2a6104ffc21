import type { Readable } from 'node:stream'
import { setImmediate as nextTurn } from 'node:timers/promises'
import type { Kysely } from 'kysely'
import { newId } from '../../../contract/ids.ts'
import { emptyReport, type ImportReport } from '../../../contract/import-report.ts'
import type { Database } from '../../../db/index.ts'
import type { NewProfile } from '../../../db/repositories/profiles.ts'
import { CsvImportError } from './errors.ts'
import { csvRecords, rawText, type CsvRecord } from './records.ts'
import { isBlank, readHeader, validateRow, type CsvHeader } from './rows.ts'
import { insertBatch, RejectLog } from './writer.ts'

export { CsvImportError } from './errors.ts'
export { CsvRecordReader, MAX_RECORD_BYTES } from './records.ts'

/**
 * Bulk import of profiles from CSV (contract §3 "Import", docs/import.md): the file is framed into
 * records as a stream (records.ts), each row validated (rows.ts) and written in batches, each batch
 * one INSERT … ON CONFLICT DO NOTHING statement, so a batch is committed whole or not at all and
 * nothing waits on a long transaction (writer.ts). Pure of Fastify: the route hands it a byte
 * stream and maps its errors.
 */

/**
 * Rows per INSERT. Throughput was flat from 2,500 to 10,000 on the bench (the database's index upkeep
 * dominates); smaller batches die young in V8's nursery, so the API's peak RSS during a 500k-row
 * import grew by ~45 MB at 2,000 against ~90 MB at 5,000.
 */
export const BATCH_SIZE = 2000

/**
 * Rows read between two turns of the event loop. An upload read faster than it is written waits
 * buffered in the stream, and reading it resolves at once: without a turn, the import would frame
 * and validate a whole batch (~10 ms) while every other request of the process waited. At 256 rows
 * (~1 ms), over four runs each of a 500k-row import, a concurrent /healthz's p99 was 13–24 ms
 * (median 17) against 12–33 ms (median 23) without, at the same import rate (docs/performance.md).
 */
export const ROWS_PER_TURN = 256

export interface CsvImportOptions {
  /** the admin importing: their rejected rows are kept for them */
  userId: string
  /** data rows accepted per file; one more and the import stops (413) */
  maxRows: number
  batchSize?: number
  maxRecordBytes?: number
  /** batches written at once (default 1; the API passes IMPORT_WRITERS); the next batch is read meanwhile */
  concurrency?: number
}

/** A row waiting for its batch: the profile, and the record it came from should it be a duplicate. */
interface Pending {
  profiles: NewProfile[]
  records: CsvRecord[]
}

/**
 * One import. `report` is live: if `run` fails midway (client gone, limit reached, database error)
 * it still says what was committed, which is what the caller needs to invalidate caches.
 */
export class ProfileCsvImport {
  readonly report: ImportReport = emptyReport()
  private readonly batchSize: number
  private readonly concurrency: number
  private batch: Pending = { profiles: [], records: [] }
  private readonly inFlight = new Set<Promise<void>>()
  private readonly rejects: RejectLog
  private header: CsvHeader | undefined
  private abortError: Error | undefined

  constructor(
    private readonly db: Kysely<Database>,
    private readonly options: CsvImportOptions,
  ) {
    this.batchSize = options.batchSize ?? BATCH_SIZE
    this.concurrency = options.concurrency ?? 1
    this.rejects = new RejectLog(db, options.userId)
  }

  /**
   * Stops the import with `error` (e.g. the upload went over the size limit) at the next piece of
   * input: rows not yet written are dropped, batches already written stay, and `run` rejects.
   */
  abort(error: Error): void {
    this.abortError ??= error
  }

  async run(source: Readable): Promise<ImportReport> {
    const report = this.report
    let tooMany = false
    let sinceTurn = 0
    try {
      // Stopping early must not destroy the upload: the rest is drained so the client gets an answer.
      const chunks = source.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>
      read: for await (const records of csvRecords(chunks, this.options.maxRecordBytes)) {
        if (this.abortError) throw this.abortError
        for (const record of records) {
          if (++sinceTurn >= ROWS_PER_TURN) {
            sinceTurn = 0
            await nextTurn()
            if (this.abortError) throw this.abortError
          }
          if (!this.header) {
            this.header = readHeader(record.fields)
            continue
          }
          if (isBlank(record.fields)) continue
          if (report.total_rows >= this.options.maxRows) {
            tooMany = true
            break read
          }
          report.total_rows++
          const row = validateRow(record.fields, this.header)
          if (typeof row === 'string') {
            report.reasons[row]++
            this.rejects.add(record.line, row, rawText(record))
            if (this.rejects.full) await this.rejects.store()
            continue
          }
          this.batch.profiles.push({ id: newId(), ...row })
          this.batch.records.push(record)
          if (this.batch.profiles.length >= this.batchSize) await this.flush()
        }
      }
      if (this.abortError) throw this.abortError
      if (!this.header) throw new CsvImportError(400, 'Empty file: expected a header row and data rows')
      await this.flush()
      await Promise.all(this.inFlight)
      await this.rejects.store()
    } catch (error) {
      // Rows read but not written are dropped (a cut upload may end in a truncated row); statements
      // already sent finish, committed or rolled back whole.
      report.total_rows -= this.batch.profiles.length
      this.batch = { profiles: [], records: [] }
      await Promise.allSettled(this.inFlight)
      await this.rejects.store().catch(() => {})
      this.finishReport()
      await drain(source)
      if (error instanceof CsvImportError) {
        throw new CsvImportError(error.statusCode as 400 | 408 | 413, error.message, this.header ? this.snapshot() : undefined)
      }
      throw error
    }
    this.finishReport()
    if (tooMany) {
      await drain(source)
      throw new CsvImportError(
        413,
        `Too many rows: at most ${this.options.maxRows} data rows per file; the first ${this.options.maxRows} were imported and the rest ignored`,
        this.snapshot(),
      )
    }
    return this.snapshot()
  }

  private finishReport(): void {
    const r = this.report
    r.skipped = r.total_rows - r.inserted
    r.rejected = this.rejects.listed()
    r.links = { rejects: this.rejects.downloadPath }
  }

  private snapshot(): ImportReport {
    const r = this.report
    return { ...r, reasons: { ...r.reasons }, rejected: [...r.rejected], links: { ...r.links } }
  }

  private async flush(): Promise<void> {
    if (this.batch.profiles.length === 0) return
    const { profiles, records } = this.batch
    this.batch = { profiles: [], records: [] }
    const write: Promise<void> = insertBatch(this.db, profiles).then(({ inserted, duplicates }) => {
      this.report.inserted += inserted
      this.report.reasons.duplicate_name += profiles.length - inserted
      for (const i of duplicates) this.rejects.add(records[i].line, 'duplicate_name', rawText(records[i]))
      this.inFlight.delete(write)
    })
    write.catch(() => {}) // awaited through race/all; this only marks the rejection as handled
    this.inFlight.add(write)
    // Postgres's index upkeep is the bottleneck and one statement runs on one core: with 2 writers
    // (IMPORT_WRITERS), both cores write while the next batch is parsed. On the 1M-row bench table this
    // took 500k rows from ~26k to ~40k rows/s; a third writer on two cores added nothing.
    while (this.inFlight.size >= this.concurrency) await Promise.race(this.inFlight)
    if (this.rejects.full) await this.rejects.store()
  }
}

/** Reads the rest of the upload into nothing, so the client can finish sending and read the answer. */
async function drain(source: Readable): Promise<void> {
  if (source.readableEnded || source.destroyed) return
  await new Promise<void>((resolve) => {
    source.once('end', resolve)
    source.once('close', resolve)
    source.once('error', () => resolve())
    source.resume()
  })
}
