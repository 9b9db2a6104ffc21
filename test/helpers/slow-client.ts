import net from 'node:net'

/**
 * A raw HTTP/1.1 client on loopback whose reading the test controls: it sends one GET, then reads
 * as told (pause/resume), the way a slow or stalled downloader does. `done` settles when the
 * connection closes, with everything received, so a test can tell a complete chunked response (it
 * ends in the final `0` chunk) from a truncated one.
 */
export interface SlowClient {
  /** the status line's code, once the headers arrived */
  status: Promise<number>
  /** bytes received so far (headers included) */
  received(): number
  /** raw text received so far */
  text(): string
  pause(): void
  resume(): void
  /** drop the connection from the client's side */
  destroy(): void
  done: Promise<{ text: string; complete: boolean }>
}

export function slowGet(baseUrl: string, path: string, headers: Record<string, string>): SlowClient {
  const url = new URL(baseUrl)
  const socket = net.connect(Number(url.port), url.hostname)
  const chunks: Buffer[] = []
  let size = 0
  let resolveStatus!: (status: number) => void
  let rejectStatus!: (error: Error) => void
  const status = new Promise<number>((resolve, reject) => {
    resolveStatus = resolve
    rejectStatus = reject
  })
  status.catch(() => {})
  const head = [`GET ${path} HTTP/1.1`, `Host: ${url.host}`, 'Connection: close', ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)]
  socket.write(`${head.join('\r\n')}\r\n\r\n`)
  socket.on('data', (chunk: Buffer) => {
    if (size === 0) {
      const m = /^HTTP\/1\.1 (\d{3})/.exec(chunk.toString('latin1', 0, 20))
      if (m) resolveStatus(Number(m[1]))
      else rejectStatus(new Error('not an HTTP response'))
    }
    chunks.push(chunk)
    size += chunk.length
  })
  const done = new Promise<{ text: string; complete: boolean }>((resolve) => {
    socket.on('error', () => {})
    socket.on('close', () => {
      rejectStatus(new Error('closed before a response'))
      const text = Buffer.concat(chunks).toString('utf8')
      resolve({ text, complete: text.endsWith('\r\n0\r\n\r\n') })
    })
  })
  return {
    status,
    received: () => size,
    text: () => Buffer.concat(chunks).toString('utf8'),
    pause: () => socket.pause(),
    resume: () => socket.resume(),
    destroy: () => socket.destroy(),
    done,
  }
}

/** Polls `check` every 50 ms until it returns true or `ms` pass; returns whether it did. */
export async function eventually(check: () => boolean | Promise<boolean>, ms = 10_000): Promise<boolean> {
  const deadline = Date.now() + ms
  for (;;) {
    if (await check()) return true
    if (Date.now() > deadline) return false
    await new Promise((r) => setTimeout(r, 50))
  }
}
