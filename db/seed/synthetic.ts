import { ageGroupOf } from '../../contract/profile-filter.ts'
import type { SeedProfile } from './seed.ts'

/**
 * Realistic synthetic profiles for benchmarks: genders, ages, countries and probabilities are drawn
 * from the seed's own distributions; names combine the seed's first names, a middle initial and its
 * last names, walked in a scrambled order so that every generated name is unique.
 */
export interface SyntheticOptions {
  count: number
  /** spread created_at over this many days before `now` (oldest first) */
  days?: number
  now?: Date
  /** deterministic runs: the same seed gives the same profiles */
  seed?: number
  /** salt mixed into the name walk, so two generated sets can be made disjoint */
  offset?: number
}

function mulberry32(seed: number) {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const INITIALS = 'ABCDEFGHIJKLMNOPRSTW'.split('')

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b]
  return a
}

export function* syntheticProfiles(seedProfiles: readonly SeedProfile[], options: SyntheticOptions): Generator<SeedProfile & { created_at: Date }> {
  const random = mulberry32(options.seed ?? 42)
  const pick = <T>(values: readonly T[]) => values[Math.floor(random() * values.length)]
  const firsts = [...new Set(seedProfiles.map((p) => p.name.split(/\s+/)[0]))]
  const lasts = [...new Set(seedProfiles.map((p) => p.name.split(/\s+/).slice(-1)[0]))]
  const space = firsts.length * INITIALS.length * lasts.length
  if (options.count > space) throw new Error(`at most ${space} unique synthetic names can be generated`)
  // A stride coprime with the name space visits every index exactly once, in a scrambled order.
  let stride = Math.floor(space * 0.618033) | 1
  while (gcd(stride, space) !== 1) stride += 2
  const now = (options.now ?? new Date()).getTime()
  const spanMs = (options.days ?? 365) * 86_400_000
  const start = now - spanMs
  for (let i = 0; i < options.count; i++) {
    const index = (((i + (options.offset ?? 0)) % space) * stride) % space
    const first = firsts[index % firsts.length]
    const initial = INITIALS[Math.floor(index / firsts.length) % INITIALS.length]
    const last = lasts[Math.floor(index / (firsts.length * INITIALS.length))]
    // Attributes come from one seed profile, so their joint distribution (country × age × gender) holds.
    const model = pick(seedProfiles)
    const jitter = (p: number) => Math.min(1, Math.max(0, Math.round((p + (random() - 0.5) * 0.1) * 100) / 100))
    const age = Math.min(100, Math.max(0, model.age + Math.round((random() - 0.5) * 4)))
    yield {
      name: `${first} ${initial}. ${last}`,
      gender: model.gender,
      gender_probability: jitter(model.gender_probability),
      age,
      age_group: ageGroupOf(age),
      country_id: model.country_id,
      country_name: model.country_name,
      country_probability: jitter(model.country_probability),
      created_at: new Date(start + Math.floor((spanMs * i) / options.count)),
    }
  }
}
