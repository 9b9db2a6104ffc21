import { readFileSync } from 'node:fs'
import { Command } from 'commander'
import { loginCommand, logoutCommand, whoamiCommand } from './commands/auth.ts'
import { profilesCommand } from './commands/profiles.ts'
import { withExamples } from './commands/shared.ts'
import { sessionsCommand } from './commands/sessions.ts'
import { usersCommand } from './commands/users.ts'
import type { CliContext } from './context.ts'

function packageVersion(): string {
  const pkg: unknown = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'))
  return typeof pkg === 'object' && pkg !== null && 'version' in pkg && typeof pkg.version === 'string' ? pkg.version : '0.0.0'
}

const EXIT_CODES_HELP = `Exit codes: 0 ok · 2 usage (bad flag or value) · 3 not logged in or session expired · 4 permission
denied · 5 not found · 6 API unreachable · 7 API error or unexpected answer.
Environment: INSIGHTA_HOME (credentials folder, default ~/.insighta), INSIGHTA_TOKEN (use this access
token instead of the file), INSIGHTA_API_URL (the API to use).`

/** The whole command tree. Commands get the context; nothing here runs anything. */
export function buildProgram(ctx: CliContext): Command {
  const program = new Command('insighta')
    .description('Insighta Labs+ in your terminal: demographic profiles, search, export and accounts.')
    .version(packageVersion(), '-v, --version')
  withExamples(program, [
    'insighta login',
    'insighta profiles list --gender female --country NG --limit 20',
    'insighta profiles search "adult males from kenya"',
    'insighta profiles export --format csv --age-group senior',
    'insighta whoami',
  ]).addHelpText('after', EXIT_CODES_HELP)

  program.addCommand(loginCommand(ctx))
  program.addCommand(logoutCommand(ctx))
  program.addCommand(whoamiCommand(ctx))
  program.addCommand(profilesCommand(ctx))
  program.addCommand(sessionsCommand(ctx))
  program.addCommand(usersCommand(ctx))
  configureTree(program)
  return program
}

/**
 * Commander only passes these settings to subcommands made with .command(), not .addCommand(), so
 * they are applied to the whole tree: errors are thrown (main maps them to exit code 2) instead of
 * exiting with Commander's code 1, and every error ends with a pointer to --help.
 */
function configureTree(command: Command): void {
  command.exitOverride().showHelpAfterError('(run with --help for usage and examples)')
  for (const sub of command.commands) configureTree(sub)
}
