import { Readable } from 'node:stream'
import { parse } from 'csv-parse'
import { parse as parseSync } from 'csv-parse/sync'
import { RecordFramer } from '../api/services/csv-import.ts'

async function viaFramer(text: Buffer, chunk: number, max = 65536): Promise<string[][]> {
  const chunks: Buffer[] = []
  for (let i = 0; i < text.length; i += chunk) chunks.push(text.subarray(i, i + chunk))
  const p = Readable.from(chunks).pipe(new RecordFramer(max)).pipe(parse({ bom: true, relax_column_count: true, relax_quotes: true, skip_empty_lines: true, record_delimiter: '\n', max_record_size: max + 1024 }))
  const out: string[][] = []
  for await (const r of p) out.push(r)
  return out
}
const samples = [
  'a,b,c\n1,2,3\n',
  '\ufeffname,"x,y"\r\n"q""uote","multi\r\nline"\r\n4,5\r\n',
  'a,b\n"x"y,z\n"ab"\r\nc,d\n',
  'a,b\n\n\n1,2\n,\n',
  'a,b\r\n1,2',
  'a,"b"',
  'a,b\n"unclosed,1\n2,3\n4,5\n',
  'a,b\nab"c,d\n"e"",f\n',
  'h\n"a\rb",c\rd\n',
]
for (const s of samples) {
  const buf = Buffer.from(s)
  const expect = (() => { try { return JSON.stringify(parseSync(s.replace(/^\ufeff/, ''), { relax_column_count: true, relax_quotes: true, skip_empty_lines: true, record_delimiter: ['\r\n', '\n'] })) } catch (e) { return 'ERR ' + (e as Error).message.slice(0, 40) } })()
  const results = new Set<string>()
  for (const c of [1, 2, 3, 5, 7, 64, 1 << 16]) results.add(JSON.stringify(await viaFramer(buf, c)))
  console.log(JSON.stringify(s), results.size === 1 ? 'stable' : 'UNSTABLE', [...results][0] === expect ? 'same' : 'DIFF', [...results].join(' | '), '\n   expect', expect)
}
// oversize
const big = Buffer.from('a,b\n1,2\n' + 'x'.repeat(300000) + ',3\n4,5\n"' + 'y'.repeat(200000) + '\n6,7\n')
for (const c of [1000, 65536, 1 << 20]) console.log('big', c, JSON.stringify((await viaFramer(big, c, 1000)).map((r) => r.map((f) => f.slice(0, 10)))))
// perf
const lines = ['name,gender,age,country_id,gender_probability,country_probability']
for (let i = 0; i < 500000; i++) lines.push(`Firstname${i} K. Lastname,male,${i % 90},NG,0.${i % 100},0.${(i * 7) % 100}`)
const all = Buffer.from(lines.join('\r\n') + '\r\n')
let t = performance.now()
const r = await viaFramer(all, 65536)
console.log('perf crlf', r.length, (performance.now() - t).toFixed(0), 'ms')
