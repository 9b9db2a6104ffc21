import { createReadStream, createWriteStream } from 'node:fs'
import { once } from 'node:events'
import { createDb } from '../db/index.ts'
import { readSeedFile } from '../db/seed/seed.ts'
import { syntheticProfiles } from '../db/seed/synthetic.ts'
import { csvLine } from '../api/services/csv.ts'
import { ProfileCsvImport } from '../api/services/csv-import.ts'
const [rowsArg, initial, batchArg, parArg] = process.argv.slice(2)
const rows = Number(rowsArg ?? 100000)
const file = `/tmp/imp/scratch-${initial}.csv`
const seed = await readSeedFile()
const out = createWriteStream(file)
out.write('name,gender,age,country_id,country_name,gender_probability,country_probability\n')
let chunk = ''
let i = 0
for (const p of syntheticProfiles(seed, { count: rows, seed: initial.charCodeAt(0) })) {
  chunk += csvLine([p.name.replace(/ (\S+)$/, ` ${initial}. $1`), p.gender, p.age, p.country_id, p.country_name, p.gender_probability, p.country_probability])
  if (++i % 10000 === 0) { out.write(chunk); chunk = '' }
}
out.end(chunk); await once(out, 'finish')
const db = createDb({ databaseUrl: 'postgres://postgres:postgres@127.0.0.1:5432/insighta_import_scratch', poolMax: 4 })
const job = new ProfileCsvImport(db.db, { maxRows: 1e7, batchSize: Number(batchArg ?? 5000), parallelBatches: Number(parArg ?? 1) })
const t = performance.now()
const peak = { rss: 0, heapTotal: 0, heapUsed: 0, external: 0, arrayBuffers: 0 }
const base = process.memoryUsage()
console.log('base', Object.fromEntries(Object.entries(base).map(([k, v]) => [k, Math.round(v / 2 ** 20)])))
const timer = setInterval(() => { const m = process.memoryUsage(); for (const k of Object.keys(peak) as (keyof typeof peak)[]) peak[k] = Math.max(peak[k], Math.round(m[k] / 2 ** 20)) }, 20)
const cpu0 = process.cpuUsage()
const r = await job.run(createReadStream(file, { highWaterMark: 64 * 1024 }))
const s = (performance.now() - t) / 1000
const cpu = process.cpuUsage(cpu0)
console.log(JSON.stringify({ ...r, reasons: undefined }), `${s.toFixed(1)} s`, Math.round(rows / s), 'rows/s', 'node cpu', ((cpu.user + cpu.system) / 1e6).toFixed(1), 's', 'rss', (process.memoryUsage().rss / 2 ** 20).toFixed(0), 'MB')
clearInterval(timer); console.log('peak', peak)
await db.close()
