import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'

/**
 * An empty body is no body, whatever its Content-Type says. Clients that share one headers dict for
 * every call (Python `requests`, many SDKs) send `Content-Type: application/json` with `DELETE` or a
 * body-less `POST`; those must behave exactly as without the header. A request declaring
 * `Content-Length: 0` drops its Content-Type before Fastify picks a parser, and a JSON body that
 * turns out empty (chunked framing, no length) parses to `undefined`. Routes that need a body still answer their own contract errors
 * (the error handler: `400 "Missing request body"` when a body schema meets no body).
 */
export default fp(async function emptyBody(app: FastifyInstance) {
  app.addHook('onRequest', (request, _reply, done) => {
    const headers = request.raw.headers
    if (headers['content-type'] !== undefined && headers['content-length'] === '0' && headers['transfer-encoding'] === undefined) {
      delete headers['content-type']
    }
    done()
  })
  const parseJson = app.getDefaultJsonParser('error', 'error')
  app.removeContentTypeParser('application/json')
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8')
    if (text === '') {
      done(null, undefined)
      return
    }
    parseJson(request, text, done)
  })
})
