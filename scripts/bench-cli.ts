/**
 * npm run bench -- cli — start-up time of the compiled CLI: `node cli/dist/main.js --version` and
 * `--help`, next to `node -e 0` (the floor: Node itself) in the same run. The three are interleaved
 * so that a busy machine slows them alike. Builds cli/dist/ first when it is stale.
 */
import { spawnSync } from 'node:child_process'
import os from 'node:os'
import { performance } from 'node:perf_hooks'
import { build, ENTRY, isStale } from '../cli/build.js'

const RUNS = 40

interface Case {
  label: string
  args: string[]
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]
}

function timeOnce(args: string[]): number {
  const start = performance.now()
  const result = spawnSync(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' })
  const elapsed = performance.now() - start
  if (result.status !== 0) throw new Error(`node ${args.join(' ')} exited ${result.status}: ${result.stderr}`)
  return elapsed
}

export async function benchCli(): Promise<void> {
  if (isStale()) {
    console.log('building cli/dist/ …')
    build()
  }
  const cases: Case[] = [
    { label: 'node -e 0 (floor)', args: ['-e', '0'] },
    { label: 'insighta --version', args: [ENTRY, '--version'] },
    { label: 'insighta --help', args: [ENTRY, '--help'] },
  ]
  const times = cases.map(() => [] as number[])
  for (const c of cases) timeOnce(c.args) // warm the file cache
  for (let run = 0; run < RUNS; run++) cases.forEach((c, i) => times[i].push(timeOnce(c.args)))

  const [load1] = os.loadavg()
  console.log(`CLI start-up, ${RUNS} runs each, Node ${process.version}, ${os.cpus().length} cores, load average ${load1.toFixed(2)}`)
  console.log(`${'case'.padEnd(22)}${'median'.padStart(10)}${'p90'.padStart(10)}${'min'.padStart(10)}`)
  const floor = [...times[0]].sort((a, b) => a - b)
  cases.forEach((c, i) => {
    const sorted = [...times[i]].sort((a, b) => a - b)
    const ms = (n: number) => `${n.toFixed(0)} ms`.padStart(10)
    const over = i === 0 ? '' : `   (+${(percentile(sorted, 50) - percentile(floor, 50)).toFixed(0)} ms over the floor)`
    console.log(`${c.label.padEnd(22)}${ms(percentile(sorted, 50))}${ms(percentile(sorted, 90))}${ms(sorted[0])}${over}`)
  })
}
