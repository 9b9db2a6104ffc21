import type { ServerResponse } from 'node:http'
import type { Readable } from 'node:stream'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { formatTimestamp } from '../../../contract/profile.ts'
import type { ProfileFilter } from '../../../contract/profile-filter.ts'
import type { ProfileSort } from '../../../db/repositories/profiles.ts'

/**
 * GET /api/profiles/export's reply: a slot under the export caps (or the busy answer), the COPY
 * stream, and a socket idle timeout (EXPORT_IDLE_TIMEOUT_MS) that cuts a client which stopped
 * reading. Whatever ends the response — done, client gone, idle cut, database failure — releases
 * the slot and the connection; a failure after the headers destroys the response, so the client sees
 * a truncated transfer (no final chunk), never a CSV that looks complete.
 */
export async function sendExport(
  request: FastifyRequest,
  reply: FastifyReply,
  what: { filter: ProfileFilter; sort: ProfileSort; neutraliseFormulas: boolean },
): Promise<FastifyReply> {
  const exports = request.server.exports
  const release = exports.reserve(request.user!.id)
  const res = reply.raw
  res.once('close', release)
  let stream: Readable
  try {
    stream = await exports.open(what.filter, what.sort, { neutraliseFormulas: what.neutraliseFormulas })
  } catch (error) {
    release()
    throw error
  }
  if (res.destroyed) {
    stream.destroy()
    return reply
  }
  // A client that takes nothing for EXPORT_IDLE_TIMEOUT_MS while the response waits for it (its
  // socket buffers full) is cut off. The clock runs only while the response is backpressured, so a
  // slow query before the first row does not count. A database failure after the headers is
  // destroyed by Fastify (reply.send of a stream), likewise without a final chunk.
  watchStalledReader(res, exports.idleTimeoutMs, () => {
    request.log.warn({ idleMs: exports.idleTimeoutMs }, 'export cut: the client stopped reading')
    res.destroy()
  })
  const stamp = formatTimestamp(new Date()).replace(/[-:]/g, '')
  reply
    .type('text/csv; charset=utf-8')
    .header('content-disposition', `attachment; filename="profiles_${stamp}.csv"`)
    .header('cache-control', 'no-store')
  return reply.send(stream)
}

function watchStalledReader(res: ServerResponse, idleMs: number, onStalled: () => void): void {
  let stalledSince: number | undefined
  const onDrain = () => {
    stalledSince = undefined
  }
  res.on('drain', onDrain)
  const timer = setInterval(() => {
    if (!res.writableNeedDrain) {
      stalledSince = undefined
      return
    }
    const now = performance.now()
    stalledSince ??= now
    if (now - stalledSince >= idleMs) {
      stop()
      onStalled()
    }
  }, Math.max(10, Math.min(1000, Math.floor(idleMs / 5))))
  timer.unref()
  function stop() {
    clearInterval(timer)
    res.off('drain', onDrain)
  }
  res.once('close', stop)
}
