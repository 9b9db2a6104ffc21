import type { Role } from '../contract/roles.ts'
import type { Db } from '../db/index.ts'
import type { EnrichmentClient } from './services/enrichment.ts'
import type { ProfileExports } from './services/export-csv.ts'
import type { Identity } from './services/identity.ts'
import type { ProfilesService } from './services/profiles.ts'
import type { QueryCache } from './services/query-cache.ts'
import type { SavedSearchService } from './services/saved-searches.ts'
import type { AuthenticatedUser } from './services/sessions.ts'
import type { DeviceLoginService } from './services/device-logins.ts'
import type { PersonalAccessTokenService } from './services/personal-access-tokens.ts'

export type { Role }

/** A route's access declaration: `public`, or the roles that may call it. */
export type Access = 'public' | readonly Role[]

/** One registered route and what it declared (undefined = nothing, which is denied at request time). */
export interface RouteAccessEntry {
  method: string
  url: string
  access: Access | undefined
  /** false when the route refuses personal access tokens */
  personalAccessTokens?: false
}

declare module 'fastify' {
  interface FastifyInstance {
    db: Db
    queryCache: QueryCache
    enrichment: EnrichmentClient
    profiles: ProfilesService
    savedSearches: SavedSearchService
    /** GET /api/profiles/export: its own pool and caps */
    exports: ProfileExports
    identity: Identity
    deviceLogins: DeviceLoginService
    personalAccessTokens: PersonalAccessTokenService
    /** every route registered after the auth plugin, with its declared access (the declaration test reads it) */
    routeAccess: RouteAccessEntry[]
  }
  interface FastifyRequest {
    /** set by the auth plugin on every non-public route; null on public ones */
    user: AuthenticatedUser | null
    /**
     * The end user's address: the socket (or trusted-proxy) address, or — for the portal's
     * server-to-server calls carrying its verified client secret — the address the portal forwards.
     */
    clientIp: string
    /** true when the portal's client secret header verified on this request */
    viaPortal: boolean
  }
  interface FastifyContextConfig {
    /**
     * Who may call the route. `public` routes need no token; otherwise a valid access token whose
     * user's current role is listed. Every route must declare this: a route without it is refused
     * (fail closed), and a test enumerates the routes.
     */
    access?: Access
    /**
     * false: a personal access token is refused here (403) even when its role would do — identity
     * management (signing out everywhere, creating tokens, approving devices) needs a signed-in person.
     */
    personalAccessTokens?: false
    /** the 404 message for a malformed path parameter (e.g. "Profile not found"); default "Not found" */
    notFound?: string
  }
}
