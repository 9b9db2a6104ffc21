/**
 * npm run build [-- --out DIR] — the API, the portal and the database layer compiled to plain
 * JavaScript (tsconfig.build.json), with the files they read at run time: the portal's views and
 * static files and the seed profiles. Production runs `node dist/api/server.js` and
 * `node dist/portal/server.js`: no TypeScript loader in the process (tsx costs the API ~65 MB of
 * resident memory), nothing compiled at start-up. DIR must sit inside the project so that
 * node_modules resolves.
 */
import { spawnSync } from 'node:child_process'
import { cp, rm } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')

/** Files read at run time relative to the compiled modules, copied beside them. */
export const RUNTIME_ASSETS = ['portal/views', 'portal/public', 'db/seed/profiles.json'] as const

export async function build(outDir = path.join(ROOT, 'dist')): Promise<string> {
  const out = path.resolve(ROOT, outDir)
  if (path.relative(ROOT, out).startsWith('..')) throw new Error(`the build must go inside ${ROOT}, not ${out}`)
  await rm(out, { recursive: true, force: true })
  const tsc = spawnSync(process.execPath, [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json', '--outDir', out], {
    cwd: ROOT,
    stdio: 'inherit',
  })
  if (tsc.status !== 0) throw new Error(`tsc failed (exit ${tsc.status})`)
  for (const asset of RUNTIME_ASSETS) await cp(path.join(ROOT, asset), path.join(out, asset), { recursive: true })
  return out
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { out: { type: 'string' } } })
  const out = await build(values.out)
  console.log(`built ${path.relative(ROOT, out) || '.'}/ — run: node ${path.relative(ROOT, out)}/api/server.js, node ${path.relative(ROOT, out)}/portal/server.js`)
}
