import type { Db } from '../../db/index.ts'
import type { AuthConfig } from '../config.ts'
import { AccessTokens } from './access-tokens.ts'
import { AuditLog } from './audit.ts'
import { Sealer } from './auth-crypto.ts'
import { ClientRegistry } from './clients.ts'
import type { Clock, RandomBytes } from './clock.ts'
import { GitHubClient } from './github-client.ts'
import { LoginService } from './logins.ts'
import { SessionCache } from './session-cache.ts'
import { SessionService } from './sessions.ts'

/** Everything the identity model needs, built once per app from configuration, a clock and a random source. */
export interface Identity {
  config: AuthConfig
  clock: Clock
  tokens: AccessTokens
  clients: ClientRegistry
  github: GitHubClient
  cache: SessionCache
  audit: AuditLog
  sessions: SessionService
  logins: LoginService
  db: Db
}

export function createIdentity(deps: { db: Db; config: AuthConfig; clock: Clock; random: RandomBytes }): Identity {
  const { db, config, clock, random } = deps
  const tokens = new AccessTokens(config, clock, random)
  const clients = new ClientRegistry(config)
  const github = new GitHubClient(config.github)
  const cache = new SessionCache(config.cacheTtlMs, clock)
  const audit = new AuditLog(db, clock)
  const sealer = new Sealer([config.jwtSecret, config.jwtPreviousSecret], random)
  const sessions = new SessionService({ db, config, clock, random, tokens, cache, audit, sealer })
  const logins = new LoginService({ db, config, clock, random, github, clients, sessions, audit })
  return { config, clock, tokens, clients, github, cache, audit, sessions, logins, db }
}
