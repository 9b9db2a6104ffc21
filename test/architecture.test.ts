import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import ts from 'typescript'

/**
 * The allowed imports of docs/architecture.md, read from the code: every relative import of every
 * source file, resolved to the top-level folder it lands in. contract/ is the product's vocabulary
 * and imports no app folder; the portal and the CLI reach the API only over HTTP.
 */
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')

const ALLOWED: Record<string, readonly string[]> = {
  contract: ['contract'],
  platform: ['platform', 'contract'],
  db: ['db', 'contract'],
  api: ['api', 'contract', 'platform', 'db'],
  portal: ['portal', 'contract', 'platform', 'db'],
  cli: ['cli', 'contract'],
  dev: ['dev', 'contract'],
}

function sourceFiles(dir: string): string[] {
  const out: string[] = []
  for (const entry of readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
    const rel = path.join(dir, entry.name)
    if (entry.isDirectory()) out.push(...sourceFiles(rel))
    else if (/\.(ts|js|mjs)$/.test(entry.name) && !rel.startsWith(path.join('portal', 'public'))) out.push(rel)
  }
  return out
}

/** Top-level folders that each file's relative imports and re-exports land in. */
function importsOf(file: string): { spec: string; folder: string }[] {
  const info = ts.preProcessFile(readFileSync(path.join(ROOT, file), 'utf8'), true, true)
  return info.importedFiles
    .map((f) => f.fileName)
    .filter((spec) => spec.startsWith('.'))
    .map((spec) => ({ spec, folder: path.relative(ROOT, path.resolve(ROOT, path.dirname(file), spec)).split(path.sep)[0] }))
}

const violations: string[] = []
let checked = 0
for (const [folder, allowed] of Object.entries(ALLOWED)) {
  for (const file of sourceFiles(folder)) {
    for (const { spec, folder: target } of importsOf(file)) {
      checked++
      if (!allowed.includes(target)) violations.push(`${file} imports ${spec} (${target}/ is not allowed from ${folder}/)`)
    }
  }
}

t.ok(checked > 100, `read the imports (${checked} relative imports checked)`)
t.same(violations, [], 'every import follows the allowed directions')

t.test('the check itself sees a forbidden import', async (t) => {
  const probe = ts.preProcessFile(`import { x } from '../api/app.ts'\nexport * from './y.ts'`, true, true)
  t.same(
    probe.importedFiles.map((f) => f.fileName),
    ['../api/app.ts', './y.ts'],
    'imports and re-exports are both read',
  )
})
