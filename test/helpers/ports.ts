import { createServer, type AddressInfo } from 'node:net'

/**
 * A loopback port the OS just handed out and took back: free to listen on (a server that must know
 * its own URL before it starts), or, left alone, one on which nothing listens.
 */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo
      server.close(() => resolve(port))
    })
  })
}
