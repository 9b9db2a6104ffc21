/**
 * npm run bench -- parser — the natural-language parser's cost per query over the grammar table
 * (test/fixtures/nl-phrasings.ts), in this process: p50, p99 and max per query after a warm-up,
 * next to the cost of lower-casing the same query (the floor: one pass over its characters).
 */
import { parseProfileQuery } from '../contract/nl-parser.ts'
import { PHRASINGS } from '../test/fixtures/nl-phrasings.ts'

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]
}

function timePerQuery(queries: readonly string[], fn: (q: string) => unknown, rounds: number): number[] {
  const samples: number[] = []
  let sink = 0
  for (let round = 0; round < rounds; round++) {
    for (const q of queries) {
      const start = process.hrtime.bigint()
      const out = fn(q)
      samples.push(Number(process.hrtime.bigint() - start) / 1000)
      if (out !== null) sink++
    }
  }
  if (sink < 0) console.log(sink) // keeps the calls observable
  return samples.sort((a, b) => a - b)
}

export function benchParser(options: { rounds?: number } = {}): void {
  const rounds = options.rounds ?? 200
  const queries = PHRASINGS.map(([q]) => q)
  timePerQuery(queries, parseProfileQuery, 50) // warm-up: JIT and inline caches
  timePerQuery(queries, (q) => q.toLowerCase(), 50)
  const parser = timePerQuery(queries, parseProfileQuery, rounds)
  const floor = timePerQuery(queries, (q) => q.toLowerCase(), rounds)
  const row = (name: string, s: number[]) =>
    `| ${name} | ${percentile(s, 50).toFixed(2)} µs | ${percentile(s, 99).toFixed(2)} µs | ${s[s.length - 1].toFixed(1)} µs |`
  console.log(`natural-language parser, ${queries.length} phrasings × ${rounds} rounds (${parser.length} calls), one process`)
  console.log('| what | p50 | p99 | max |')
  console.log('|---|---|---|---|')
  console.log(row('parseProfileQuery', parser))
  console.log(row('floor: toLowerCase of the same query', floor))
  console.log(`target p99 ≤ 50 µs: ${percentile(parser, 99) <= 50 ? 'met' : 'missed'}`)
}
