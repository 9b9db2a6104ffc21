/**
 * The embedded database in a worker thread (see startEmbeddedPostgresInWorker): PGlite's first-start
 * initdb keeps a thread busy for seconds, and here it runs beside the main thread's module loading.
 * Protocol: → workerData = EmbeddedOptions minus log; ← {type:'log'|'ready'|'error'|'closed'}; → 'close'.
 */
import { parentPort, workerData } from 'node:worker_threads'
import { startEmbeddedPostgres, type EmbeddedOptions } from './embedded.ts'

const port = parentPort
if (port === null) throw new Error('db/embedded-worker.ts runs as a worker thread only')
try {
  const embedded = await startEmbeddedPostgres({
    ...(workerData as Omit<EmbeddedOptions, 'log'>),
    log: (message) => port.postMessage({ type: 'log', message }),
  })
  port.on('message', (message: unknown) => {
    if (message !== 'close') return
    embedded.close().then(
      () => port.postMessage({ type: 'closed' }),
      (error: unknown) => port.postMessage({ type: 'closed', error: error instanceof Error ? error.message : String(error) }),
    )
  })
  port.postMessage({ type: 'ready', url: embedded.url, created: embedded.created })
} catch (error) {
  port.postMessage({ type: 'error', message: error instanceof Error ? error.message : String(error) })
}
