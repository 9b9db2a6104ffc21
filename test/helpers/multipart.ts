import { randomBytes } from 'node:crypto'

export interface Part {
  name: string
  filename?: string
  type?: string
  content: string | Buffer
}

/** A multipart/form-data body built by hand, as browsers and curl send it. */
export function multipart(parts: Part[]): { body: Buffer; contentType: string } {
  const boundary = `----insighta${randomBytes(8).toString('hex')}`
  const chunks: Buffer[] = []
  for (const p of parts) {
    const disposition = `form-data; name="${p.name}"${p.filename === undefined ? '' : `; filename="${p.filename}"`}`
    chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: ${disposition}\r\n${p.type ? `Content-Type: ${p.type}\r\n` : ''}\r\n`))
    chunks.push(Buffer.isBuffer(p.content) ? p.content : Buffer.from(p.content))
    chunks.push(Buffer.from('\r\n'))
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`))
  return { body: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}` }
}

/** The CSV as the form field "file" of an import. */
export function filePart(csv: string | Buffer): Part {
  return { name: 'file', filename: 'profiles.csv', type: 'text/csv', content: csv }
}
