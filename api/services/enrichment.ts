import { ApiError } from '../errors.ts'
import { ageGroupOf, type AgeGroup, type Gender } from '../../contract/profile-filter.ts'
import { countryNameOf } from '../../contract/countries.ts'

export interface EnrichmentConfig {
  genderizeUrl: string
  agifyUrl: string
  nationalizeUrl: string
  timeoutMs: number
  /** how many successful answers to remember by name (0 disables) */
  cacheSize: number
}

export interface Enrichment {
  gender: Gender
  gender_probability: number
  age: number
  age_group: AgeGroup
  country_id: string
  country_name: string
  country_probability: number
}

type Service = 'Genderize' | 'Agify' | 'Nationalize'

const upstreamFailed = (service: Service) => new ApiError(502, `${service} returned an invalid response`)

const isProbability = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= 1

async function fetchJson(service: Service, base: string, name: string, signal: AbortSignal): Promise<unknown> {
  const url = new URL(base)
  url.searchParams.set('name', name)
  let response: Response
  try {
    response = await fetch(url, { signal, headers: { accept: 'application/json' } })
  } catch {
    throw upstreamFailed(service)
  }
  if (!response.ok) {
    await response.body?.cancel().catch(() => {})
    throw upstreamFailed(service)
  }
  try {
    // A bounded body: these answers are tiny, an endless or huge one is a broken upstream.
    const text = await response.text()
    if (text.length > 100_000) throw new Error('too large')
    return JSON.parse(text) as unknown
  } catch {
    throw upstreamFailed(service)
  }
}

function readGender(body: unknown): { gender: Gender; probability: number } {
  const b = body as { gender?: unknown; probability?: unknown; count?: unknown } | null
  if (!b || (b.gender !== 'male' && b.gender !== 'female') || !isProbability(b.probability)) throw upstreamFailed('Genderize')
  if (typeof b.count === 'number' && b.count === 0) throw upstreamFailed('Genderize')
  return { gender: b.gender, probability: b.probability }
}

function readAge(body: unknown): number {
  const b = body as { age?: unknown } | null
  if (!b || typeof b.age !== 'number' || !Number.isInteger(b.age) || b.age < 0 || b.age > 150) throw upstreamFailed('Agify')
  return b.age
}

function readCountry(body: unknown): { country_id: string; probability: number } {
  const b = body as { country?: unknown } | null
  if (!b || !Array.isArray(b.country) || b.country.length === 0) throw upstreamFailed('Nationalize')
  let best: { country_id: string; probability: number } | undefined
  for (const entry of b.country as unknown[]) {
    const e = entry as { country_id?: unknown; probability?: unknown } | null
    if (!e || typeof e.country_id !== 'string' || !/^[A-Za-z]{2}$/.test(e.country_id) || !isProbability(e.probability)) continue
    if (!best || e.probability > best.probability) best = { country_id: e.country_id.toUpperCase(), probability: e.probability }
  }
  if (!best) throw upstreamFailed('Nationalize')
  return best
}

/**
 * Calls Genderize, Agify and Nationalize concurrently under one timeout. Any invalid answer, HTTP
 * error, timeout or network failure becomes a 502 naming the first service (in that order) that
 * failed; nothing is returned partially. Successful results are remembered by name (LRU).
 */
export class EnrichmentClient {
  private readonly cache = new Map<string, Enrichment>()

  constructor(private readonly config: EnrichmentConfig) {}

  async enrich(name: string): Promise<Enrichment> {
    const key = name.trim().toLowerCase()
    const cached = this.cache.get(key)
    if (cached) {
      this.cache.delete(key)
      this.cache.set(key, cached)
      return cached
    }
    const controller = new AbortController()
    const timer = setTimeout(() => controller.abort(), this.config.timeoutMs)
    try {
      const [g, a, n] = await Promise.allSettled([
        fetchJson('Genderize', this.config.genderizeUrl, name, controller.signal).then(readGender),
        fetchJson('Agify', this.config.agifyUrl, name, controller.signal).then(readAge),
        fetchJson('Nationalize', this.config.nationalizeUrl, name, controller.signal).then(readCountry),
      ])
      if (g.status === 'rejected') throw g.reason
      if (a.status === 'rejected') throw a.reason
      if (n.status === 'rejected') throw n.reason
      const countryName = countryNameOf(n.value.country_id)
      if (!countryName) throw upstreamFailed('Nationalize')
      const result: Enrichment = {
        gender: g.value.gender,
        gender_probability: g.value.probability,
        age: a.value,
        age_group: ageGroupOf(a.value),
        country_id: n.value.country_id,
        country_name: countryName,
        country_probability: n.value.probability,
      }
      this.remember(key, result)
      return result
    } finally {
      clearTimeout(timer)
      controller.abort()
    }
  }

  private remember(key: string, value: Enrichment) {
    if (this.config.cacheSize <= 0) return
    if (this.cache.size >= this.config.cacheSize) {
      const oldest = this.cache.keys().next().value
      if (oldest !== undefined) this.cache.delete(oldest)
    }
    this.cache.set(key, value)
  }
}
