/**
 * The `insighta` entry point, kept tiny on purpose: `--version` is answered from a constant with
 * nothing else loaded, and every other command line loads the runner (Commander plus only the
 * command asked for) on demand. No other work happens at import time.
 */
import { CLI_VERSION } from './version.ts'

const args = process.argv.slice(2)
if (args.length === 1 && (args[0] === '--version' || args[0] === '-v')) {
  process.stdout.write(`${CLI_VERSION}\n`)
} else {
  const { run } = await import('./run.ts')
  const code = await run(process.argv)
  // Exit explicitly once stdout has drained: idle keep-alive sockets must not hold the terminal.
  process.stdout.write('', () => process.exit(code))
}
