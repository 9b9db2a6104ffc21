/**
 * Runs the Genderize/Agify/Nationalize stand-in on its own, for development:
 *   npx tsx scripts/enrichment-stand-in.ts [--port 4002] [--host 127.0.0.1]
 */
import { parseArgs } from 'node:util';
import { startEnrichmentStubs } from '../dev/enrichment-stand-in.ts';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '4002' },
    host: { type: 'string', default: '127.0.0.1' },
  },
});

const port = Number.parseInt(values.port, 10);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`--port must be a port number, got ${JSON.stringify(values.port)}`);
  process.exit(2);
}

const stubs = await startEnrichmentStubs({ host: values.host, port, logger: true });

console.log(`Enrichment stand-in (development only) listening on ${stubs.url}`);
console.log(`  genderize:   ${stubs.urls.genderize}`);
console.log(`  agify:       ${stubs.urls.agify}`);
console.log(`  nationalize: ${stubs.urls.nationalize}`);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void stubs.close().then(() => process.exit(0));
  });
}
