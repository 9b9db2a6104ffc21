/**
 * npm run bench             — one table: every API case vs a hello-world floor and its SQL alone, import, seed
 * npm run bench -- seed     — time seeding 1M synthetic profiles into an empty table
 * npm run bench -- portal   — the portal's profiles page at 16 concurrent users
 * npm run bench -- import   — a 500k-row CSV import while the list benchmark runs
 * npm run bench -- parser   — the natural-language parser per query over the grammar table
 * npm run bench -- abuse    — slow export readers and a 500-connection stats burst during a list load
 * npm run bench -- cli      — start-up of the compiled CLI (--version, --help) next to `node -e 0`
 * Options: --rows N (default 1000000), --duration S (default 10), --only TEXT (api: only the cases whose
 * label contains TEXT, next to the floor; no import or seed). BENCH_DATABASE_URL picks the server.
 */
import { parseArgs } from 'node:util'

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { rows: { type: 'string' }, duration: { type: 'string' }, only: { type: 'string' } },
})
const rows = values.rows ? Number(values.rows) : undefined
const duration = values.duration ? Number(values.duration) : undefined
const which = positionals[0] ?? 'api'

switch (which) {
  case 'api': {
    const { benchApi } = await import('./bench-api.ts')
    await benchApi({ rows, duration, only: values.only })
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
  case 'abuse': {
    const { benchAbuse } = await import('./bench-abuse.ts')
    await benchAbuse({ rows, duration })
    break
  }
  case 'cli':
    await (await import('./bench-cli.ts')).benchCli()
    break
  default:
    console.error(`unknown benchmark "${which}": api, seed, portal, import, parser, abuse or cli`)
    process.exit(2)
}
