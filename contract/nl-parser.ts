/**
 * Natural-language profile search (contract §4): a rule-based parser that turns a query such as
 * "young males from nigeria" into the canonical ProfileFilter the list endpoint understands.
 * Pure: no I/O, no state; the same query always gives the same (canonical) filter, which is
 * what search caches key on.
 *
 * Pipeline: tokenize (lower case, diacritics folded, punctuation dropped, digits split from
 * letters) → terms (number words folded into numbers, a dash kept only between two numbers so
 * "20-45" / "20–45" stay a range) → one left-to-right scan in which, at each position, the first
 * matcher that recognises something consumes its words → the findings reduce to one filter.
 * Matching is on whole words only, so "man" never matches inside "german" nor "old" inside
 * "golden".
 *
 * Decisions where the contract leaves room:
 * - Words that carry no filter, unknown words and "or" are ignored: a query is refused (null)
 *   only when nothing in it yields a filter. "men and women" alone is therefore null too.
 * - Both genders named → no gender filter.
 * - Two or more different age groups → the span from the youngest group's minimum to the oldest
 *   group's maximum ("children and teenagers" → max_age 19; "adults and seniors" → min_age 20);
 *   a span covering every age contributes nothing. A single group → age_group.
 * - "young"/"youth" → 16–24 as age bounds, kept alongside any age group ("young adults").
 * - Age bounds intersect: the largest minimum and the smallest maximum win. A contradiction
 *   (min_age > max_age) is kept; the query simply matches nobody.
 * - Comparators are inclusive, as the contract's table says ("above 30" → min_age 30). A negated
 *   comparator flips ("no older than 30" → max_age 30). "aged 30", "age 30" and "30 years old"
 *   → min_age = max_age = 30. "N and over" / "N or older" / "N+" → min_age N, "N and under" →
 *   max_age N.
 * - A number only counts when attached to an age phrase; "top 10 nigerians" is Nigeria alone.
 *   Numbers are digits (at most 3 figures, so nothing overflows an integer column) or words:
 *   zero…nineteen, twenty…ninety, compounds ("twenty five", "twenty-five"), "(a|one) hundred".
 * - Countries: by name, alias or demonym, anywhere in the query ("from"/"in"/"living in" are
 *   plain filler). The longest phrase at a position wins, so "nigeria" is never "niger" and
 *   "equatorial guinea" never "guinea". Several countries named mean any of them ("nigeria or
 *   ghana", "nigerians and ghanaians" → country_id [GH, NG]): a profile has one country, so an
 *   AND of two would match nobody. Bare "congo"/"congolese" mean CG (see
 *   countries.ts). "us" is the United States except in the pronoun position ("show us …").
 *
 * Cost is linear in the input: one pass over the characters, then one pass over the terms with
 * a look-ahead bounded by the longest country phrase. The two regular expressions (strip
 * combining marks, strip leading zeros) cannot backtrack, whatever the input.
 */
import { COUNTRY_PHRASES, NON_COUNTRY_PHRASES, type CountryPhrase } from './countries.ts'
import {
  AGE_GROUP_BOUNDS,
  canonicalFilter,
  type AgeGroup,
  type Gender,
  type ProfileFilter,
} from './profile-filter.ts'

// ---------------------------------------------------------------------------------------------
// Vocabulary

const GENDER_WORDS: ReadonlyMap<string, Gender> = new Map([
  ...[
    'male', 'males', 'man', 'men', 'boy', 'boys', 'gentleman', 'gentlemen', 'gent', 'gents', 'guy',
    'guys', 'lad', 'lads', 'father', 'fathers', 'dad', 'dads', 'son', 'sons', 'brother', 'brothers',
    'husband', 'husbands', 'grandfather', 'grandfathers', 'uncle', 'uncles', 'nephew', 'nephews',
  ].map((w): [string, Gender] => [w, 'male']),
  ...[
    'female', 'females', 'woman', 'women', 'girl', 'girls', 'lady', 'ladies', 'gal', 'gals', 'lass',
    'lasses', 'mother', 'mothers', 'mom', 'moms', 'mum', 'mums', 'daughter', 'daughters', 'sister',
    'sisters', 'wife', 'wives', 'grandmother', 'grandmothers', 'aunt', 'aunts', 'niece', 'nieces',
  ].map((w): [string, Gender] => [w, 'female']),
])

const AGE_GROUP_WORDS: ReadonlyMap<string, AgeGroup> = new Map([
  ...['child', 'children', 'kid', 'kids', 'infant', 'infants', 'baby', 'babies', 'toddler', 'toddlers'].map(
    (w): [string, AgeGroup] => [w, 'child'],
  ),
  ...['teen', 'teens', 'teenager', 'teenagers', 'teenage', 'teenaged', 'adolescent', 'adolescents'].map(
    (w): [string, AgeGroup] => [w, 'teenager'],
  ),
  ...['adult', 'adults', 'grownup', 'grownups'].map((w): [string, AgeGroup] => [w, 'adult']),
  ...['senior', 'seniors', 'elderly', 'old', 'older', 'elder', 'elders', 'retiree', 'retirees', 'pensioner', 'pensioners'].map(
    (w): [string, AgeGroup] => [w, 'senior'],
  ),
])

const YOUNG_WORDS: ReadonlySet<string> = new Set(['young', 'youth', 'youths', 'younger', 'youngster', 'youngsters'])
/** "minors", "underage": under the age of majority. */
const MINOR_WORDS: ReadonlySet<string> = new Set(['minor', 'minors', 'underage'])
const MINOR_MAX_AGE = 17
/** "middle aged", "middle-aged", "midlife": 40 to 59. */
const MIDDLE_AGE = { min: 40, max: 59 } as const

/** Decades: "thirties", "in their 30s", "early 40s", "late twenties", "30-somethings". */
const DECADE_WORDS: ReadonlyMap<string, number> = new Map(
  ['twenties', 'thirties', 'forties', 'fifties', 'sixties', 'seventies', 'eighties', 'nineties'].map(
    (word, index) => [word, (index + 2) * 10],
  ),
)
const DECADE_SUFFIXES: ReadonlySet<string> = new Set(['s', 'something', 'somethings'])
/** Which years of a decade "early", "mid" and "late" mean: 30–33, 34–36, 37–39. */
const DECADE_PARTS: ReadonlyMap<string, { from: number; to: number }> = new Map([
  ['early', { from: 0, to: 3 }],
  ['mid', { from: 4, to: 6 }],
  ['late', { from: 7, to: 9 }],
])
const YOUNG_MIN_AGE = 16
const YOUNG_MAX_AGE = 24

type Bound = 'min' | 'max'

/** Prefix comparators, one or two words, followed by the age: "over 30", "at least 30". */
const COMPARATORS: ReadonlyMap<string, Bound> = new Map([
  ['above', 'min'],
  ['over', 'min'],
  ['older than', 'min'],
  ['at least', 'min'],
  ['more than', 'min'],
  ['greater than', 'min'],
  ['below', 'max'],
  ['under', 'max'],
  ['younger than', 'max'],
  ['at most', 'max'],
  ['less than', 'max'],
])
const COMPARATOR_STARTS: ReadonlySet<string> = new Set([...COMPARATORS.keys()].map((c) => c.split(' ')[0]))

/** Suffix comparators after "and"/"or": "30 and over", "30 or younger", "30 and up". */
const POSTFIX_COMPARATORS: ReadonlyMap<string, Bound> = new Map([
  ['above', 'min'],
  ['over', 'min'],
  ['older', 'min'],
  ['more', 'min'],
  ['up', 'min'],
  ['plus', 'min'],
  ['below', 'max'],
  ['under', 'max'],
  ['younger', 'max'],
  ['less', 'max'],
])

const NEGATIONS: ReadonlySet<string> = new Set(['no', 'not'])
/** Words allowed between a comparator or range opener and its number: "over the age of 30". */
const AGE_FILLER: ReadonlySet<string> = new Set(['the', 'age', 'ages', 'aged', 'of'])
/** Words that make a following lone number an exact age: "aged 30". */
const EXACT_AGE_OPENERS: ReadonlySet<string> = new Set(['aged', 'age', 'ages'])
/** Words that open a range; "and" only joins the two numbers after "between". */
const RANGE_OPENERS: ReadonlySet<string> = new Set(['between', 'from', 'aged', 'age', 'ages'])
const RANGE_CONNECTORS: ReadonlySet<string> = new Set(['to', 'through', 'thru', 'till', 'until'])
/** Unit words after an age: "30 years old", "30 yrs", "30-year-olds", "30yo", "30 y/o". */
const YEAR_WORDS: ReadonlySet<string> = new Set(['year', 'years', 'yr', 'yrs', 'y'])
const OLD_WORDS: ReadonlySet<string> = new Set(['old', 'olds', 'o', 'yo', 'yos'])
/** After these words "us" is the pronoun, not the United States: "show us women in kenya". */
const PRONOUN_CONTEXT: ReadonlySet<string> = new Set([
  'show', 'give', 'tell', 'find', 'get', 'let', 'help', 'send', 'bring', 'fetch', 'list',
  'for', 'to', 'like', 'with', 'among',
])

const UNIT_NUMBERS: ReadonlyMap<string, number> = new Map(
  [
    'zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten',
    'eleven', 'twelve', 'thirteen', 'fourteen', 'fifteen', 'sixteen', 'seventeen', 'eighteen',
    'nineteen',
  ].map((word, value) => [word, value]),
)
const TENS_NUMBERS: ReadonlyMap<string, number> = new Map(
  ['twenty', 'thirty', 'forty', 'fifty', 'sixty', 'seventy', 'eighty', 'ninety'].map(
    (word, index) => [word, (index + 2) * 10],
  ),
)
/** Ages have at most three figures; longer digit runs are not ages (and cannot overflow). */
const MAX_AGE_DIGITS = 3

/** Folded phrase → its country, or null for a phrase that names none ("south america"). */
const COUNTRY_INDEX: ReadonlyMap<string, CountryPhrase | null> = buildCountryIndex()
/**
 * First word of any phrase → the most words a phrase starting with it has. Lets the scan dismiss
 * an ordinary word with one lookup and bounds the longest-match look-ahead.
 */
const COUNTRY_PHRASE_STARTS: ReadonlyMap<string, number> = buildPhraseStarts(COUNTRY_INDEX.keys())

function buildCountryIndex(): Map<string, CountryPhrase | null> {
  const index = new Map<string, CountryPhrase | null>()
  for (const entry of COUNTRY_PHRASES) if (!index.has(entry.phrase)) index.set(entry.phrase, entry)
  for (const phrase of NON_COUNTRY_PHRASES) if (!index.has(phrase)) index.set(phrase, null)
  return index
}

function buildPhraseStarts(phrases: Iterable<string>): Map<string, number> {
  const starts = new Map<string, number>()
  for (const phrase of phrases) {
    const words = phrase.split(' ')
    starts.set(words[0], Math.max(starts.get(words[0]) ?? 0, words.length))
  }
  return starts
}

// ---------------------------------------------------------------------------------------------
// Tokens and terms

type RawToken =
  | { readonly kind: 'word'; readonly text: string }
  | { readonly kind: 'digits'; readonly text: string }
  | { readonly kind: 'dash' }

type Term =
  | { readonly kind: 'word'; readonly text: string }
  | { readonly kind: 'number'; readonly value: number }
  | { readonly kind: 'dash' }

const DASHES: ReadonlySet<string> = new Set(['-', '\u2010', '\u2011', '\u2012', '\u2013', '\u2014', '\u2212'])
/** Dropped without breaking the word, as foldPhrase does: "d'Ivoire" → "divoire". */
const APOSTROPHES: ReadonlySet<string> = new Set(["'", '\u2018', '\u2019', '\u02bc', '`'])

/**
 * Lower-cases, folds diacritics (NFD, marks removed) and splits into letter runs, digit runs
 * and dashes; "+" becomes the word "plus" ("30+"), everything else separates words.
 */
function tokenize(query: string): RawToken[] {
  const text = query.toLowerCase().normalize('NFD').replace(/\p{M}+/gu, '')
  const tokens: RawToken[] = []
  let run = ''
  let runIsDigits = false
  const flush = (): void => {
    if (run !== '') tokens.push({ kind: runIsDigits ? 'digits' : 'word', text: run })
    run = ''
  }
  for (const ch of text) {
    const isDigit = ch >= '0' && ch <= '9'
    if (isDigit || (ch >= 'a' && ch <= 'z')) {
      if (run !== '' && runIsDigits !== isDigit) flush()
      runIsDigits = isDigit
      run += ch
    } else if (!APOSTROPHES.has(ch)) {
      flush()
      if (DASHES.has(ch)) tokens.push({ kind: 'dash' })
      else if (ch === '+') tokens.push({ kind: 'word', text: 'plus' })
    }
  }
  flush()
  return tokens
}

function rawWordAt(tokens: readonly RawToken[], i: number): string | undefined {
  const token = tokens[i]
  return token?.kind === 'word' ? token.text : undefined
}

/** A number written in words starting at i: "thirty", "twenty five", "twenty-five", "a hundred". */
function readNumberWords(tokens: readonly RawToken[], i: number): { value: number; next: number } | undefined {
  const word = rawWordAt(tokens, i)
  if (word === undefined) return undefined
  if (word === 'hundred') return { value: 100, next: i + 1 }
  if (word === 'a' && rawWordAt(tokens, i + 1) === 'hundred') return { value: 100, next: i + 2 }
  const tens = TENS_NUMBERS.get(word)
  if (tens !== undefined) {
    const unitAt = tokens[i + 1]?.kind === 'dash' ? i + 2 : i + 1
    const unit = digitWordAt(tokens, unitAt)
    return unit === undefined ? { value: tens, next: i + 1 } : { value: tens + unit, next: unitAt + 1 }
  }
  const unit = UNIT_NUMBERS.get(word)
  if (unit === undefined) return undefined
  const hundreds = digitWordAt(tokens, i) !== undefined && rawWordAt(tokens, i + 1) === 'hundred'
  return hundreds ? { value: unit * 100, next: i + 2 } : { value: unit, next: i + 1 }
}

/** "one" … "nine" at i, the words that can follow a tens word or precede "hundred". */
function digitWordAt(tokens: readonly RawToken[], i: number): number | undefined {
  const unit = UNIT_NUMBERS.get(rawWordAt(tokens, i) ?? '')
  return unit !== undefined && unit >= 1 && unit <= 9 ? unit : undefined
}

function digitsTerm(digits: string): Term {
  const significant = digits.replace(/^0+(?=\d)/, '')
  // Too long to be an age: keep it as an inert word so it can't attach to "over".
  if (significant.length > MAX_AGE_DIGITS) return { kind: 'word', text: digits }
  return { kind: 'number', value: Number(significant) }
}

/** Folds numbers in; a dash survives only between two numbers, where it means a range. */
function toTerms(tokens: readonly RawToken[]): Term[] {
  const terms: Term[] = []
  for (let i = 0; i < tokens.length; ) {
    const spelled = readNumberWords(tokens, i)
    if (spelled !== undefined) {
      terms.push({ kind: 'number', value: spelled.value })
      i = spelled.next
      continue
    }
    const token = tokens[i]
    terms.push(token.kind === 'digits' ? digitsTerm(token.text) : token)
    i += 1
  }
  const isNumber = (i: number): boolean => terms[i]?.kind === 'number'
  return terms.filter((term, i) => term.kind !== 'dash' || (isNumber(i - 1) && isNumber(i + 1)))
}

function wordAt(terms: readonly Term[], i: number): string | undefined {
  const term = terms[i]
  return term?.kind === 'word' ? term.text : undefined
}

function numberAt(terms: readonly Term[], i: number): number | undefined {
  const term = terms[i]
  return term?.kind === 'number' ? term.value : undefined
}

function skipWords(terms: readonly Term[], i: number, words: ReadonlySet<string>): number {
  let j = i
  while (words.has(wordAt(terms, j) ?? '')) j += 1
  return j
}

// ---------------------------------------------------------------------------------------------
// Findings: what the scan recognised, before it is reduced to one filter

interface Findings {
  readonly genders: Set<Gender>
  readonly ageGroups: Set<AgeGroup>
  readonly minAges: number[]
  readonly maxAges: number[]
  /** every country named, in order of appearance, each once */
  readonly countryIds: string[]
  /** the words (and numbers) no matcher used */
  readonly ignored: string[]
}

function addBound(found: Findings, bound: Bound, age: number): void {
  if (bound === 'min') found.minAges.push(age)
  else found.maxAges.push(age)
}

function addRange(found: Findings, a: number, b: number): void {
  found.minAges.push(Math.min(a, b))
  found.maxAges.push(Math.max(a, b))
}

// ---------------------------------------------------------------------------------------------
// Matchers: each looks at position i and returns the index after what it consumed, or undefined

type Matcher = (terms: readonly Term[], i: number, found: Findings) => number | undefined

interface AgeReading {
  readonly value: number
  readonly next: number
  /** "years"/"old" followed the number, which makes a lone number an exact age */
  readonly hadUnit: boolean
}

/** A number at i plus optional unit words ("30", "30 years old", "30-year-olds"). */
function readAge(terms: readonly Term[], i: number): AgeReading | undefined {
  const value = numberAt(terms, i)
  if (value === undefined) return undefined
  let next = i + 1
  if (YEAR_WORDS.has(wordAt(terms, next) ?? '')) next += 1
  if (OLD_WORDS.has(wordAt(terms, next) ?? '')) next += 1
  return { value, next, hadUnit: next > i + 1 }
}

function readComparator(terms: readonly Term[], i: number): { bound: Bound; next: number } | undefined {
  const first = wordAt(terms, i)
  if (first === undefined || !COMPARATOR_STARTS.has(first)) return undefined
  const second = wordAt(terms, i + 1)
  const two = second === undefined ? undefined : COMPARATORS.get(`${first} ${second}`)
  if (two !== undefined) return { bound: two, next: i + 2 }
  const one = COMPARATORS.get(first)
  return one === undefined ? undefined : { bound: one, next: i + 1 }
}

/** "and over", "or younger", "plus" right after an age. */
function readPostfix(terms: readonly Term[], i: number): { bound: Bound; next: number } | undefined {
  const first = wordAt(terms, i)
  if (first === 'plus') return { bound: 'min', next: i + 1 }
  if (first !== 'and' && first !== 'or') return undefined
  const bound = POSTFIX_COMPARATORS.get(wordAt(terms, i + 1) ?? '')
  return bound === undefined ? undefined : { bound, next: i + 2 }
}

/** "over 30", "at least thirty", "not older than 30", "under the age of 18". */
const matchComparator: Matcher = (terms, i, found) => {
  const negated = NEGATIONS.has(wordAt(terms, i) ?? '')
  const comparator = readComparator(terms, negated ? i + 1 : i)
  if (comparator === undefined) return undefined
  const age = readAge(terms, skipWords(terms, comparator.next, AGE_FILLER))
  if (age === undefined) return undefined
  const flipped: Bound = comparator.bound === 'min' ? 'max' : 'min'
  addBound(found, negated ? flipped : comparator.bound, age.value)
  return age.next
}

/** A decade at i: "30s", "30 somethings", "thirties", optionally after "early"/"mid"/"late". */
const matchDecade: Matcher = (terms, i, found) => {
  const part = DECADE_PARTS.get(wordAt(terms, i) ?? '')
  const at = part === undefined ? i : i + 1
  let decade: number | undefined
  let next = at + 1
  const number = numberAt(terms, at)
  if (number !== undefined && number % 10 === 0 && number >= 10 && number <= 90 && DECADE_SUFFIXES.has(wordAt(terms, at + 1) ?? '')) {
    decade = number
    next = at + 2
  } else {
    decade = DECADE_WORDS.get(wordAt(terms, at) ?? '')
  }
  if (decade === undefined) return undefined
  addRange(found, decade + (part?.from ?? 0), decade + (part?.to ?? 9))
  return next
}

/**
 * Phrases built around a number: ranges ("between 20 and 45", "aged 20-45", "20 to 45"),
 * postfix bounds ("30 and over", "30+"), exact ages ("aged 30", "30 years old"). A bare number
 * is consumed without effect, so it can never attach to a later word.
 */
const matchAgeNumber: Matcher = (terms, i, found) => {
  const opener = wordAt(terms, i)
  const opened = opener !== undefined && RANGE_OPENERS.has(opener)
  const first = readAge(terms, opened ? skipWords(terms, i + 1, AGE_FILLER) : i)
  if (first === undefined) return undefined

  const connector = terms[first.next]
  const joinsRange =
    connector?.kind === 'dash' ||
    (connector?.kind === 'word' &&
      (RANGE_CONNECTORS.has(connector.text) || (connector.text === 'and' && opener === 'between')))
  const second = joinsRange ? readAge(terms, first.next + 1) : undefined
  if (second !== undefined) {
    addRange(found, first.value, second.value)
    return second.next
  }

  const postfix = readPostfix(terms, first.next)
  if (postfix !== undefined) {
    addBound(found, postfix.bound, first.value)
    return postfix.next
  }

  const exact = first.hadUnit || (opener !== undefined && EXACT_AGE_OPENERS.has(opener))
  if (exact) addRange(found, first.value, first.value)
  else found.ignored.push(String(first.value))
  return first.next
}

/** The longest country (or non-country) phrase starting at i; only the first country counts. */
const matchCountry: Matcher = (terms, i, found) => {
  const first = wordAt(terms, i)
  const maxWords = first === undefined ? undefined : COUNTRY_PHRASE_STARTS.get(first)
  if (first === undefined || maxWords === undefined) return undefined
  let phrase = first
  let best: { entry: CountryPhrase | null; next: number } | undefined
  for (let length = 1; length <= maxWords; length += 1) {
    if (length > 1) {
      const word = wordAt(terms, i + length - 1)
      if (word === undefined) break // a phrase never spans a number or a dash
      phrase = `${phrase} ${word}`
    }
    const entry = COUNTRY_INDEX.get(phrase)
    if (entry === undefined) continue
    if (entry?.alsoCommonWord === true && PRONOUN_CONTEXT.has(wordAt(terms, i - 1) ?? '')) continue
    best = { entry, next: i + length }
  }
  if (best === undefined) return undefined
  if (best.entry !== null && !found.countryIds.includes(best.entry.countryId)) found.countryIds.push(best.entry.countryId)
  return best.next
}

/** Single words: genders, age groups, "young", "minors", "middle aged". */
const matchKeyword: Matcher = (terms, i, found) => {
  const word = wordAt(terms, i)
  if (word === undefined) return undefined
  if (word === 'middle' && (wordAt(terms, i + 1) === 'aged' || wordAt(terms, i + 1) === 'age')) {
    addRange(found, MIDDLE_AGE.min, MIDDLE_AGE.max)
    return i + 2
  }
  if (word === 'midlife') {
    addRange(found, MIDDLE_AGE.min, MIDDLE_AGE.max)
    return i + 1
  }
  if (MINOR_WORDS.has(word)) {
    found.maxAges.push(MINOR_MAX_AGE)
    return i + 1
  }
  const gender = GENDER_WORDS.get(word)
  if (gender !== undefined) found.genders.add(gender)
  const ageGroup = AGE_GROUP_WORDS.get(word)
  if (ageGroup !== undefined) found.ageGroups.add(ageGroup)
  if (YOUNG_WORDS.has(word)) addRange(found, YOUNG_MIN_AGE, YOUNG_MAX_AGE)
  return gender !== undefined || ageGroup !== undefined || YOUNG_WORDS.has(word) ? i + 1 : undefined
}

/** Order matters: number phrases (decades before plain numbers) before countries before single keywords. */
const MATCHERS: readonly Matcher[] = [matchComparator, matchDecade, matchAgeNumber, matchCountry, matchKeyword]

function scan(terms: readonly Term[]): Findings {
  const found: Findings = {
    genders: new Set(),
    ageGroups: new Set(),
    minAges: [],
    maxAges: [],
    countryIds: [],
    ignored: [],
  }
  let i = 0
  while (i < terms.length) {
    let next: number | undefined
    for (const matcher of MATCHERS) {
      next = matcher(terms, i, found)
      if (next !== undefined) break
    }
    if (next === undefined) {
      // anything unrecognised is filler
      const term = terms[i]
      if (term.kind === 'word') found.ignored.push(term.text)
      else if (term.kind === 'number') found.ignored.push(String(term.value))
      next = i + 1
    }
    i = next
  }
  return found
}

// ---------------------------------------------------------------------------------------------
// Reduction to one filter

/** Several different groups: the span from the youngest group's min to the oldest group's max. */
function ageGroupSpan(groups: ReadonlySet<AgeGroup>): { min: number; max: number | null } {
  const bounds = [...groups].map((group) => AGE_GROUP_BOUNDS[group])
  const min = Math.min(...bounds.map((b) => b.min))
  const max = bounds.some((b) => b.max === null) ? null : Math.max(...bounds.map((b) => b.max ?? 0))
  return { min, max }
}

function toFilter(found: Findings): ProfileFilter | null {
  const minAges = [...found.minAges]
  const maxAges = [...found.maxAges]
  let ageGroup: AgeGroup | undefined
  if (found.ageGroups.size === 1) {
    ageGroup = [...found.ageGroups][0]
  } else if (found.ageGroups.size > 1) {
    const span = ageGroupSpan(found.ageGroups)
    if (span.min > 0) minAges.push(span.min) // a minimum of 0 excludes nobody
    if (span.max !== null) maxAges.push(span.max)
  }
  const filter = canonicalFilter({
    gender: found.genders.size === 1 ? [...found.genders][0] : undefined,
    age_group: ageGroup,
    // several countries: any of them (see the header comment)
    country_id: found.countryIds.length > 1 ? found.countryIds : found.countryIds[0],
    // reduce rather than Math.max(...xs): a long query could exceed the argument limit
    min_age: minAges.length > 0 ? minAges.reduce((a, b) => Math.max(a, b)) : undefined,
    max_age: maxAges.length > 0 ? maxAges.reduce((a, b) => Math.min(a, b)) : undefined,
  })
  return Object.keys(filter).length > 0 ? filter : null
}

/**
 * The canonical filter a natural-language query asks for, or null when nothing in it could be
 * interpreted (the route answers 400 "Unable to interpret query"). Never sets the probability
 * thresholds.
 */
export function parseProfileQuery(q: string): ProfileFilter | null {
  return interpretProfileQuery(q).filter
}

/** How a query was read: the canonical filter (null when nothing could be interpreted) and the words that carried none. */
export interface QueryInterpretation {
  filter: ProfileFilter | null
  /** folded words and numbers that no rule used, in query order ("people", "who", "are" …) */
  ignored: string[]
}

export function interpretProfileQuery(q: string): QueryInterpretation {
  const found = scan(toTerms(tokenize(q)))
  return { filter: toFilter(found), ignored: found.ignored }
}

/** Queries shown to people whose query the parser could not interpret (API, portal, CLI). */
export { SEARCH_EXAMPLES } from './search-examples.ts'
