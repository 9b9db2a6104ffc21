import { mkdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { PGlite } from '@electric-sql/pglite'
import { PGLiteSocketServer } from '@electric-sql/pglite-socket'

/**
 * The embedded default: PGlite (Postgres compiled to WASM) persisted in a folder and served on a
 * loopback TCP socket, so the apps always talk to Postgres through `pg`, exactly as in production.
 *
 * PGlite is one backend session. pglite-socket multiplexes clients onto it and keeps a transaction
 * on the client that opened it, but it switches clients between the messages of one extended-query
 * exchange (Parse/Bind/Execute … Sync), which would let two clients overwrite each other's unnamed
 * statement. ExchangeQueue below keeps the backend with one client from its first message until the
 * backend is idle again after a Sync or simple Query.
 */

export interface EmbeddedPostgres {
  /** a postgres:// URL for `pg` */
  url: string
  /** true when this start created a new data directory */
  created: boolean
  close(): Promise<void>
}

export interface EmbeddedOptions {
  /** folder of the persisted cluster, e.g. `.data/pg`; omitted = in memory (tests) */
  dataDir?: string
  host?: string
  /** 0 = any free port */
  port?: number
  log?: (message: string) => void
}

type PendingMessage = {
  handlerId: number
  message: Uint8Array
  resolve: (bytes: number) => void
  reject: (error: unknown) => void
  onData: (data: Uint8Array) => void
}

const SYNC = 0x53 // 'S'
const SIMPLE_QUERY = 0x51 // 'Q'
const TERMINATE = 0x58 // 'X'

class ExchangeQueue {
  private queue: PendingMessage[] = []
  private processing = false
  /** the client that owns the backend until its exchange or transaction ends */
  private owner: number | null = null

  constructor(private readonly db: PGlite) {}

  enqueue(handlerId: number, message: Uint8Array, onData: (data: Uint8Array) => void): Promise<number> {
    return new Promise((resolve, reject) => {
      this.queue.push({ handlerId, message, resolve, reject, onData })
      void this.drain()
    })
  }

  private next(): PendingMessage | undefined {
    if (this.owner === null) return this.queue.shift()
    const index = this.queue.findIndex((m) => m.handlerId === this.owner)
    return index === -1 ? undefined : this.queue.splice(index, 1)[0]
  }

  private async drain(): Promise<void> {
    if (this.processing) return
    this.processing = true
    try {
      for (let item = this.next(); item; item = this.next()) {
        let bytes = 0
        try {
          await this.db.runExclusive(() =>
            this.db.execProtocolRawStream(item!.message, {
              onRawData: (data: Uint8Array) => {
                bytes += data.length
                item!.onData(data)
              },
            }),
          )
          item.resolve(bytes)
        } catch (error) {
          item.reject(error)
        }
        this.owner = this.releases(item.message) && !this.db.isInTransaction() ? null : item.handlerId
      }
    } finally {
      this.processing = false
    }
  }

  /** Whether this message ends an exchange (startup packets carry no type byte and end nothing). */
  private releases(message: Uint8Array): boolean {
    const type = message[0]
    const isStartup = message.length >= 8 && type === 0
    return isStartup || type === SYNC || type === SIMPLE_QUERY || type === TERMINATE
  }

  getQueueLength(): number {
    return this.queue.length
  }

  clearQueueForHandler(handlerId: number): void {
    this.queue = this.queue.filter((m) => {
      if (m.handlerId !== handlerId) return true
      m.reject(new Error('Handler disconnected'))
      return false
    })
  }

  /** A client that vanished mid-transaction or mid-exchange must not keep the backend. */
  async clearTransactionIfNeeded(handlerId: number): Promise<void> {
    if (this.owner !== handlerId) return
    if (this.db.isInTransaction()) await this.db.exec('ROLLBACK')
    this.owner = null
    void this.drain()
  }
}

const LOCK_FILE = 'insighta.lock'

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** What the lock file of a data directory says: the owner's pid and, once it listens, its loopback URL. */
export interface EmbeddedLock {
  pid: number
  url?: string
}

/** The lock file holds JSON `{"pid":…,"url":…}`; a bare pid (older starts) is read too. */
function readLock(lockPath: string): EmbeddedLock | undefined {
  if (!existsSync(lockPath)) return undefined
  const text = readFileSync(lockPath, 'utf8').trim()
  try {
    const parsed = JSON.parse(text) as unknown
    if (typeof parsed === 'number') return { pid: parsed }
    if (typeof parsed === 'object' && parsed !== null && 'pid' in parsed) {
      const { pid, url } = parsed as { pid: unknown; url?: unknown }
      if (typeof pid === 'number') return { pid, url: typeof url === 'string' ? url : undefined }
    }
  } catch {
    // not JSON: fall through
  }
  return undefined
}

/**
 * The live process serving the embedded database in dataDir, if any: its pid and (once it listens)
 * the loopback URL it serves the database on, which operator commands use while the system runs.
 */
export function runningEmbedded(dataDir: string): EmbeddedLock | undefined {
  const lock = readLock(join(resolve(dataDir), LOCK_FILE))
  if (!lock || !Number.isInteger(lock.pid) || lock.pid <= 0 || lock.pid === process.pid || !processAlive(lock.pid)) return undefined
  return lock
}

/** One process per data directory; a lock left by a killed process is taken over. */
function takeLock(dataDir: string): { advertise(url: string): void; release(): void } {
  const lockPath = join(dataDir, LOCK_FILE)
  const owner = runningEmbedded(dataDir)
  if (owner) throw new Error(`the embedded database in ${dataDir} is in use by process ${owner.pid}`)
  writeFileSync(lockPath, JSON.stringify({ pid: process.pid }), { mode: 0o600 })
  return {
    advertise: (url) => writeFileSync(lockPath, JSON.stringify({ pid: process.pid, url }), { mode: 0o600 }),
    release: () => rmSync(lockPath, { force: true }),
  }
}

export async function startEmbeddedPostgres(options: EmbeddedOptions = {}): Promise<EmbeddedPostgres> {
  const log = options.log ?? (() => {})
  let created = false
  let lock: ReturnType<typeof takeLock> | undefined
  let pgDir: string | undefined
  if (options.dataDir) {
    const root = resolve(options.dataDir)
    mkdirSync(root, { recursive: true })
    lock = takeLock(root)
    pgDir = join(root, 'pgdata')
    created = !existsSync(join(pgDir, 'PG_VERSION'))
    log(
      created
        ? `initialising the embedded database in ${pgDir} (first start only: PGlite runs initdb, about 5 s of CPU)…`
        : `opening the embedded database in ${pgDir}…`,
    )
  }
  let db: PGlite
  try {
    db = await PGlite.create(pgDir ? { dataDir: pgDir } : {})
  } catch (error) {
    lock?.release()
    throw error
  }
  const server = new PGLiteSocketServer({
    db,
    host: options.host ?? '127.0.0.1',
    port: options.port ?? 0,
    maxConnections: 32,
  })
  // Replace the library's queue before any client connects (handlers pick it up on connection).
  ;(server as unknown as { queryQueue: ExchangeQueue }).queryQueue = new ExchangeQueue(db)
  await server.start()
  const [host, port] = server.getServerConn().split(':')
  const url = `postgres://postgres:postgres@${host}:${port}/postgres?sslmode=disable`
  lock?.advertise(url)
  let closed = false
  return {
    url,
    created,
    async close() {
      if (closed) return
      closed = true
      await server.stop()
      await db.close()
      lock?.release()
    },
  }
}
