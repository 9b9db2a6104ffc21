import { Command } from 'commander'
import { withExamples } from './commands/shared.ts'
import type { CliContext } from './context.ts'
import { CLI_VERSION } from './version.ts'

const EXIT_CODES_HELP = `Exit codes: 0 ok · 2 usage (bad flag or value) · 3 not logged in or session expired · 4 permission
denied · 5 not found · 6 API unreachable · 7 API error or unexpected answer (auth status: 1 when not logged in or not valid).
Environment: INSIGHTA_HOME (credentials folder, default ~/.insighta), INSIGHTA_TOKEN (use this access
token or personal access token instead of the file), INSIGHTA_API_URL (the API to use), NO_COLOR / FORCE_COLOR (colour on a terminal).`

interface TopLevelCommand {
  name: string
  description: string
  load(ctx: CliContext): Promise<Command>
}

/**
 * The top-level commands, each loaded only when it is the one being run: a command line pays for
 * its own command's modules and nothing else. The others appear in `--help` by name and description.
 */
const COMMANDS: readonly TopLevelCommand[] = [
  {
    name: 'login',
    description: 'log in through GitHub in your browser and save credentials for the other commands',
    load: async (ctx) => (await import('./commands/auth.ts')).loginCommand(ctx),
  },
  {
    name: 'logout',
    description: 'end the session on the server, then delete the local credentials',
    load: async (ctx) => (await import('./commands/auth.ts')).logoutCommand(ctx),
  },
  {
    name: 'whoami',
    description: 'show who you are logged in as, where, and where the credentials are stored',
    load: async (ctx) => (await import('./commands/auth.ts')).whoamiCommand(ctx),
  },
  {
    name: 'auth',
    description: 'auth status: who you are, how you are authenticated and until when',
    load: async (ctx) => (await import('./commands/auth-status.ts')).authCommand(ctx),
  },
  {
    name: 'profiles',
    description: 'list, search, view, create, delete, export, import and count profiles',
    load: async (ctx) => (await import('./commands/profiles.ts')).profilesCommand(ctx),
  },
  {
    name: 'saved',
    description: 'your saved searches: list, save, delete (run one with profiles list --saved NAME)',
    load: async (ctx) => (await import('./commands/saved.ts')).savedCommand(ctx),
  },
  {
    name: 'sessions',
    description: 'your active sessions (CLI logins and browsers) and when each one ends',
    load: async (ctx) => (await import('./commands/sessions.ts')).sessionsCommand(ctx),
  },
  {
    name: 'tokens',
    description: 'personal access tokens for CI and scripts: create, list, revoke',
    load: async (ctx) => (await import('./commands/tokens.ts')).tokensCommand(ctx),
  },
  {
    name: 'users',
    description: 'manage users (admin)',
    load: async (ctx) => (await import('./commands/users.ts')).usersCommand(ctx),
  },
]

/** The command a command line runs: its first word that is not a flag (`help X` runs X's help). */
export function requestedCommand(args: readonly string[]): string | undefined {
  const words = args.filter((arg) => !arg.startsWith('-'))
  return words[0] === 'help' ? words[1] : words[0]
}

/** The command tree for `args` (the command line without node and the script). Nothing runs here. */
export async function buildProgram(ctx: CliContext, args: readonly string[]): Promise<Command> {
  const program = new Command('insighta')
    .description('Insighta Labs+ in your terminal: demographic profiles, search, export and accounts.')
    .version(CLI_VERSION, '-v, --version')
  withExamples(program, [
    'insighta login',
    'insighta profiles list --gender female --country NG --limit 20',
    'insighta profiles search "adult males from kenya"',
    'insighta profiles export --format csv --age-group senior',
    'insighta whoami',
  ]).addHelpText('after', EXIT_CODES_HELP)

  const requested = requestedCommand(args)
  for (const entry of COMMANDS) {
    if (entry.name === requested) program.addCommand((await entry.load(ctx)).description(entry.description))
    else program.command(entry.name).description(entry.description)
  }
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
