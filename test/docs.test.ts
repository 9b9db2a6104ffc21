import { existsSync, readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'

/**
 * The docs stay true to the tree: every relative link in the README, docs/ and .env.example resolves
 * (to a file, and to a heading when it names one), the README stays a front door, and the committed
 * copy of the contract is the shared one.
 */
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')

const documents = ['README.md', '.env.example', ...readdirSync(path.join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)]

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to dashes. */
export function slugOf(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[`*_]/g, '')
    .replace(/[^\p{L}\p{N} -]/gu, '')
    .replace(/ /g, '-')
}

function anchorsOf(file: string): Set<string> {
  const text = readFileSync(file, 'utf8').replace(/```[\s\S]*?```/g, '')
  return new Set([...text.matchAll(/^#{1,6} (.+)$/gm)].map((m) => slugOf(m[1])))
}

/** Relative link targets: Markdown links and images, and docs/… paths named in .env comments. */
function linksOf(doc: string, text: string): string[] {
  const prose = text.replace(/```[\s\S]*?```/g, '')
  const targets = [...prose.matchAll(/!?\[[^\]]*\]\(([^)\s]+)\)/g)].map((m) => m[1])
  if (doc === '.env.example') targets.push(...[...prose.matchAll(/\b(docs\/[\w./-]+\.md)/g)].map((m) => m[1]))
  return targets.filter((href) => !/^[a-z][a-z0-9+.-]*:/i.test(href))
}

/** The links of `doc` (a path relative to the root) whose file or heading does not exist. */
function brokenLinks(doc: string, text: string): string[] {
  const broken: string[] = []
  for (const href of linksOf(doc, text)) {
    const [target, anchor] = href.split('#')
    const file = target === '' ? path.join(ROOT, doc) : path.resolve(ROOT, path.dirname(doc), target)
    if (!file.startsWith(ROOT + path.sep)) broken.push(`${doc}: ${href} leaves the repository`)
    else if (!existsSync(file)) broken.push(`${doc}: ${href} (no such file)`)
    else if (anchor && file.endsWith('.md') && !anchorsOf(file).has(anchor)) broken.push(`${doc}: ${href} (no such heading)`)
  }
  return broken
}

t.test('every relative link resolves', async (t) => {
  let checked = 0
  const broken: string[] = []
  for (const doc of documents) {
    const text = readFileSync(path.join(ROOT, doc), 'utf8')
    checked += linksOf(doc, text).length
    broken.push(...brokenLinks(doc, text))
  }
  t.ok(checked > 20, `${checked} links checked`)
  t.same(broken, [], 'no broken links')
})

t.test('the checker sees a missing file, a missing heading and a link out of the tree', async (t) => {
  t.equal(slugOf('The `insighta` command-line tool'), 'the-insighta-command-line-tool')
  t.equal(slugOf('Identity: GitHub login, tokens'), 'identity-github-login-tokens')
  const sample = '[a](nope.md) [b](../README.md#no-such-heading) [c](../README.md#two-commands) [d](../../x.md) [e](https://example.com/x.md)\n```\n[f](ignored.md)\n```'
  t.same(brokenLinks('docs/sample.md', sample), [
    'docs/sample.md: nope.md (no such file)',
    'docs/sample.md: ../README.md#no-such-heading (no such heading)',
    'docs/sample.md: ../../x.md leaves the repository',
  ])
  t.same(brokenLinks('.env.example', '# see docs/nowhere.md'), ['.env.example: docs/nowhere.md (no such file)'])
})

t.test('the README is a front door', async (t) => {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8')
  t.ok(readme.split('\n').length <= 200, 'at most 200 lines')
  t.match(readme, /npm start/)
  t.match(readme, /npm test/)
})

t.test('docs describe the product as it is, not as a diary', async (t) => {
  for (const doc of documents) {
    const text = readFileSync(path.join(ROOT, doc), 'utf8')
    t.notMatch(text, /\b(this|previous|last|next) session\b/i, `${doc} has no session diary`)
  }
})

const shared = path.resolve(ROOT, '..', 'shared', 'CONTRACT.md')
t.test('docs/contract.md is the shared contract, byte for byte', { skip: existsSync(shared) ? false : `no ${shared} beside this checkout to compare with` }, async (t) => {
  t.equal(readFileSync(path.join(ROOT, 'docs', 'contract.md'), 'utf8'), readFileSync(shared, 'utf8'))
})
