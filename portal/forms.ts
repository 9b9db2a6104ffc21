/**
 * Route schemas are validated by Fastify with `attachValidation`: a handler gets the failed fields
 * here and re-renders its form with one message per field, instead of checking values by hand.
 */
import type { FastifyRequest } from 'fastify'
import { Type } from 'typebox'

/** A form field's value as a browser sends it: text without control characters (tab and newlines allowed). */
export const TEXT_PATTERN = '^[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f]*$'

/** Text that must hold something other than whitespace, and no control characters. */
export const REQUIRED_TEXT_PATTERN =
  '^[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f]*[^\\s\\u0000-\\u001f\\u007f][^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f]*$'

/** Every POST form carries the CSRF token (checked by plugins/csrf.ts, declared here so bodies are closed schemas). */
export const CsrfField = { _csrf: Type.Optional(Type.String({ maxLength: 200 })) }

export interface SchemaProblem {
  /** the top-level field, e.g. `min_age` */
  field: string
  /** the schema keyword that failed: maxLength, pattern, type, required… */
  keyword: string
  /** which part of the request: querystring, body, params */
  part: string
}

interface ValidationDetail {
  instancePath?: string
  keyword?: string
  params?: Record<string, unknown>
}

/** The fields Fastify's validation refused on this request, first problem per field. */
export function schemaProblems(request: FastifyRequest): SchemaProblem[] {
  const error = request.validationError
  if (!error) return []
  const details = (error.validation ?? []) as ValidationDetail[]
  const seen = new Set<string>()
  const out: SchemaProblem[] = []
  for (const detail of details) {
    const path = detail.instancePath ?? ''
    const missing = detail.params?.missingProperty
    const field = path.startsWith('/') ? path.slice(1).split('/')[0] : typeof missing === 'string' ? missing : ''
    if (seen.has(field)) continue
    seen.add(field)
    out.push({ field, keyword: detail.keyword ?? 'invalid', part: error.validationContext ?? 'body' })
  }
  return out
}

export type FieldMessage = string | ((keyword: string) => string)

/** field → message for the form, from a table of messages per field (a field not in the table: "Invalid value."). */
export function formErrors(request: FastifyRequest, messages: Record<string, FieldMessage>): Record<string, string> {
  const errors: Record<string, string> = {}
  for (const problem of schemaProblems(request)) {
    const message = messages[problem.field]
    errors[problem.field] = message === undefined ? 'Invalid value.' : typeof message === 'string' ? message : message(problem.keyword)
  }
  return errors
}

/** Whether validation failed on this part of the request (a malformed path id is a 404, not a form error). */
export function failedIn(request: FastifyRequest, part: 'params' | 'querystring' | 'body'): boolean {
  return request.validationError?.validationContext === part
}
