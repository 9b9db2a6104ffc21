import { execFileSync } from 'node:child_process'
import { loadApiConfig } from '../api/config.ts'
import { startApi } from '../api/server.ts'
const config = loadApiConfig({ ...process.env, DATABASE_URL: 'postgres://postgres:postgres@127.0.0.1:5432/insighta_import_scratch', PORT: '0', LOG_LEVEL: 'warn', AUTH_TEST_CODE_ENABLED: 'true', DEPLOYMENT_ENV: 'development', RATE_LIMIT_AUTH_PER_MINUTE: '1000', IMPORT_MAX_BYTES: '1048576', IMPORT_MAX_ROWS: '1000' })
const api = await startApi(config)
const token = ((await (await fetch(`${api.url}/auth/github/callback?code=test_code`)).json()) as { access_token: string }).access_token
const curl = (...args: string[]) => { const t = performance.now(); try { return execFileSync('curl', ['-sS', '-w', ' [%{http_code}]', '-H', `Authorization: Bearer ${token}`, '-H', 'X-API-Version: 1', ...args, `${api.url}/api/profiles/import`], { encoding: 'utf8' }).slice(0, 300) + ` ${(performance.now() - t).toFixed(0)}ms` } catch (e) { return 'ERR ' + String((e as { stderr?: string }).stderr ?? e) } }
console.log('big (4.9MB > 1MB):', curl('-F', 'file=@/tmp/imp/scratch-B.csv'))
console.log('big chunked:', curl('-H', 'Transfer-Encoding: chunked', '-F', 'file=@/tmp/imp/scratch-B.csv'))
execFileSync('sh', ['-c', 'head -c 900000 /tmp/imp/scratch-C.csv > /tmp/imp/small.csv'])
console.log('rows over limit (900KB):', curl('-F', 'file=@/tmp/imp/small.csv'))
console.log('health after:', (await fetch(`${api.url}/api/profiles?limit=1`, { headers: { authorization: `Bearer ${token}`, 'x-api-version': '1' } })).status)
await api.close()
