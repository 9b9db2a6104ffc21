/**
 * Local stand-in for the three name-enrichment APIs (Genderize, Agify, Nationalize).
 *
 * The real services cannot be reached from development machines or CI, so `npm start`
 * and the tests point the product at this one server instead. It speaks the real wire
 * formats — the product's parsers must not be able to tell the difference — and it
 * lets tests inject the failure modes the product must survive (hangs, HTML error
 * pages, 500s, null answers, empty or truncated bodies).
 *
 * One server answers all three APIs under path prefixes, so the product is configured
 * with three base URLs (`urls.genderize`, `urls.agify`, `urls.nationalize`) and calls
 * each exactly as it would call the real one: `GET <base>/?name=<name>`.
 */
import type { Socket } from 'node:net';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { createStandInApp, listenStandIn } from './stand-in-server.ts';

export const ENRICHMENT_SERVICES = ['genderize', 'agify', 'nationalize'] as const;
export type EnrichmentService = (typeof ENRICHMENT_SERVICES)[number];

/**
 * - `ok`: the deterministic, realistic answer for the name.
 * - `hang`: accept the request and never answer (exercises the product's timeouts).
 * - `html`: HTTP 200 with an HTML page, as a captive portal or misrouted proxy would serve.
 * - `500`: HTTP 500 with a JSON error body.
 * - `null`: the service's "I don't know this name" form (gender/age null, country []).
 * - `empty`: HTTP 200, `application/json`, zero-length body.
 * - `malformed-json`: HTTP 200, `application/json`, a truncated JSON document.
 */
export type EnrichmentBehaviour = 'ok' | 'hang' | 'html' | '500' | 'null' | 'empty' | 'malformed-json';

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

export interface GenderizeAnswer {
  count: number;
  name: string;
  gender: 'male' | 'female' | null;
  probability: number;
}

export interface AgifyAnswer {
  count: number;
  name: string;
  age: number | null;
}

export interface NationalizeAnswer {
  count: number;
  name: string;
  country: { country_id: string; probability: number }[];
}

export interface ServiceCalls {
  /** Requests received by this service (including ones that were made to hang). */
  count: number;
  /** The `name` of the most recent request, or null if none / no name was sent. */
  lastName: string | null;
  /** Names received, oldest first; capped so a long-running dev server cannot grow without bound. */
  names: string[];
}

export interface EnrichmentStubsOptions {
  host?: string;
  /** 0 (the default) picks a free port. */
  port?: number;
  logger?: boolean;
}

export interface EnrichmentStubs {
  /** Base URL of the server, e.g. `http://127.0.0.1:41234` (no trailing slash). */
  readonly url: string;
  /** The three base URLs to configure the product with. */
  readonly urls: Readonly<Record<EnrichmentService, string>>;
  /** Live per-service call counters; `reset()` zeroes them. */
  readonly calls: Readonly<Record<EnrichmentService, Readonly<ServiceCalls>>>;
  /** Sticky until changed or `reset()`; `'all'` applies it to the three services. Clears any `setFixed` payload. */
  setBehaviour(service: EnrichmentService | 'all', behaviour: EnrichmentBehaviour): void;
  /** Answer every request to `service` with exactly this JSON (HTTP 200) until changed or `reset()`. */
  setFixed(service: EnrichmentService, payload: JsonValue): void;
  /** Back to `ok` everywhere, no fixed payloads, counters zeroed. */
  reset(): void;
  /** Stops the server, destroying any connection still open (hung requests included). */
  close(): Promise<void>;
}

/** Countries the answers are drawn from: those of the seed data, weighted towards Africa like it is. */
export const STUB_COUNTRIES: readonly string[] = [
  'NG', 'KE', 'ET', 'GH', 'ZA', 'BJ', 'UG', 'EG', 'TZ', 'CM', 'CD', 'SN', 'CI', 'ML', 'RW',
  'SD', 'MZ', 'MA', 'AO', 'MG', 'ZW', 'TN', 'ZM',
  'US', 'FR', 'IN', 'GB', 'BR', 'DE', 'CN', 'AU', 'JP', 'CA',
];

const NAMES_KEPT = 100;

// ---------------------------------------------------------------------------
// Deterministic answers
// ---------------------------------------------------------------------------

/** FNV-1a, 32-bit: tiny, stable across runs and platforms, good enough to spread names around. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(text)) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** mulberry32: a seeded PRNG, so one name yields a reproducible stream of "random" numbers. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomFor(service: EnrichmentService, name: string): () => number {
  // Case and surrounding spaces should not change the answer ("Ella" and "ella " are one person);
  // the service name is mixed in so gender, age and country are independent of each other.
  return seededRandom(fnv1a(`${service}:${name.trim().toLowerCase()}`));
}

const round2 = (x: number): number => Math.round(x * 100) / 100;

/** Names the real services have never seen: empty ones, and (for tests) anything containing "unknown". */
function isUnknownName(name: string): boolean {
  return name.trim() === '' || name.toLowerCase().includes('unknown');
}

function sampleCount(random: () => number): number {
  return 100 + Math.floor(random() * 200_000);
}

export function genderizeAnswer(name: string): GenderizeAnswer {
  if (isUnknownName(name)) return genderizeNull(name);
  const random = randomFor('genderize', name);
  return {
    count: sampleCount(random),
    name,
    gender: random() < 0.5 ? 'female' : 'male',
    probability: round2(0.5 + random() * 0.49),
  };
}

export function agifyAnswer(name: string): AgifyAnswer {
  if (isUnknownName(name)) return agifyNull(name);
  const random = randomFor('agify', name);
  return { count: sampleCount(random), name, age: 1 + Math.floor(random() * 90) };
}

export function nationalizeAnswer(name: string): NationalizeAnswer {
  if (isUnknownName(name)) return nationalizeNull(name);
  const random = randomFor('nationalize', name);
  const count = sampleCount(random);
  const howMany = 1 + Math.floor(random() * 3);
  const pool = [...STUB_COUNTRIES];
  const country: NationalizeAnswer['country'] = [];
  // Like the real service: distinct countries, most probable first, probabilities summing to < 1.
  let remaining = 0.3 + random() * 0.6;
  for (let i = 0; i < howMany; i++) {
    const [countryId] = pool.splice(Math.floor(random() * pool.length), 1);
    const share = i === howMany - 1 ? remaining : remaining * (0.5 + random() * 0.3);
    remaining -= share;
    country.push({ country_id: countryId, probability: Math.max(0.01, round2(share)) });
  }
  country.sort((a, b) => b.probability - a.probability);
  return { count, name, country };
}

/** All three answers for a name, as the stubs give them under the `ok` behaviour. */
export function enrichmentAnswers(name: string): {
  genderize: GenderizeAnswer;
  agify: AgifyAnswer;
  nationalize: NationalizeAnswer;
} {
  return { genderize: genderizeAnswer(name), agify: agifyAnswer(name), nationalize: nationalizeAnswer(name) };
}

const genderizeNull = (name: string): GenderizeAnswer => ({ count: 0, name, gender: null, probability: 0 });
const agifyNull = (name: string): AgifyAnswer => ({ count: 0, name, age: null });
const nationalizeNull = (name: string): NationalizeAnswer => ({ count: 0, name, country: [] });

const ANSWER: Record<EnrichmentService, (name: string) => JsonValue> = {
  genderize: (name) => ({ ...genderizeAnswer(name) }),
  agify: (name) => ({ ...agifyAnswer(name) }),
  nationalize: (name) => {
    const answer = nationalizeAnswer(name);
    return { ...answer, country: answer.country.map((c) => ({ ...c })) };
  },
};

const NULL_ANSWER: Record<EnrichmentService, (name: string) => JsonValue> = {
  genderize: (name) => ({ ...genderizeNull(name) }),
  agify: (name) => ({ ...agifyNull(name) }),
  nationalize: (name) => ({ ...nationalizeNull(name), country: [] }),
};

// ---------------------------------------------------------------------------
// Server
// ---------------------------------------------------------------------------

interface ServiceState {
  behaviour: EnrichmentBehaviour;
  /** When set, wins over `behaviour`; wrapped so that a fixed `null` payload is distinguishable from "none". */
  fixed: { payload: JsonValue } | null;
}

function freshCalls(): Record<EnrichmentService, ServiceCalls> {
  return {
    genderize: { count: 0, lastName: null, names: [] },
    agify: { count: 0, lastName: null, names: [] },
    nationalize: { count: 0, lastName: null, names: [] },
  };
}

export async function startEnrichmentStubs(opts: EnrichmentStubsOptions = {}): Promise<EnrichmentStubs> {
  const app = createStandInApp(opts.logger);

  const state: Record<EnrichmentService, ServiceState> = {
    genderize: { behaviour: 'ok', fixed: null },
    agify: { behaviour: 'ok', fixed: null },
    nationalize: { behaviour: 'ok', fixed: null },
  };
  // Mutated in place (never replaced) so a reference a test took to `stubs.calls` stays live.
  const calls = freshCalls();

  // Every socket is tracked so close() can destroy them: a `hang` request otherwise keeps its
  // connection — and therefore server.close() and the test process — alive forever.
  const sockets = new Set<Socket>();
  app.server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });

  function record(service: EnrichmentService, name: string | null): void {
    const c = calls[service];
    c.count += 1;
    c.lastName = name;
    if (name !== null) {
      c.names.push(name);
      if (c.names.length > NAMES_KEPT) c.names.splice(0, c.names.length - NAMES_KEPT);
    }
  }

  function handlerFor(service: EnrichmentService) {
    return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
      const query = request.query as Record<string, string | string[] | undefined>;
      const raw = query.name;
      const name = Array.isArray(raw) ? (raw[0] ?? null) : (raw ?? null);
      record(service, name);

      const { behaviour, fixed } = state[service];
      if (fixed !== null) {
        await reply.code(200).type('application/json; charset=utf-8').send(JSON.stringify(fixed.payload));
        return;
      }

      switch (behaviour) {
        case 'hang':
          // Take the raw response away from Fastify and never write to it: the client sees an
          // open connection with no status line, exactly like an upstream that stopped answering.
          reply.hijack();
          return;
        case 'html':
          await reply
            .code(200)
            .type('text/html; charset=utf-8')
            .send('<!DOCTYPE html><html><head><title>Just a moment...</title></head><body><h1>Checking your browser</h1></body></html>');
          return;
        case '500':
          await reply.code(500).send({ error: 'Internal Server Error' });
          return;
        case 'empty':
          await reply.code(200).type('application/json; charset=utf-8').send('');
          return;
        case 'malformed-json':
          await reply
            .code(200)
            .type('application/json; charset=utf-8')
            .send(`{"count":12,"name":${JSON.stringify(name ?? '')},"`);
          return;
        case 'null':
        case 'ok':
          break;
      }

      // The real services answer a request without `name` with 422 and this exact body.
      if (name === null) {
        await reply.code(422).send({ error: "Missing 'name' parameter" });
        return;
      }
      await reply.code(200).send(behaviour === 'null' ? NULL_ANSWER[service](name) : ANSWER[service](name));
    };
  }

  for (const service of ENRICHMENT_SERVICES) {
    // The product appends "/?name=…" to its base URL; "?name=…" without the slash is accepted too.
    app.get(`/${service}`, handlerFor(service));
    app.get(`/${service}/`, handlerFor(service));
  }

  const url = await listenStandIn(app, opts.host ?? '127.0.0.1', opts.port);

  return {
    url,
    urls: {
      genderize: `${url}/genderize`,
      agify: `${url}/agify`,
      nationalize: `${url}/nationalize`,
    },
    calls,
    setBehaviour(service, behaviour) {
      const targets = service === 'all' ? ENRICHMENT_SERVICES : [service];
      for (const s of targets) state[s] = { behaviour, fixed: null };
    },
    setFixed(service, payload) {
      state[service] = { behaviour: 'ok', fixed: { payload } };
    },
    reset() {
      for (const s of ENRICHMENT_SERVICES) {
        state[s] = { behaviour: 'ok', fixed: null };
        Object.assign(calls[s], { count: 0, lastName: null, names: [] });
      }
    },
    async close() {
      const closing = app.close();
      for (const socket of sockets) socket.destroy();
      await closing;
    },
  };
}
