import t from 'tap'
import { createServer, type Server } from 'node:net'
import { ephemeralRangeStart, freePort } from './ports.ts'

// The test helpers' free ports: below the ephemeral range (which outgoing connections of parallel
// test processes draw from), free to listen on, and never one something already listens on.

function listen(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => resolve(server))
  })
}

t.test('ports come from below the ephemeral range and can be listened on', async (t) => {
  const start = ephemeralRangeStart()
  t.ok(start > 20_000, `ephemeral range starts at ${start}`)
  const ports = await Promise.all(Array.from({ length: 20 }, () => freePort()))
  for (const port of ports) {
    t.ok(port >= 20_000 && port < start, `${port} is below ${start}`)
    const server = await listen(port)
    await new Promise((r) => server.close(r))
  }
  t.ok(new Set(ports).size > 15, 'chosen at random, not one port again and again')
})

t.test('a port something listens on is never handed out', async (t) => {
  // Occupy many ports of the range; none of them may come back.
  const start = ephemeralRangeStart()
  const taken: Server[] = []
  t.teardown(() => Promise.all(taken.map((s) => new Promise((r) => s.close(r)))))
  const takenPorts = new Set<number>()
  for (let port = 20_000; port < Math.min(start, 20_000 + 2000); port++) {
    try {
      taken.push(await listen(port))
      takenPorts.add(port)
    } catch {
      // already in use by someone else: just as taken
      takenPorts.add(port)
    }
  }
  // 200 draws over ~12,000 ports of which 2,000 are taken: ~30 would land on one if unchecked.
  const handedOut = await Promise.all(Array.from({ length: 200 }, () => freePort()))
  t.same(handedOut.filter((port) => takenPorts.has(port)), [], 'none of 200 handed out is taken')
})
