/**
 * `npm run build -w cli` (or `node cli/build.js`): compiles the CLI and the contract/ files it
 * imports to cli/dist/ with tsc (cli/tsconfig.build.json) and writes the entry point
 * cli/dist/main.js. Plain JavaScript so that it runs before anything is compiled; the test helper
 * and bin/insighta.js use `isStale()` to tell whether cli/dist/ still matches the sources.
 */
import { spawnSync } from 'node:child_process'
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const CLI_DIR = path.dirname(fileURLToPath(import.meta.url))
const ROOT = path.dirname(CLI_DIR)
export const DIST = path.join(CLI_DIR, 'dist')
export const ENTRY = path.join(DIST, 'main.js')
const STAMP = path.join(DIST, '.sources-mtime')

/** Everything the compiled output depends on. */
function sourceFiles() {
  const files = [path.join(CLI_DIR, 'package.json'), path.join(CLI_DIR, 'tsconfig.build.json'), path.join(ROOT, 'tsconfig.json')]
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.name === 'dist' || entry.name === 'node_modules' || entry.name.startsWith('.')) continue
      const full = path.join(dir, entry.name)
      if (entry.isDirectory()) walk(full)
      else if (entry.name.endsWith('.ts')) files.push(full)
    }
  }
  walk(CLI_DIR)
  walk(path.join(ROOT, 'contract'))
  return files
}

function newestSourceMtime() {
  return Math.max(...sourceFiles().map((file) => statSync(file).mtimeMs))
}

/** True when cli/dist/ is missing or older than any source it was built from. */
export function isStale() {
  if (!existsSync(ENTRY) || !existsSync(STAMP)) return true
  return newestSourceMtime() > Number(readFileSync(STAMP, 'utf8'))
}

/** Builds into a fresh folder and swaps it in, so a failed build never leaves half a dist/. */
export function build() {
  const started = newestSourceMtime()
  const temp = path.join(CLI_DIR, `.dist-${process.pid}-${Date.now()}`)
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc')
  const result = spawnSync(process.execPath, [tsc, '-p', path.join(CLI_DIR, 'tsconfig.build.json'), '--outDir', temp], {
    cwd: CLI_DIR,
    encoding: 'utf8',
  })
  if (result.status !== 0) {
    rmSync(temp, { recursive: true, force: true })
    throw new Error(`tsc failed (exit ${result.status}):\n${result.stdout}${result.stderr}`)
  }
  mkdirSync(temp, { recursive: true })
  // The compiled modules sit at dist/cli/ and dist/contract/ (rootDir is the repository).
  writeFileSync(path.join(temp, 'main.js'), "#!/usr/bin/env node\nimport './cli/main.js'\n")
  chmodSync(path.join(temp, 'main.js'), 0o755)
  writeFileSync(path.join(temp, '.sources-mtime'), String(started))
  const old = `${DIST}.old-${process.pid}`
  if (existsSync(DIST)) renameSync(DIST, old)
  renameSync(temp, DIST)
  rmSync(old, { recursive: true, force: true })
  return DIST
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  build()
  console.log(`built ${path.relative(process.cwd(), ENTRY) || ENTRY}`)
}
