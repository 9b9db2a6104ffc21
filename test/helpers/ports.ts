import { readFileSync } from 'node:fs'
import { randomInt } from 'node:crypto'
import { createServer, type AddressInfo } from 'node:net'

/** The lowest port handed out; below it sit the well-known and registered services people run. */
const LOWEST = 20_000

/**
 * A loopback port free to listen on a moment later (a server that must know its own URL before it
 * starts), or, left alone, one on which nothing listens.
 *
 * Chosen at random below the OS's ephemeral range, never from it: the ephemeral ports are the ones
 * the OS gives every outgoing connection (each `pg` and HTTP client of every test process running
 * in parallel), so a port the OS hands out for `listen(0)` and takes back can be taken by one of
 * those connections before the server listens on it (EADDRINUSE). Below the range only another
 * server can take it, and those choose among ~12,000 ports at random too.
 */
export async function freePort(): Promise<number> {
  const highest = ephemeralRangeStart() - 1
  if (highest - LOWEST >= 1000) {
    for (let attempt = 0; attempt < 50; attempt++) {
      const port = randomInt(LOWEST, highest + 1)
      if (await canListen(port)) return port
    }
  }
  return kernelPort()
}

/** Where the OS's ephemeral ports start (Linux: /proc/sys/net/ipv4/ip_local_port_range; else IANA's 49152). */
export function ephemeralRangeStart(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0])
    if (Number.isInteger(low) && low > 0) return low
  } catch {
    // not Linux
  }
  return 49_152
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer()
    server.once('error', () => resolve(false))
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => server.close(() => resolve(true)))
  })
}

function kernelPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo
      server.close(() => resolve(port))
    })
  })
}
