/**
 * Text that may reach the application's logic or the database: any string without NUL and without
 * the other C0 (U+0000–U+001F) and C1 (U+007F–U+009F) control characters. Postgres refuses NUL in
 * text outright, and no field of this product (names, queries, states, URIs, ids, tokens) has a use
 * for the others, so every text input is declared with this schema and a control character is a
 * validation error (422 in the contract's envelope), never a 500.
 */
import { Type, type TSchema, type TString } from 'typebox'

export const SAFE_TEXT_PATTERN = '^[^\\u0000-\\u001F\\u007F-\\u009F]*$'
const SAFE_TEXT_RE = new RegExp(SAFE_TEXT_PATTERN, 'u')

type StringOptions = Parameters<typeof Type.String>[0]

/** A string input refusing control characters; `options` as for Type.String (its own `pattern` is not allowed). */
export function SafeText(options: Omit<NonNullable<StringOptions>, 'pattern'> = {}): TString {
  return Type.String({ ...options, pattern: SAFE_TEXT_PATTERN })
}

/** Whether a value is free of control characters (for text checked outside a schema, e.g. headers). */
export function isSafeText(value: string): boolean {
  return SAFE_TEXT_RE.test(value)
}

/** The same text with every control character removed (for values we record but do not refuse, e.g. User-Agent). */
export function stripControlCharacters(value: string): string {
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  return isSafeText(value) ? value : value.replace(/[\u0000-\u001F\u007F-\u009F]/gu, '')
}

/** Whether a JSON schema node is a SafeText string (tests walk the OpenAPI document with this). */
export function isSafeTextSchema(schema: TSchema | Record<string, unknown>): boolean {
  return (schema as { pattern?: unknown }).pattern === SAFE_TEXT_PATTERN
}
