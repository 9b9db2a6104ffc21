import { isRecord } from '../credentials.ts'
import { sanitise } from '../http.ts'

/** The order a person reads a filter in. */
const ORDER = ['gender', 'age_group', 'min_age', 'max_age', 'country_id', 'min_gender_probability', 'min_country_probability']

/**
 * One line from the search envelope's `interpreted` ({filter, ignored_words}):
 * `understood as: gender=male age_group=adult country_id=KE (ignored: "please")`. Undefined when
 * the answer has none (a list, or an older API).
 */
export function understoodAs(interpreted: unknown): string | undefined {
  if (!isRecord(interpreted) || !isRecord(interpreted.filter)) return undefined
  const filter = interpreted.filter
  const keys = [...ORDER.filter((k) => k in filter), ...Object.keys(filter).filter((k) => !ORDER.includes(k)).sort()]
  const parts = keys.flatMap((key) => {
    const value = filter[key]
    if (value === null || value === undefined) return []
    const text = Array.isArray(value) ? value.map(String).join(',') : String(value)
    return [`${sanitise(key)}=${sanitise(text)}`]
  })
  const ignored = Array.isArray(interpreted.ignored_words)
    ? interpreted.ignored_words.filter((w): w is string => typeof w === 'string').map((w) => `"${sanitise(w)}"`)
    : []
  const understood = parts.length === 0 ? '(no filter)' : parts.join(' ')
  return `understood as: ${understood}${ignored.length === 0 ? '' : ` (ignored: ${ignored.join(', ')})`}`.slice(0, 500)
}
