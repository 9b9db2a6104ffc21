import { Readable, Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { parse } from 'csv-parse'
import { RecordFramer } from '../api/services/csv-import.ts'
const lines = ['name,gender,age,country_id,gender_probability,country_probability']
for (let i = 0; i < 500000; i++) lines.push(`Firstname${i} K. Lastname,male,${i % 90},NG,0.${i % 100},0.${(i * 7) % 100}`)
for (const eol of ['\n', '\r\n']) {
  const all = Buffer.from(lines.join(eol) + eol)
  const chunks = () => { const c: Buffer[] = []; for (let i = 0; i < all.length; i += 65536) c.push(all.subarray(i, i + 65536)); return c }
  let t = performance.now()
  await pipeline(Readable.from(chunks()), new RecordFramer(65536), new Writable({ write(_c, _e, cb) { cb() } }))
  console.log(JSON.stringify(eol), 'framer only', (performance.now() - t).toFixed(0), 'ms')
  t = performance.now()
  await pipeline(Readable.from(chunks()), parse({ relax_column_count: true, relax_quotes: true, skip_empty_lines: true, record_delimiter: '\n', max_record_size: 66000, bom: true }), new Writable({ objectMode: true, write(_c, _e, cb) { cb() } }))
  console.log(JSON.stringify(eol), 'csv-parse only', (performance.now() - t).toFixed(0), 'ms')
}
