import { createReadStream, statSync } from 'node:fs'
import http from 'node:http'
import { once } from 'node:events'
import { loadApiConfig } from '../api/config.ts'
import { startApi } from '../api/server.ts'
const file = process.argv[2]
const config = loadApiConfig({ ...process.env, DATABASE_URL: 'postgres://postgres:postgres@127.0.0.1:5432/insighta_import_scratch', PORT: '0', LOG_LEVEL: 'warn', AUTH_TEST_CODE_ENABLED: 'true', DEPLOYMENT_ENV: 'development', RATE_LIMIT_AUTH_PER_MINUTE: '1000' })
const api = await startApi(config)
const mb = (n: number) => Math.round(n / 2 ** 20)
const snap = (label: string) => { const m = process.memoryUsage(); console.log(label, 'rss', mb(m.rss), 'heapTotal', mb(m.heapTotal), 'heapUsed', mb(m.heapUsed), 'external', mb(m.external), 'ab', mb(m.arrayBuffers)) }
snap('started')
const login = await fetch(`${api.url}/auth/github/callback?code=test_code`)
const token = ((await login.json()) as { access_token: string }).access_token
const boundary = 'xxBOUNDARYxx'
const head = Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\nContent-Type: text/csv\r\n\r\n`)
const tail = Buffer.from(`\r\n--${boundary}--\r\n`)
const size = statSync(file).size
let peak = 0
const timer = setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss) }, 50)
const req = http.request(`${api.url}/api/profiles/import`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'x-api-version': '1', 'content-type': `multipart/form-data; boundary=${boundary}`, 'content-length': String(head.length + size + tail.length) } })
const res = new Promise<string>((resolve) => req.on('response', (r) => { let t = ''; r.on('data', (d) => (t += d)); r.on('end', () => resolve(t)) }))
req.write(head)
const s = createReadStream(file); s.pipe(req, { end: false }); await once(s, 'end'); req.end(tail)
const midTimer = setInterval(() => snap('during'), 2000)
const t0 = performance.now(); const body = await res; console.log(body.slice(0, 60), ((performance.now() - t0) / 1000).toFixed(1), 's')
clearInterval(midTimer); clearInterval(timer)
snap('after'); console.log('peak rss', mb(peak))
const g = (globalThis as { gc?: () => void }).gc
if (g) { g(); snap('after gc') }
await api.close()
