import { CommanderError } from 'commander'
import { createContext } from './context.ts'
import { readEnvironment } from './environment.ts'
import { CliError, ExitCode } from './errors.ts'
import { setUserAgentMachine } from './http.ts'
import { Output } from './output.ts'
import { buildProgram } from './program.ts'

/** Runs one command line and returns its exit code; every failure becomes one line on stderr. */
export async function run(argv: readonly string[]): Promise<number> {
  let out = new Output(process.stdout, process.stderr)
  let debug = false
  try {
    const env = readEnvironment()
    out = new Output(process.stdout, process.stderr, env.colour)
    setUserAgentMachine(env.hostname, env.platform)
    debug = env.debug
    const program = await buildProgram(createContext(env, out), argv.slice(2))
    await program.parseAsync([...argv])
    return ExitCode.ok
  } catch (error) {
    return report(error, out, debug)
  }
}

function report(error: unknown, out: Output, debug: boolean): number {
  if (error instanceof CommanderError) {
    // Commander has already printed its message (or the help/version text).
    if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return ExitCode.ok
    return ExitCode.usage
  }
  if (error instanceof CliError) {
    out.error(error.message)
    return error.exitCode
  }
  out.error(`unexpected failure: ${error instanceof Error ? error.message : String(error)}`)
  if (debug && error instanceof Error && error.stack) out.message(error.stack)
  else out.message('(set INSIGHTA_DEBUG=1 for details)')
  return ExitCode.internal
}
