/**
 * The profiles' rules, free of HTTP: one page with its exact total through the write-invalidated
 * query cache, the dashboard stats, create-or-find (with the race against a concurrent create),
 * and delete (exports: export-csv.ts). Routes call these and only shape the reply.
 */
import { countryNameOf } from '../../contract/countries.ts'
import { newId } from '../../contract/ids.ts'
import type { ProfileJson } from '../../contract/profile.ts'
import { AGE_GROUP_BOUNDS, AGE_GROUPS, canonicalFilterKey, type ProfileFilter } from '../../contract/profile-filter.ts'
import { pageLinks, type ListEnvelope } from '../../contract/profile-query.ts'
import type { StatsBody } from '../../contract/profile-stats.ts'
import type { Db } from '../../db/index.ts'
import {
  countProfiles,
  deleteProfile,
  findProfileById,
  findProfileByName,
  insertProfile,
  listProfiles,
  profileStats,
} from '../../db/repositories/profiles.ts'
import type { EnrichmentClient } from './enrichment.ts'
import type { Paging } from './profile-paging.ts'
import { toProfileJson, whereOf } from './profile-rows.ts'
import type { QueryCache } from './query-cache.ts'


export interface PageResult {
  total: number
  data: ProfileJson[]
}

/** What create-or-find did: `created` is false when the name existed (nothing was written). */
export interface CreateResult {
  created: boolean
  profile: ProfileJson
}

export class ProfilesService {
  constructor(
    private readonly db: Db,
    private readonly cache: QueryCache,
    private readonly enrichment: EnrichmentClient,
  ) {}

  /** One page and the exact total for a filter. */
  async page(filter: ProfileFilter, paging: Paging): Promise<PageResult> {
    const { page, limit, sort } = paging
    const key = `page:${canonicalFilterKey(filter)}:${sort.column}:${sort.direction}:${page}:${limit}`
    return this.cache.getOrCompute(key, () => this.computePage(filter, paging))
  }

  private async computePage(filter: ProfileFilter, paging: Paging): Promise<PageResult> {
    const { page, limit, sort } = paging
    const where = whereOf(filter)
    const offset = (page - 1) * limit
    const db = this.db.db
    let total: number
    let rows: Awaited<ReturnType<typeof listProfiles>>
    if (offset === 0) {
      ;[total, rows] = await Promise.all([countProfiles(db, where), listProfiles(db, where, sort, limit, 0)])
    } else {
      // Past the first page, count first: a page beyond the end costs nothing instead of a long scan.
      total = await countProfiles(db, where)
      rows = offset < total ? await listProfiles(db, where, sort, limit, offset) : []
    }
    return { total, data: rows.map(toProfileJson) }
  }

  /** The list envelope of contract §3: a page, its total and links that keep `params`. */
  async list(path: string, params: Record<string, string | number | undefined>, filter: ProfileFilter, paging: Paging): Promise<ListEnvelope> {
    const result = await this.page(filter, paging)
    const totalPages = Math.ceil(result.total / paging.limit)
    return {
      status: 'success',
      page: paging.page,
      limit: paging.limit,
      total: result.total,
      total_pages: totalPages,
      links: pageLinks(path, { ...params, ...paging.sortParams }, paging.page, paging.limit, totalPages),
      data: result.data,
    }
  }

  /** Counts by gender, age group, country and 10-year age band for a filter. */
  async stats(filter: ProfileFilter): Promise<StatsBody> {
    return this.cache.getOrCompute(`stats:${canonicalFilterKey(filter)}`, () => this.computeStats(filter))
  }

  private async computeStats(filter: ProfileFilter): Promise<StatsBody> {
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
    return body
  }

  /** A profile by id (lower-case UUID); undefined when there is none. */
  async find(id: string): Promise<ProfileJson | undefined> {
    const row = await findProfileById(this.db.db, id.toLowerCase())
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
