import t from 'tap'
import { interpretProfileQuery, parseProfileQuery, SEARCH_EXAMPLES } from '../../contract/nl-parser.ts'
import { canonicalFilterKey } from '../../contract/profile-filter.ts'
import { EQUIVALENT_PHRASINGS, PHRASINGS } from '../fixtures/nl-phrasings.ts'

/** Each phrasing of the grammar table reads as its canonical filter; equivalent ones share a cache key. */

t.test('at least 200 phrasings, each read as its canonical filter', async (t) => {
  t.ok(PHRASINGS.length >= 200, `${PHRASINGS.length} phrasings`)
  const queries = new Set(PHRASINGS.map(([q]) => q))
  t.equal(queries.size, PHRASINGS.length, 'no phrasing listed twice')
  for (const [query, expected] of PHRASINGS) {
    t.equal(JSON.stringify(parseProfileQuery(query)), JSON.stringify(expected), JSON.stringify(query))
  }
})

t.test('equivalent phrasings parse to the same canonical key', async (t) => {
  for (const group of EQUIVALENT_PHRASINGS) {
    const keys = group.map((q) => {
      const filter = parseProfileQuery(q)
      return filter === null ? 'null' : canonicalFilterKey(filter)
    })
    t.not(keys[0], 'null', `${group[0]} is interpreted`)
    t.same(new Set(keys).size, 1, `${group.join(' = ')} → ${keys[0]}`)
  }
})

t.test('the ignored words are reported in order', async (t) => {
  t.same(interpretProfileQuery('people who are young males living in nigeria'), {
    filter: { country_id: 'NG', gender: 'male', max_age: 24, min_age: 16 },
    ignored: ['people', 'who', 'are', 'living', 'in'],
  })
  t.same(interpretProfileQuery('show me 5 happy people'), { filter: null, ignored: ['show', 'me', '5', 'happy', 'people'] })
  t.same(interpretProfileQuery('women over 30').ignored, [])
})

t.test('every search example is interpreted and matches somebody in principle', async (t) => {
  t.ok(SEARCH_EXAMPLES.length >= 3)
  for (const example of SEARCH_EXAMPLES) {
    const filter = parseProfileQuery(example)
    t.ok(filter, `${example} is interpreted`)
    if (filter?.min_age !== undefined && filter.max_age !== undefined) t.ok(filter.min_age <= filter.max_age, `${example} is not a contradiction`)
  }
})
