import { type Static, type TObject } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'

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
    const lines = errors.map((e) => `  ${e.path.replace(/^\//, '') || '(root)'}: ${e.message}`)
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
