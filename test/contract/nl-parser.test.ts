import { readFileSync } from 'node:fs'
import t from 'tap'
import {
  COUNTRIES,
  COUNTRY_PHRASES,
  countryNameOf,
  foldPhrase,
  isKnownCountryId,
} from '../../contract/countries.ts'
import { parseProfileQuery } from '../../contract/nl-parser.ts'
import type { ProfileFilter } from '../../contract/profile-filter.ts'

interface SeedProfile {
  name: string
  gender: string
  age: number
  age_group: string
  country_id: string
  country_name: string
}

const seed: SeedProfile[] = (
  JSON.parse(readFileSync(new URL('../../db/seed/profiles.json', import.meta.url), 'utf8')) as {
    profiles: SeedProfile[]
  }
).profiles

const seedCountries = new Map<string, string>(seed.map((p) => [p.country_id, p.country_name]))

type Row = readonly [query: string, expected: ProfileFilter | null]

/** A subtest checking each row against the exact canonical shape (key order included). */
function rowsTest(name: string, rows: readonly Row[]): void {
  t.test(name, async (t) => {
    for (const [query, expected] of rows) {
      t.equal(JSON.stringify(parseProfileQuery(query)), JSON.stringify(expected), JSON.stringify(query))
    }
  })
}

rowsTest('contract table: genders', [
  ...['male', 'males', 'man', 'men', 'boy', 'boys'].map((w): Row => [w, { gender: 'male' }]),
  ...['female', 'females', 'woman', 'women', 'girl', 'girls', 'lady', 'ladies'].map(
    (w): Row => [w, { gender: 'female' }],
  ),
  ['male and female teenagers', { age_group: 'teenager' }],
  ['men and women from kenya', { country_id: 'KE' }],
  ['boys or girls under 12', { max_age: 12 }],
  // both genders and nothing else: no filter at all, so the route answers 400
  ['men and women', null],
])

rowsTest('contract table: age groups and young', [
  ...['child', 'children', 'kid', 'kids'].map((w): Row => [w, { age_group: 'child' }]),
  ...['teen', 'teens', 'teenager', 'teenagers'].map((w): Row => [w, { age_group: 'teenager' }]),
  ...['adult', 'adults'].map((w): Row => [w, { age_group: 'adult' }]),
  ...['senior', 'seniors', 'elderly', 'old'].map((w): Row => [w, { age_group: 'senior' }]),
  ['young', { max_age: 24, min_age: 16 }],
  ['youth', { max_age: 24, min_age: 16 }],
  ['young adults', { age_group: 'adult', max_age: 24, min_age: 16 }],
  ['teens and teenagers', { age_group: 'teenager' }],
  // several different groups → their span (documented decision)
  ['children and teenagers', { max_age: 19 }],
  ['adults and seniors', { min_age: 20 }],
  ['teenagers and adults', { max_age: 59, min_age: 13 }],
  ['children and seniors', null],
  ['young seniors', { age_group: 'senior', max_age: 24, min_age: 16 }],
])

rowsTest('contract table: comparators (inclusive) and ranges', [
  ['above 30', { min_age: 30 }],
  ['over 30', { min_age: 30 }],
  ['older than 30', { min_age: 30 }],
  ['at least 30', { min_age: 30 }],
  ['more than 30', { min_age: 30 }],
  ['below 30', { max_age: 30 }],
  ['under 30', { max_age: 30 }],
  ['younger than 30', { max_age: 30 }],
  ['at most 30', { max_age: 30 }],
  ['less than 30', { max_age: 30 }],
  ['between 20 and 45', { max_age: 45, min_age: 20 }],
  ['between ages 20 and 45', { max_age: 45, min_age: 20 }],
  ['between the ages of 20 and 45', { max_age: 45, min_age: 20 }],
  ['aged 20 to 45', { max_age: 45, min_age: 20 }],
  ['aged 20-45', { max_age: 45, min_age: 20 }],
  ['aged 20–45', { max_age: 45, min_age: 20 }],
  ['aged 20 — 45', { max_age: 45, min_age: 20 }],
  ['20-45', { max_age: 45, min_age: 20 }],
  ['20 to 45', { max_age: 45, min_age: 20 }],
  ['between 45 and 20', { max_age: 45, min_age: 20 }],
  ['aged 30', { max_age: 30, min_age: 30 }],
  ['30 years old', { max_age: 30, min_age: 30 }],
  ['30-year-old women', { gender: 'female', max_age: 30, min_age: 30 }],
  ['under 30 years old', { max_age: 30 }],
  ['over the age of 18', { min_age: 18 }],
  ['30 and over', { min_age: 30 }],
  ['30 or older', { min_age: 30 }],
  ['30+', { min_age: 30 }],
  ['18 and under', { max_age: 18 }],
  ['not older than 30', { max_age: 30 }],
  ['no younger than 30', { min_age: 30 }],
  // intersections: largest min, smallest max; contradictions kept (total 0, not an error)
  ['over 20 over 30 under 50 under 40', { max_age: 40, min_age: 30 }],
  ['young people over 30', { max_age: 24, min_age: 30 }],
  ['adults under 10', { age_group: 'adult', max_age: 10 }],
])

rowsTest('numbers in words', [
  ['above thirty', { min_age: 30 }],
  ['under twenty-five', { max_age: 25 }],
  ['under twenty five', { max_age: 25 }],
  ['older than nineteen', { min_age: 19 }],
  ['between twenty and forty', { max_age: 40, min_age: 20 }],
  ['aged twenty-thirty', { max_age: 30, min_age: 20 }],
  ['over a hundred', { min_age: 100 }],
  ['over one hundred', { min_age: 100 }],
  ['at least zero', { min_age: 0 }],
])

rowsTest('numbers not attached to an age phrase are ignored', [
  ['top 10 nigerians', { country_id: 'NG' }],
  ['30', null],
  ['over 12345', null],
  ['one two three', null],
])

t.test('equivalent queries give identical canonical filters', async (t) => {
  const pairs: readonly (readonly [string, string])[] = [
    ['young males from nigeria', 'males from nigeria who are young'],
    ['Nigerian females between ages 20 and 45', 'Women aged 20–45 living in Nigeria'],
    ['adult males from kenya', 'Kenyan men who are adults'],
    ['people from angola', 'Angolans'],
  ]
  for (const [a, b] of pairs) {
    const left = parseProfileQuery(a)
    t.not(left, null, a)
    t.equal(JSON.stringify(left), JSON.stringify(parseProfileQuery(b)), `${a} ≡ ${b}`)
  }
  t.same(parseProfileQuery('young males from nigeria'), {
    country_id: 'NG',
    gender: 'male',
    max_age: 24,
    min_age: 16,
  })
  t.same(parseProfileQuery('Nigerian females between ages 20 and 45'), {
    country_id: 'NG',
    gender: 'female',
    max_age: 45,
    min_age: 20,
  })
})

rowsTest('longest country phrase wins', [
  ['people from niger', { country_id: 'NE' }],
  ['people from nigeria', { country_id: 'NG' }],
  ['nigerien women', { country_id: 'NE', gender: 'female' }],
  ['nigerian women', { country_id: 'NG', gender: 'female' }],
  ['guinea', { country_id: 'GN' }],
  ['equatorial guinea', { country_id: 'GQ' }],
  ['guinea-bissau', { country_id: 'GW' }],
  ['guinea bissau', { country_id: 'GW' }],
  ['papua new guinea', { country_id: 'PG' }],
  ['guinean men', { country_id: 'GN', gender: 'male' }],
  ['equatorial guinean men', { country_id: 'GQ', gender: 'male' }],
  ['sudan', { country_id: 'SD' }],
  ['south sudan', { country_id: 'SS' }],
  ['sudanese', { country_id: 'SD' }],
  ['south sudanese', { country_id: 'SS' }],
  ['republic of the congo', { country_id: 'CG' }],
  ['democratic republic of the congo', { country_id: 'CD' }],
  ['dr congo', { country_id: 'CD' }],
  ['congo', { country_id: 'CG' }],
  ['congolese', { country_id: 'CG' }],
  ['american samoa', { country_id: 'AS' }],
  ['people from south america', null],
])

t.test('all 65 seed countries by their seed name', async (t) => {
  t.equal(seedCountries.size, 65)
  for (const [id, name] of seedCountries) {
    t.same(parseProfileQuery(name), { country_id: id }, name)
    t.same(parseProfileQuery(`women living in ${name}`), { country_id: id, gender: 'female' }, `in ${name}`)
    t.equal(countryNameOf(id), name, `${id} keeps the seed's spelling`)
  }
})

t.test('aliases', async (t) => {
  const aliases: Record<string, string> = {
    usa: 'US',
    us: 'US',
    'U.S.': 'US',
    'U.S.A.': 'US',
    america: 'US',
    'united states of america': 'US',
    uk: 'GB',
    'U.K.': 'GB',
    britain: 'GB',
    'great britain': 'GB',
    england: 'GB',
    drc: 'CD',
    'congo kinshasa': 'CD',
    'congo-brazzaville': 'CG',
    'republic of congo': 'CG',
    'ivory coast': 'CI',
    'Cote d’Ivoire': 'CI',
    'cote divoire': 'CI',
    swaziland: 'SZ',
    'cabo verde': 'CV',
    'sao tome': 'ST',
    'the gambia': 'GM',
    tanzania: 'TZ',
    turkey: 'TR',
    holland: 'NL',
    'st lucia': 'LC',
  }
  for (const [alias, id] of Object.entries(aliases)) {
    t.same(parseProfileQuery(alias), { country_id: id }, alias)
  }
  // "us" in the pronoun position is not the United States
  t.same(parseProfileQuery('show us women in kenya'), { country_id: 'KE', gender: 'female' })
  t.same(parseProfileQuery('us men'), { country_id: 'US', gender: 'male' })
})

t.test('demonyms', async (t) => {
  const demonyms: Record<string, string> = {
    nigerian: 'NG',
    nigerians: 'NG',
    kenyan: 'KE',
    kenyans: 'KE',
    ghanaian: 'GH',
    'south african': 'ZA',
    'south africans': 'ZA',
    american: 'US',
    americans: 'US',
    british: 'GB',
    french: 'FR',
    german: 'DE',
    ivorian: 'CI',
    ivorians: 'CI',
    angolan: 'AO',
    egyptian: 'EG',
    ethiopian: 'ET',
    chinese: 'CN',
    japanese: 'JP',
    indian: 'IN',
    somali: 'SO',
    somalis: 'SO',
    malagasy: 'MG',
    burkinabe: 'BF',
    motswana: 'BW',
    basotho: 'LS',
    swazi: 'SZ',
    'cape verdean': 'CV',
    'sierra leonean': 'SL',
    'central african': 'CF',
    seychellois: 'SC',
  }
  for (const [demonym, id] of Object.entries(demonyms)) {
    t.same(parseProfileQuery(demonym), { country_id: id }, demonym)
  }
})

rowsTest('several countries: any of them (either-or), in canonical order', [
  ['people from nigeria or ghana', { country_id: ['GH', 'NG'] }],
  ['ghanaians and nigerians', { country_id: ['GH', 'NG'] }],
  ['nigeria or nigeria', { country_id: 'NG' }],
])

rowsTest('"or" does not cause refusal', [
  ['men or women over 40', { min_age: 40 }],
  ['kenyan males or females', { country_id: 'KE' }],
  ['seniors or elderly women', { age_group: 'senior', gender: 'female' }],
])

rowsTest('both genders named plus a group and a bound', [
  ['male and female teenagers above 17', { age_group: 'teenager', min_age: 17 }],
])

rowsTest('whole words only', [
  ['german', { country_id: 'DE' }],
  ['germans', { country_id: 'DE' }],
  ['golden', null],
  ['golden retrievers', null],
  ['mankind womanhood', null],
  ['boyish girlish', null],
  ['oldest youngest', null],
  ['overall underwhelming', null],
  ['nigeriaa', null],
])

rowsTest('queries yielding null', [
  ['hello world', null],
  ['', null],
  ['   ', null],
  ['!!!', null],
  ['people who are living', null],
  ["'; drop table profiles; --", null],
  ['<script>', null],
  ['<script>alert(1)</script>', null],
  ['1 OR 1=1', null],
])

rowsTest('punctuation, case and diacritics do not matter', [
  ['YOUNG, MALES! from NIGERIA?', { country_id: 'NG', gender: 'male', max_age: 24, min_age: 16 }],
  ['Côte d’Ivoire', { country_id: 'CI' }],
  ['São Tomé and Príncipe', { country_id: 'ST' }],
  ['<b>women</b> in "Kenya"', { country_id: 'KE', gender: 'female' }],
])

t.test('never produces probability thresholds', async (t) => {
  const f = parseProfileQuery('males from nigeria with high probability above 0.9')
  t.equal(f?.min_gender_probability, undefined)
  t.equal(f?.min_country_probability, undefined)
})

t.test('long input is parsed in linear time (no catastrophic backtracking)', async (t) => {
  const long = 'young males from nigeria over 30 between 20 and 40 '.repeat(200).slice(0, 10_000)
  const patterns = ['young males from nigeria over 30 between 20 and 40 ', '-', '1-', 'a', "'", 'x ', 'early 30s ', 'thirties ']
  /** The fastest of several runs: the machine's noise only ever adds time. */
  const fastest = (input: string): number => {
    let best = Infinity
    for (let run = 0; run < 9; run++) {
      const start = performance.now()
      parseProfileQuery(input)
      best = Math.min(best, performance.now() - start)
    }
    return best
  }
  for (const pattern of patterns) {
    const small = pattern.repeat(Math.ceil(2_500 / pattern.length)).slice(0, 2_500)
    const large = pattern.repeat(Math.ceil(40_000 / pattern.length)).slice(0, 40_000)
    parseProfileQuery(large) // JIT warm-up, untimed
    const ratio = fastest(large) / Math.max(fastest(small), 0.05)
    // 16× the input: linear work takes ~16× as long, quadratic ~256×; the margin absorbs a noisy machine
    t.ok(ratio < 80, `"${pattern.trim()}"… 16× longer input took ${ratio.toFixed(1)}× as long`)
  }
  t.same(parseProfileQuery(long), { country_id: 'NG', gender: 'male', max_age: 24, min_age: 30 })
})

/** The list endpoint's semantics, in memory: every given key must match, ages inclusive. */
function matches(p: SeedProfile, f: ProfileFilter): boolean {
  return (
    (f.gender === undefined || p.gender === f.gender) &&
    (f.age_group === undefined || p.age_group === f.age_group) &&
    (f.country_id === undefined || p.country_id === f.country_id) &&
    (f.min_age === undefined || p.age >= f.min_age) &&
    (f.max_age === undefined || p.age <= f.max_age)
  )
}

t.test('contract reference counts on the seed', async (t) => {
  t.equal(seed.length, 2026)
  const expected: Record<string, number> = {
    'young males': 129,
    'young males from nigeria': 9,
    'females above 30': 673,
    'people from angola': 39,
    'adult males from kenya': 29,
    'male and female teenagers above 17': 99,
  }
  for (const [query, count] of Object.entries(expected)) {
    const filter = parseProfileQuery(query)
    if (filter === null) {
      t.fail(`${query} parsed to null`)
      continue
    }
    t.equal(seed.filter((p) => matches(p, filter)).length, count, query)
  }
})

t.test('country data', async (t) => {
  const ids = COUNTRIES.map((c) => c.id)
  t.equal(ids.length, 249, 'every officially assigned alpha-2 code')
  t.equal(new Set(ids).size, ids.length, 'no duplicate code')
  t.ok(ids.every((id) => /^[A-Z]{2}$/.test(id)), 'upper-case alpha-2')
  t.ok(COUNTRIES.every((c) => c.name.trim() !== ''), 'every code has a name')
  for (const [id, name] of seedCountries) t.equal(countryNameOf(id), name, `${id} seed spelling`)
  t.equal(countryNameOf('CD'), 'DR Congo')
  t.equal(countryNameOf('CI'), "Côte d'Ivoire")
  t.equal(countryNameOf('XX'), undefined)
  t.ok(isKnownCountryId('NG'))
  t.notOk(isKnownCountryId('ng'), 'upper-case exact')
  t.notOk(isKnownCountryId('XX'))
  t.notOk(isKnownCountryId(''))
  t.notOk(isKnownCountryId('NGA'))
})

t.test('country phrases', async (t) => {
  const byPhrase = new Map<string, string>()
  for (const { phrase, countryId } of COUNTRY_PHRASES) {
    const previous = byPhrase.get(phrase)
    if (previous !== undefined && previous !== countryId) {
      t.fail(`"${phrase}" names ${previous} and ${countryId}`)
    }
    byPhrase.set(phrase, countryId)
    t.equal(foldPhrase(phrase), phrase, `"${phrase}" is folded`)
    t.ok(isKnownCountryId(countryId), `"${phrase}" → known id ${countryId}`)
  }
  // every phrase, typed on its own, parses to its country (and to nothing else)
  const wrong = COUNTRY_PHRASES.filter(({ phrase, countryId }) => {
    return JSON.stringify(parseProfileQuery(phrase)) !== JSON.stringify({ country_id: countryId })
  }).map(({ phrase }) => phrase)
  t.same(wrong, [], 'every phrase parses to exactly its country')
  for (const id of seedCountries.keys()) {
    t.ok(
      COUNTRY_PHRASES.some((p) => p.countryId === id && p.kind === 'demonym'),
      `seed country ${id} has a demonym`,
    )
  }
})
