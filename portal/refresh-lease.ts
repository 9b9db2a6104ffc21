/**
 * The refresh lease ("row lock" design): when a session's access token is about to expire, one
 * atomic UPDATE hands a short lease to exactly one request across every portal process. The
 * holder calls /auth/refresh with no transaction open, stores the new pair and clears the lease in
 * one UPDATE; the others poll the row briefly and use the pair the holder stored. So two tabs, or a
 * page and a CSV download, never present the same refresh token twice (the API treats a second use
 * as reuse and ends the session).
 */
import type { Kysely } from 'kysely'
import {
  deletePortalSession,
  findPortalSession,
  releaseRefreshLease,
  storeRefreshedTokens,
  takeRefreshLease,
  type PortalSessionRow,
} from '../db/repositories/portal-sessions.ts'
import type { Database, PortalUserSnapshot } from '../db/types.ts'
import { ApiResponseError, ApiUnavailableError, type ApiClient, type CallContext, type TokenPair } from './api-client.ts'
import { SessionExpiredError } from './errors.ts'
import type { SecretBox } from './secrets.ts'
import { snapshotOf } from './user-snapshot.ts'

/** How long a refresh lease lasts: long enough for one /auth/refresh round trip, short enough to recover from a crash. */
export const REFRESH_LEASE_SECONDS = 10
/** How long a request waits for another holder's refresh before giving up. */
const REFRESH_WAIT_MS = 5000
const REFRESH_POLL_MS = 40

export interface RefreshLeaseOptions {
  db: Kysely<Database>
  box: SecretBox
  api: ApiClient
  /** refresh when the access token expires within this many ms */
  refreshMarginMs: number
  now: () => Date
  sleep?: (ms: number) => Promise<void>
  /** the session has ended (deleted here): forget any copy of it */
  ended: (id: string) => void
}

export class RefreshLease {
  private readonly now: () => Date
  private readonly sleep: (ms: number) => Promise<void>

  constructor(private readonly options: RefreshLeaseOptions) {
    this.now = options.now
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)))
  }

  private get db() {
    return this.options.db
  }

  private seal(token: string): Buffer {
    return this.options.box.seal('api-token', token)
  }

  private open(sealed: Buffer): string | undefined {
    return this.options.box.open('api-token', sealed)
  }

  /** A fresh access token for the session: this request refreshes under the lease, or waits for the holder's pair. */
  refresh(id: string, ctx: CallContext, rejected: string | undefined): Promise<string> {
    return this.refreshShared(id, ctx, rejected)
  }

  private needsRefresh(row: PortalSessionRow): boolean {
    return row.access_expires_at.getTime() - this.now().getTime() <= this.options.refreshMarginMs
  }

  private isUsable(row: PortalSessionRow, rejected: string | undefined): string | undefined {
    if (this.needsRefresh(row)) return undefined
    const token = this.open(row.access_token_enc)
    return token !== undefined && token !== rejected ? token : undefined
  }

  private async refreshShared(id: string, ctx: CallContext, rejected: string | undefined): Promise<string> {
    const giveUpAt = Date.now() + REFRESH_WAIT_MS
    for (;;) {
      const leased = await takeRefreshLease(this.db, id, REFRESH_LEASE_SECONDS)
      if (leased) {
        // Another process may have refreshed between our read and our lease.
        const already = this.isUsable(leased, rejected)
        if (already !== undefined) {
          await releaseRefreshLease(this.db, id)
          return already
        }
        return this.refreshUnderLease(leased, ctx)
      }
      // Someone else holds the lease: wait for the pair it stores.
      await this.sleep(REFRESH_POLL_MS)
      const row = await findPortalSession(this.db, id, this.now())
      if (!row) throw new SessionExpiredError()
      const theirs = this.isUsable(row, rejected)
      if (theirs !== undefined) return theirs
      if (Date.now() >= giveUpAt) {
        const stillValid = row.access_expires_at.getTime() > this.now().getTime() ? this.open(row.access_token_enc) : undefined
        if (stillValid !== undefined && stillValid !== rejected) return stillValid
        throw new ApiUnavailableError('timed out waiting for a token refresh')
      }
    }
  }

  private async refreshUnderLease(row: PortalSessionRow, ctx: CallContext): Promise<string> {
    const refreshToken = this.open(row.refresh_token_enc)
    if (refreshToken === undefined) {
      // Sealed under another key (the development key changed at restart): nothing to refresh with.
      this.options.ended(row.id)
      await deletePortalSession(this.db, row.id)
      throw new SessionExpiredError()
    }
    let pair: TokenPair
    try {
      pair = await this.options.api.refresh(refreshToken, { ...ctx, token: undefined })
    } catch (error) {
      if (error instanceof ApiResponseError && error.status >= 400 && error.status < 500 && error.status !== 429) {
        this.options.ended(row.id)
        await deletePortalSession(this.db, row.id)
        throw new SessionExpiredError(error.status === 403 ? 'suspended' : 'expired')
      }
      await releaseRefreshLease(this.db, row.id)
      // The API is unreachable: an access token that has not actually expired is still good.
      const current = row.access_expires_at.getTime() > this.now().getTime() ? this.open(row.access_token_enc) : undefined
      if (current !== undefined) return current
      throw error
    }
    // The role may have changed since login; refreshing is the moment to pick that up.
    let snapshot: PortalUserSnapshot | undefined
    try {
      snapshot = snapshotOf(await this.options.api.me({ ...ctx, token: pair.access_token }))
    } catch {
      snapshot = undefined
    }
    const stored = await storeRefreshedTokens(this.db, row.id, {
      access_token_enc: this.seal(pair.access_token),
      refresh_token_enc: this.seal(pair.refresh_token),
      access_expires_at: new Date(this.now().getTime() + pair.expires_in * 1000),
      user_snapshot: snapshot,
    })
    if (!stored) {
      // Signed out while we refreshed: do not leave a live API session behind.
      await this.options.api.logout(pair.refresh_token, { ...ctx, token: pair.access_token }).catch(() => {})
      throw new SessionExpiredError()
    }
    return pair.access_token
  }
}
