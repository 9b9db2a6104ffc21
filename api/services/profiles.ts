/**
 * The profiles' rules, free of HTTP: one page with its exact total through the write-invalidated
 * query cache, the dashboard stats, create-or-find (with the race against a concurrent create),
 * and delete (exports: export-csv.ts). Routes call these and only shape the reply.
 */
import { countryNameOf } from '../../contract/countries.ts'
import { newId } from '../../contract/ids.ts'
import type { ProfileJson } from '../../contract/profile.ts'
import { AGE_GROUP_BOUNDS, AGE_GROUPS, canonicalFilterKey, GENDERS, type ProfileFilter } from '../../contract/profile-filter.ts'
import { MAX_COUNTRY_FACET_VALUES, pageLinks, type Facet, type FacetCounts, type ListEnvelope } from '../../contract/profile-query.ts'
import type { StatsBody } from '../../contract/profile-stats.ts'
import type { Db } from '../../db/index.ts'
import {
  countProfilesAt,
  countProfilesByBands,
  deleteProfile,
  findProfileByIdPrepared,
  findProfileByName,
  insertProfile,
  listProfiles,
  listProfilesWithGeneration,
  listProfilesAfter,
  profileStats,
  profilesGeneration,
  type ProfileSort,
} from '../../db/repositories/profiles.ts'
import type { EnrichmentClient } from './enrichment.ts'
import { GenerationCache } from './generation-cache.ts'
import { ApiError } from '../errors.ts'
import type { CursorCodec } from './profile-cursor.ts'
import type { Paging } from './profile-paging.ts'
import { toProfileJson, whereOf } from './profile-rows.ts'
import type { QueryCache } from './query-cache.ts'


export interface PageResult {
  total: number
  data: ProfileJson[]
  /** the page number a cursor led to (by page number: the one asked for) */
  page?: number
}

/** What create-or-find did: `created` is false when the name existed (nothing was written). */
export interface CreateResult {
  created: boolean
  profile: ProfileJson
}

/** Envelopes kept per cached page (one per path and spelling of its parameters). */
const MAX_ENVELOPES_PER_PAGE = 8

export class ProfilesService {
  /** Exact totals and stats per canonical filter, valid while the write generation is unchanged. */
  private readonly totals = new GenerationCache<number>()
  private readonly statsByFilter = new GenerationCache<StatsBody>(1000)
  /** Envelopes built from a cached page, by path and parameters; they go when the page does. */
  private readonly envelopes = new WeakMap<PageResult, Map<string, ListEnvelope>>()

  constructor(
    private readonly db: Db,
    private readonly cache: QueryCache,
    private readonly enrichment: EnrichmentClient,
    private readonly cursors: CursorCodec,
  ) {}

  /** One page and the exact total for a filter: by page number, or after a keyset cursor. */
  async page(filter: ProfileFilter, paging: Paging): Promise<PageResult> {
    const { page, limit, sort, cursor } = paging
    if (cursor !== undefined) {
      const key = `after:${canonicalFilterKey(filter)}:${sort.column}:${sort.direction}:${limit}:${cursor}`
      return this.cache.getOrCompute(key, () => this.computePageAfter(filter, paging, cursor))
    }
    const key = `page:${canonicalFilterKey(filter)}:${sort.column}:${sort.direction}:${page}:${limit}`
    return this.cache.getOrCompute(key, () => this.computePage(filter, paging))
  }

  /** The page a cursor leads to; a forged, damaged or foreign cursor is a 422. */
  private async computePageAfter(filter: ProfileFilter, paging: Paging, cursor: string): Promise<PageResult> {
    const filterKey = canonicalFilterKey(filter)
    const position = this.cursors.decode(cursor, filterKey, paging.sort, paging.limit)
    if (!position) throw new ApiError(422, 'Invalid cursor: it belongs to another query or page size, or was altered')
    const where = whereOf(filter)
    const [total, rows] = await Promise.all([
      this.total(filterKey, where),
      listProfilesAfter(this.db.db, where, paging.sort, position, paging.limit),
    ])
    return { total, data: rows.map(toProfileJson), page: position.page }
  }

  private async computePage(filter: ProfileFilter, paging: Paging): Promise<PageResult> {
    const { page, limit, sort } = paging
    const where = whereOf(filter)
    const offset = (page - 1) * limit
    const db = this.db.db
    const filterKey = canonicalFilterKey(filter)
    // A filter counted before: read the page as its known total says, with the generation in the
    // same statement; while the generation is unchanged that total is exact and the request costs
    // one round trip. After a write, count again and read the page as below.
    const known = this.totals.entry(filterKey)
    if (known && offset < known.value) {
      const read = await this.readPage(where, sort, limit, offset, known.value)
      if (read.generation === known.generation) return { total: known.value, data: read.rows.map(toProfileJson) }
      // A write since: the read generation drops the stale entry, so the total below counts at once.
      if (read.generation !== undefined) this.totals.get(filterKey, read.generation)
    }
    let total: number
    let rows: Awaited<ReturnType<typeof listProfiles>>
    if (offset === 0) {
      ;[total, rows] = await Promise.all([this.total(filterKey, where), listProfiles(db, where, sort, limit, 0)])
    } else {
      // Past the first page, count first: a page beyond the end costs nothing instead of a long scan.
      total = await this.total(filterKey, where)
      if (offset >= total) rows = []
      else if (offset > total / 2) {
        // A page in the back half is read from the other end: every order is total (the id
        // tie-break, unique lower(name)), so the same rows, reversed, with a short offset instead of
        // walking past most of the filter (page 20,000 of 200k rows: ~25 ms of Postgres CPU → < 1 ms).
        const take = Math.min(limit, total - offset)
        const reversed = { column: sort.column, direction: sort.direction === 'asc' ? ('desc' as const) : ('asc' as const) }
        rows = (await listProfiles(db, where, reversed, take, total - offset - take)).reverse()
      } else rows = await listProfiles(db, where, sort, limit, offset)
    }
    return { total, data: rows.map(toProfileJson) }
  }

  /** The page at `offset` of a filter whose total is `total`, as computePage reads it, with the generation. */
  private async readPage(where: ReturnType<typeof whereOf>, sort: ProfileSort, limit: number, offset: number, total: number) {
    if (offset > total / 2) {
      const take = Math.min(limit, total - offset)
      const reversed = { column: sort.column, direction: sort.direction === 'asc' ? ('desc' as const) : ('asc' as const) }
      const read = await listProfilesWithGeneration(this.db.db, this.db.pool, where, reversed, take, total - offset - take)
      return { rows: read.rows.reverse(), generation: read.generation }
    }
    return listProfilesWithGeneration(this.db.db, this.db.pool, where, sort, limit, offset)
  }

  /**
   * The exact total of a filter: one primary-key read of the generation when it was counted before,
   * else (or when the generation moved) the maintained bands (one probability threshold) or countProfilesAt, cached with their generation.
   */
  private async total(filterKey: string, where: ReturnType<typeof whereOf>): Promise<number> {
    // A filter never counted here goes straight to its count, which reads the generation itself:
    // one round trip, not two.
    if (this.totals.entry(filterKey)) {
      const known = this.totals.get(filterKey, await profilesGeneration(this.db.pool))
      if (known !== undefined) return known
    }
    const { total, generation } = (await countProfilesByBands(this.db.pool, where)) ?? (await countProfilesAt(this.db.db, where))
    this.totals.set(filterKey, generation, total)
    return total
  }

  /** The list envelope of contract §3: a page, its total and links that keep `params`; facet counts when asked. */
  async list(
    path: string,
    params: Record<string, string | number | undefined>,
    filter: ProfileFilter,
    paging: Paging,
    facets: readonly Facet[] = [],
  ): Promise<ListEnvelope> {
    const [result, counts] = await Promise.all([this.page(filter, paging), facets.length > 0 ? this.facets(filter, facets) : undefined])
    // A page served again from the query cache (the same result object) gets the same envelope:
    // its links and signed cursor are built once, and the route serialises it once (sendSerialized).
    const memoKey = counts ? undefined : `${path}\n${paging.page}\n${paging.limit}\n${JSON.stringify(params)}`
    const memo = memoKey === undefined ? undefined : this.envelopes.get(result)
    const known = memoKey === undefined ? undefined : memo?.get(memoKey)
    if (known) return known
    const totalPages = Math.ceil(result.total / paging.limit)
    const page = result.page ?? paging.page
    const last = result.data[result.data.length - 1]
    const nextCursor = last && page < totalPages ? this.cursors.encode(canonicalFilterKey(filter), paging.sort, paging.limit, page + 1, last) : undefined
    const envelope: ListEnvelope = {
      status: 'success',
      page,
      limit: paging.limit,
      total: result.total,
      total_pages: totalPages,
      links: pageLinks(path, { ...params, ...paging.sortParams }, page, paging.limit, totalPages, nextCursor),
      data: result.data,
    }
    if (counts) envelope.facets = counts
    else if (memoKey !== undefined) {
      if (memo) {
        if (memo.size < MAX_ENVELOPES_PER_PAGE) memo.set(memoKey, envelope)
      } else this.envelopes.set(result, new Map([[memoKey, envelope]]))
    }
    return envelope
  }

  /**
   * Exact counts per value of each facet for the filter, from the same grouped counts as the stats
   * (the maintained counts when the filter allows): every gender and age group, zeros included,
   * and the countries with the most profiles, at most 20.
   */
  async facets(filter: ProfileFilter, facets: readonly Facet[]): Promise<FacetCounts> {
    const { data } = await this.stats(filter)
    const out: FacetCounts = {}
    for (const facet of facets) {
      if (facet === 'gender') out.gender = GENDERS.map((value) => ({ value, count: data.by_gender[value] }))
      else if (facet === 'age_group') out.age_group = AGE_GROUPS.map((value) => ({ value, count: data.by_age_group[value] }))
      else
        out.country_id = data.by_country
          .slice(0, MAX_COUNTRY_FACET_VALUES)
          .map((c) => ({ value: c.country_id, label: c.country_name, count: c.count }))
    }
    return out
  }

  /** Counts by gender, age group, country and 10-year age band for a filter. */
  async stats(filter: ProfileFilter): Promise<StatsBody> {
    const key = `stats:${canonicalFilterKey(filter)}`
    return this.cache.getOrCompute(key, () => this.computeStats(filter, key))
  }

  private async computeStats(filter: ProfileFilter, key: string): Promise<StatsBody> {
    // Read before the stats: a write committing in between only makes this entry newer than its generation.
    const generation = await profilesGeneration(this.db.pool)
    const known = this.statsByFilter.get(key, generation)
    if (known) return known
    const stats = await profileStats(this.db.db, whereOf(filter))
    const byGender = { male: 0, female: 0 }
    for (const g of stats.by_gender) if (g.gender === 'male' || g.gender === 'female') byGender[g.gender] = g.count
    const byAgeGroup = { child: 0, teenager: 0, adult: 0, senior: 0 }
    const histogram = new Map<number, number>()
    for (const { age, count } of stats.by_age) {
      const group = AGE_GROUPS.find((g) => age >= AGE_GROUP_BOUNDS[g].min && age <= (AGE_GROUP_BOUNDS[g].max ?? Infinity))
      if (group) byAgeGroup[group] += count
      const band = Math.floor(age / 10) * 10
      histogram.set(band, (histogram.get(band) ?? 0) + count)
    }
    const body: StatsBody = {
      status: 'success',
      data: {
        total: stats.total,
        by_gender: byGender,
        by_age_group: byAgeGroup,
        by_country: stats.by_country.map((c) => ({
          country_id: c.country_id.trim(),
          country_name: countryNameOf(c.country_id.trim()) ?? c.country_id.trim(),
          count: c.count,
        })),
        age_histogram: [...histogram].sort((a, b) => a[0] - b[0]).map(([from, count]) => ({ from, to: from + 9, count })),
      },
    }
    this.statsByFilter.set(key, generation, body)
    return body
  }

  /** A profile by id (lower-case UUID); undefined when there is none. */
  async find(id: string): Promise<ProfileJson | undefined> {
    const row = await findProfileByIdPrepared(this.db.pool, id.toLowerCase())
    return row && toProfileJson(row)
  }

  /**
   * The profile of this (trimmed) name: the existing one, or a new one enriched by the three
   * services. A concurrent create of the same name is detected by the insert's ON CONFLICT, and the
   * winner is returned as existing.
   */
  async createOrFind(name: string): Promise<CreateResult> {
    const db = this.db.db
    const existing = await findProfileByName(db, name)
    if (existing) return { created: false, profile: toProfileJson(existing) }
    const enriched = await this.enrichment.enrich(name)
    const inserted = await insertProfile(db, { id: newId(), name, ...enriched })
    if (!inserted) {
      const winner = await findProfileByName(db, name)
      if (winner) return { created: false, profile: toProfileJson(winner) }
      throw new Error('profile insert conflicted but no profile has the name')
    }
    await this.cache.invalidate()
    return { created: true, profile: toProfileJson(inserted) }
  }

  /** Deletes a profile; false when there was none. */
  async delete(id: string): Promise<boolean> {
    const deleted = await deleteProfile(this.db.db, id.toLowerCase())
    if (deleted) await this.cache.invalidate()
    return deleted
  }
}
