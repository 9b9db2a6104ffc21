/**
 * What both stand-ins (GitHub, enrichment) do to come up: a Fastify app that is quiet unless asked
 * and whose close() also drops busy keep-alive connections, listening on a loopback port (any free
 * one by default) and reachable at the URL it reports.
 */
import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';

export function createStandInApp(logger: boolean | undefined): FastifyInstance {
  // forceCloseConnections: true makes close() also drop busy keep-alive connections, not just idle ones.
  return Fastify({ logger: logger ?? false, forceCloseConnections: true });
}

/** Listens and returns the URL a client can use (wildcard hosts become loopback). */
export async function listenStandIn(app: FastifyInstance, host: string, port = 0): Promise<string> {
  await app.listen({ host, port });
  return baseUrl(app.server.address(), host);
}

function baseUrl(address: AddressInfo | string | null, requestedHost: string): string {
  if (address === null || typeof address === 'string') {
    throw new Error(`stand-in server is not listening on a TCP port (address: ${String(address)})`);
  }
  let host = requestedHost;
  if (host === '0.0.0.0' || host === '::' || host === '') host = '127.0.0.1';
  if (host.includes(':')) host = `[${host}]`;
  return `http://${host}:${address.port}`;
}
