/**
 * npm run bench — the API on 1M profiles in a real Postgres: per endpoint requests/s and p50/p99 at 32
 * connections with the query cache OFF (every total is computed), export throughput and peak RSS.
 */
import { BENCH_DATABASE_URL, benchApiEnv, ensureProfiles, load, machineLine, startChild } from './bench-support.ts'

export async function benchApi(options: { rows?: number; duration?: number } = {}) {
  const rows = options.rows ?? 1_000_000
  const duration = options.duration ?? 10
  console.log(`machine: ${machineLine()}`)
  const total = await ensureProfiles(rows)
  console.log(`profiles in ${BENCH_DATABASE_URL.replace(/:[^:@/]*@/, ':***@')}: ${total}`)

  const api = await startChild('api/server.ts', benchApiEnv())
  try {
    const headers: Record<string, string> = { 'x-api-version': '1' }
    const login = await fetch(`${api.url}/auth/github/callback?code=analyst_test_code`)
    if (login.ok) headers.authorization = `Bearer ${((await login.json()) as { access_token: string }).access_token}`

    // Sanity: the uncached total is exact.
    const check = await fetch(`${api.url}/api/profiles?limit=1`, { headers })
    const checkBody = (await check.json()) as { total: number }
    if (checkBody.total !== total) throw new Error(`total ${checkBody.total} ≠ ${total}`)
    console.log(`uncached total on GET /api/profiles: ${checkBody.total} (exact)`)

    const idsBody = (await (await fetch(`${api.url}/api/profiles?limit=50&sort_by=name`, { headers })).json()) as {
      data: { id: string }[]
    }
    const countries = ['NG', 'KE', 'GH', 'ZA', 'ET', 'AO', 'TZ', 'UG', 'EG', 'BJ']
    const sorts = ['age', 'created_at', 'gender_probability', 'name']
    const results: Record<string, { p99: number }> = {}
    console.log(`\n${duration} s per endpoint, 32 connections, cache off:`)
    results.list = await load(
      'list (2 filters + sort)',
      api.url,
      countries.flatMap((c, i) => [
        { path: `/api/profiles?gender=male&country_id=${c}&sort_by=${sorts[i % 4]}&order=desc`, headers },
        { path: `/api/profiles?age_group=adult&country_id=${c}&sort_by=age&page=3`, headers },
      ]),
      { duration },
    )
    results.search = await load(
      'NL search',
      api.url,
      ['young males from nigeria', 'females above 30', 'adult men from kenya', 'seniors in ghana', 'women aged 20-45 living in angola',
        'teenagers from south africa', 'children under 10', 'elderly women from egypt']
        .map((q) => ({ path: `/api/profiles/search?q=${encodeURIComponent(q)}`, headers })),
      { duration },
    )
    results.get = await load(
      'get by id',
      api.url,
      idsBody.data.map((p) => ({ path: `/api/profiles/${p.id}`, headers })),
      { duration },
    )
    results.stats = await load('stats (country filter)', api.url, countries.map((c) => ({ path: `/api/profiles/stats?country_id=${c}`, headers })), { duration })
    results.broad = await load('list, broad probability filter', api.url, [{ path: '/api/profiles?min_gender_probability=0.8', headers }], { duration })

    console.log('\nexport of every profile as CSV:')
    const rssBefore = api.peakRssMb()
    const started = performance.now()
    const res = await fetch(`${api.url}/api/profiles/export?format=csv`, { headers })
    let bytes = 0
    let lines = 0
    const reader = res.body!.getReader()
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      bytes += value.length
      for (let i = 0; i < value.length; i++) if (value[i] === 10) lines++
    }
    const seconds = (performance.now() - started) / 1000
    const exported = lines - 1
    console.log(
      `exported ${exported} rows, ${(bytes / 2 ** 20).toFixed(0)} MiB in ${seconds.toFixed(1)} s: ${Math.round(exported / seconds)} rows/s`,
    )
    console.log(`API peak RSS: ${api.peakRssMb().toFixed(0)} MB (before export ${rssBefore.toFixed(0)} MB)`)
    if (exported !== total) throw new Error(`export had ${exported} rows, expected ${total}`)

    console.log('\ntargets: list p99 ≤ 25 ms, search p99 ≤ 25 ms, get p99 ≤ 10 ms, export ≥ 150k rows/s, RSS ≤ 200 MB')
    console.log(
      `          list ${results.list.p99} ms, search ${results.search.p99} ms, get ${results.get.p99} ms, export ${Math.round(exported / seconds)} rows/s, RSS ${api.peakRssMb().toFixed(0)} MB`,
    )
  } finally {
    await api.stop()
  }
}
