/**
 * npm run bench             — the API on 1M profiles (list, search, get, stats, export, RSS)
 * npm run bench -- seed     — time seeding 1M synthetic profiles into an empty table
 * npm run bench -- portal   — the portal's profiles page at 16 concurrent users
 * npm run bench -- import   — a 500k-row CSV import while the list benchmark runs
 * npm run bench -- parser   — the natural-language parser per query over the grammar table
 * npm run bench -- cli      — start-up of the compiled CLI (--version, --help) next to `node -e 0`
 * Options: --rows N (default 1000000), --duration S (default 10). BENCH_DATABASE_URL picks the server.
 */
import { parseArgs } from 'node:util'

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { rows: { type: 'string' }, duration: { type: 'string' } },
})
const rows = values.rows ? Number(values.rows) : undefined
const duration = values.duration ? Number(values.duration) : undefined
const which = positionals[0] ?? 'api'

switch (which) {
  case 'api': {
    const { benchApi } = await import('./bench-api.ts')
    await benchApi({ rows, duration })
    break
  }
  case 'seed': {
    const { benchSeed } = await import('./bench-seed.ts')
    await benchSeed({ rows })
    break
  }
  case 'portal': {
    const { benchPortal } = await import('./bench-portal.ts')
    await benchPortal({ rows, duration })
    break
  }
  case 'import': {
    const { benchImport } = await import('./bench-import.ts')
    await benchImport({ rows, duration })
    break
  }
  case 'parser': {
    const { benchParser } = await import('./bench-parser.ts')
    benchParser()
    break
  }
  case 'cli':
    await (await import('./bench-cli.ts')).benchCli()
    break
  default:
    console.error(`unknown benchmark "${which}": api, seed, portal, import, parser or cli`)
    process.exit(2)
}
