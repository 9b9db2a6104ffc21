import { Type, type Static, type TObject } from 'typebox'
import { Value } from 'typebox/value'

/**
 * Parses environment variables against a TypeBox schema: defaults applied, strings converted to the
 * declared types, and every problem reported at once with the variable's name (never its value,
 * which may be a secret). Empty strings count as unset, as in most .env tooling.
 */
export function parseEnv<S extends TObject>(schema: S, env: Record<string, string | undefined>): Static<S> {
  const input: Record<string, unknown> = {}
  for (const key of Object.keys(schema.properties)) {
    const value = env[key]
    if (value !== undefined && value !== '') input[key] = value
  }
  const withDefaults = Value.Default(schema, input)
  const converted = Value.Convert(schema, withDefaults)
  const errors = [...Value.Errors(schema, converted)]
  if (errors.length > 0) {
    const lines = errors.map((e) => {
      const name = e.keyword === 'required' ? e.params.requiredProperties.join(', ') : e.instancePath.replace(/^\//, '')
      return `  ${name || '(root)'}: ${e.message}`
    })
    throw new Error(`invalid configuration:\n${[...new Set(lines)].join('\n')}`)
  }
  return converted as Static<S>
}

/** "a,b , c" → ["a","b","c"] */
export function csvList(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
}

/**
 * Variables both apps read with the same meaning: deployment, logging, proxy trust and the shared
 * database. Each app's schema spreads these properties next to its own.
 */
export const SharedEnvProperties = {
  DEPLOYMENT_ENV: Type.Union([Type.Literal('development'), Type.Literal('test'), Type.Literal('production')], {
    default: 'development',
  }),
  LOG_LEVEL: Type.Union(
    ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)),
    { default: 'info' },
  ),
  /** json (default): one JSON object per line; pretty: one human-readable line per request (development) */
  LOG_FORMAT: Type.Union([Type.Literal('json'), Type.Literal('pretty')], { default: 'json' }),
  TRUST_PROXY: Type.String({ default: 'false' }),
  DATABASE_URL: Type.Optional(Type.String({ pattern: '^postgres(ql)?://' })),
  DATA_DIR: Type.String({ default: '.data' }),
  DB_POOL_MAX: Type.Integer({ minimum: 1, maximum: 200, default: 10 }),
  DB_STATEMENT_TIMEOUT_MS: Type.Integer({ minimum: 0, default: 15000 }),
}

/** TRUST_PROXY: false, true, a hop count, or a list of trusted proxy addresses/CIDRs. */
export function parseTrustProxy(value: string): boolean | number | string[] {
  if (value === 'false') return false
  if (value === 'true') return true
  if (/^\d+$/.test(value)) return Number(value)
  return csvList(value)
}
