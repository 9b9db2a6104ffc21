/**
 * Runs the GitHub OAuth stand-in on its own, for development:
 *   npx tsx scripts/github-stand-in.ts [--port 4001] [--host 127.0.0.1] [--client-id ID] [--client-secret SECRET]
 */
import { parseArgs } from 'node:util';
import {
  DEFAULT_STAND_IN_USERS,
  GITHUB_STAND_IN_CLIENT_ID,
  GITHUB_STAND_IN_CLIENT_SECRET,
  startGitHubStandIn,
} from '../dev/github-stand-in.ts';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '4001' },
    host: { type: 'string', default: '127.0.0.1' },
    'client-id': { type: 'string', default: GITHUB_STAND_IN_CLIENT_ID },
    'client-secret': { type: 'string', default: GITHUB_STAND_IN_CLIENT_SECRET },
  },
});

const port = Number.parseInt(values.port, 10);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`--port must be a port number, got ${JSON.stringify(values.port)}`);
  process.exit(2);
}

const standIn = await startGitHubStandIn({
  host: values.host,
  port,
  clientId: values['client-id'],
  clientSecret: values['client-secret'],
  logger: true,
});

console.log(`GitHub stand-in (development only) listening on ${standIn.url}`);
console.log(`  client id: ${standIn.clientId}`);
console.log(`  users:     ${DEFAULT_STAND_IN_USERS.map((u) => u.login).join(', ')} (or type any login)`);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void standIn.close().then(() => process.exit(0));
  });
}
