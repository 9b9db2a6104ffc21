import { DEVICE_CODE_GRANT_TYPE, USER_CODE_ALPHABET, USER_CODE_LENGTH, formatUserCode, normaliseUserCode, type DeviceGrantError, type DeviceRequestJson } from '../../contract/device.ts'
import { newId } from '../../contract/ids.ts'
import type { Db } from '../../db/index.ts'
import {
  addFailure,
  decideDeviceLogin,
  failuresSince,
  findPendingByUserCode,
  insertDeviceLogin,
  lockByDeviceCode,
  markRedeemed,
  purgeDeviceLogins,
  recordPoll,
  type DeviceLoginRow,
} from '../../db/repositories/device-logins.ts'
import { findSession } from '../../db/repositories/sessions.ts'
import { findUserById, type UserRow } from '../../db/repositories/users.ts'
import type { DeviceLoginConfig } from '../config.ts'
import { ApiError } from '../errors.ts'
import type { AuditLog, RequestContext } from './audit.ts'
import { newSecret, sha256Hex } from './auth-crypto.ts'
import { CLI_CLIENT_ID } from './clients.ts'
import type { Clock, RandomBytes } from './clock.ts'
import type { AuthenticatedUser, SessionService, TokenPair } from './sessions.ts'
import { formatInstant } from './user-admin.ts'

export { DEVICE_CODE_GRANT_TYPE }

/** Clients that may use the device grant, with the name the approving user is shown. */
const DEVICE_CLIENTS: Record<string, string> = { [CLI_CLIENT_ID]: 'Insighta CLI' }
/** RFC 8628 §3.5: each slow_down adds this to the interval. */
export const SLOW_DOWN_STEP_SECONDS = 5
/** Expired requests are kept this long, so a late poll still hears expired_token (not invalid_grant). */
const KEEP_EXPIRED_MS = 3600 * 1000
const MAX_CODE_DRAWS = 5

/** An RFC 8628 §3.5 / RFC 6749 §5.2 error answer: 400 with `error` and a readable message. */
export class DeviceGrantFailure extends Error {
  constructor(
    readonly error: DeviceGrantError,
    message: string,
  ) {
    super(message)
    this.name = 'DeviceGrantFailure'
  }
}

export interface DeviceAuthorization {
  deviceCode: string
  userCode: string
  verificationUri: string
  verificationUriComplete: string
  expiresIn: number
  interval: number
}

export interface DeviceLoginDeps {
  db: Db
  config: DeviceLoginConfig
  clock: Clock
  random: RandomBytes
  sessions: SessionService
  audit: AuditLog
}

const invalidCode = () => new ApiError(404, 'Invalid or expired code')

/**
 * RFC 8628 device authorization: the CLI asks for a device code and a user code; a signed-in user
 * approves or denies the user code through the portal (server to server, with their own access
 * token); the CLI polls POST /auth/token and gets tokens once, for a session created at approval like
 * any login (client insighta-cli, listed and revocable) and labelled with the address and user agent
 * of the poll that redeemed it: the device's, never the approving browser's.
 */
export class DeviceLoginService {
  constructor(private readonly deps: DeviceLoginDeps) {}

  private now(): Date {
    return new Date(this.deps.clock())
  }

  /** 8 letters of the alphabet, uniformly (rejection sampling: 240 = 12 × 20 keeps bytes unbiased). */
  private drawUserCode(): string {
    let code = ''
    while (code.length < USER_CODE_LENGTH) {
      for (const byte of this.deps.random(USER_CODE_LENGTH * 2)) {
        if (byte < 240 && code.length < USER_CODE_LENGTH) code += USER_CODE_ALPHABET[byte % USER_CODE_ALPHABET.length]
      }
    }
    return code
  }

  /** `POST /auth/device/code`. */
  async start(clientId: string | undefined, context: RequestContext): Promise<DeviceAuthorization> {
    if (clientId === undefined || clientId.trim() === '') throw new DeviceGrantFailure('invalid_request', 'Missing or empty client_id')
    if (!(clientId in DEVICE_CLIENTS)) throw new DeviceGrantFailure('invalid_client', 'Unknown client_id: device login is for insighta-cli')
    const { config, db } = this.deps
    const now = this.now()
    await purgeDeviceLogins(db.db, new Date(now.getTime() - KEEP_EXPIRED_MS))
    const deviceCode = newSecret(this.deps.random, 32)
    for (let draw = 0; draw < MAX_CODE_DRAWS; draw++) {
      const userCode = this.drawUserCode()
      const inserted = await insertDeviceLogin(db.db, {
        id: newId(),
        deviceCodeHash: sha256Hex(deviceCode),
        userCodeHash: sha256Hex(userCode),
        clientId,
        ip: context.ip,
        userAgent: context.userAgent?.slice(0, 512) ?? null,
        now,
        expiresAt: new Date(now.getTime() + config.codeTtlSeconds * 1000),
        intervalSeconds: config.intervalSeconds,
      })
      if (!inserted) continue
      const shown = formatUserCode(userCode)
      const complete = new URL(config.verificationUri)
      complete.searchParams.set('user_code', shown)
      return {
        deviceCode,
        userCode: shown,
        verificationUri: config.verificationUri,
        verificationUriComplete: complete.toString(),
        expiresIn: config.codeTtlSeconds,
        interval: config.intervalSeconds,
      }
    }
    throw new Error('could not draw a free user code')
  }

  private failureKeys(user: AuthenticatedUser, context: RequestContext): string[] {
    return [`user:${user.id}`, ...(context.ip ? [`ip:${context.ip}`] : [])]
  }

  /** 429 while the user or the address has used up its wrong codes for the window. */
  private async checkThrottle(keys: string[], now: Date): Promise<void> {
    const { maxFailures, failureWindowMs } = this.deps.config
    const counts = await failuresSince(this.deps.db.db, keys, new Date(now.getTime() - failureWindowMs))
    const blocked = counts.filter((c) => c.failures >= maxFailures)
    if (blocked.length === 0) return
    const until = Math.max(...blocked.map((c) => c.startedAt.getTime() + failureWindowMs))
    throw new ApiError(429, 'Too many wrong codes: try again later', {
      'retry-after': String(Math.max(1, Math.ceil((until - now.getTime()) / 1000))),
    })
  }

  /** The pending request a typed user code names; wrong codes count against the user and the address. */
  private async pending(user: AuthenticatedUser, typed: string | undefined, context: RequestContext): Promise<{ row: DeviceLoginRow; now: Date }> {
    if (typed === undefined || typed.trim() === '') throw new ApiError(400, 'Missing or empty user_code')
    const now = this.now()
    const keys = this.failureKeys(user, context)
    await this.checkThrottle(keys, now)
    const code = normaliseUserCode(typed)
    const row = code === undefined ? undefined : await findPendingByUserCode(this.deps.db.db, sha256Hex(code), now)
    if (!row) {
      const windowStart = new Date(now.getTime() - this.deps.config.failureWindowMs)
      for (const key of keys) await addFailure(this.deps.db.db, key, now, windowStart)
      throw invalidCode()
    }
    return { row, now }
  }

  private describe(row: DeviceLoginRow, userCode: string): DeviceRequestJson {
    return {
      user_code: formatUserCode(userCode),
      client_id: row.client_id,
      client_name: DEVICE_CLIENTS[row.client_id] ?? row.client_id,
      created_at: formatInstant(row.created_at),
      expires_at: formatInstant(row.expires_at),
      ip: row.ip,
      user_agent: row.user_agent,
    }
  }

  /** `GET /auth/device/lookup`: what is asking, for the approval page. */
  async lookup(user: AuthenticatedUser, typed: string | undefined, context: RequestContext): Promise<DeviceRequestJson> {
    const { row } = await this.pending(user, typed, context)
    return this.describe(row, normaliseUserCode(typed ?? '') ?? '')
  }

  /** `POST /auth/device/approve|deny`: decides a pending request once. Approval opens the CLI's session. */
  async decide(
    user: AuthenticatedUser,
    typed: string | undefined,
    decision: 'approved' | 'denied',
    context: RequestContext,
  ): Promise<DeviceRequestJson> {
    const { row, now } = await this.pending(user, typed, context)
    const { db, sessions, audit } = this.deps
    let sessionId: string | null = null
    if (decision === 'approved') {
      // The session is the device's: the address and user agent that asked for the code (until the
      // CLI redeems it, which relabels it with its own), living only as long as the device code until
      // then (then it gets its full lifetime, as a one-time code's does).
      const session = await sessions.create(user.id, row.client_id, { ip: row.ip, userAgent: row.user_agent, requestId: context.requestId }, row.expires_at)
      sessionId = session.id
    }
    const decided = await decideDeviceLogin(db.db, row.id, { status: decision, userId: user.id, sessionId, now })
    if (!decided) {
      if (sessionId) await sessions.revoke(sessionId, 'device_decision_lost')
      throw invalidCode()
    }
    const details = { client_id: row.client_id, device_ip: row.ip, device_login_id: row.id }
    if (decision === 'approved') {
      await audit.record('device.approve', context, { actorId: user.id, subjectId: user.id, sessionId, details })
      await audit.record('login.success', context, { actorId: user.id, subjectId: user.id, sessionId, details: { client_id: row.client_id, flow: 'device' } })
    } else {
      await audit.record('device.deny', context, { actorId: user.id, subjectId: user.id, details })
    }
    return this.describe(decided, normaliseUserCode(typed ?? '') ?? '')
  }

  /**
   * `POST /auth/token` with the device grant. Polls of one code are serialised by a row lock, so
   * the interval check and single use hold under concurrent polls.
   */
  async poll(body: { device_code?: string; client_id?: string }, context: RequestContext): Promise<{ pair: TokenPair; user: UserRow }> {
    const { db, sessions, audit } = this.deps
    if (!body.device_code) throw new DeviceGrantFailure('invalid_request', 'Missing or empty device_code')
    if (!body.client_id) throw new DeviceGrantFailure('invalid_request', 'Missing or empty client_id')
    if (!(body.client_id in DEVICE_CLIENTS)) throw new DeviceGrantFailure('invalid_client', 'Unknown client_id')
    const now = this.now()
    const deviceCodeHash = sha256Hex(body.device_code)
    type PollOutcome =
      | { kind: 'failure'; failure: DeviceGrantFailure }
      | { kind: 'replayed'; row: DeviceLoginRow }
      | { kind: 'approved'; row: DeviceLoginRow }
    const fail = (error: DeviceGrantError, message: string): PollOutcome => ({ kind: 'failure', failure: new DeviceGrantFailure(error, message) })
    const outcome = await db.db.transaction().execute(async (trx): Promise<PollOutcome> => {
      const row = await lockByDeviceCode(trx, deviceCodeHash)
      if (!row || row.client_id !== body.client_id) return fail('invalid_grant', 'Invalid device code')
      if (row.status === 'redeemed') return { kind: 'replayed', row }
      if (row.status === 'denied') return fail('access_denied', 'The user denied the request')
      if (row.expires_at.getTime() <= now.getTime())
        return fail('expired_token', 'The device code has expired: start the login again')
      if (row.status === 'pending') {
        const tooSoon = row.last_polled_at !== null && now.getTime() - row.last_polled_at.getTime() < row.interval_seconds * 1000
        const interval = tooSoon ? row.interval_seconds + SLOW_DOWN_STEP_SECONDS : row.interval_seconds
        await recordPoll(trx, row.id, now, interval)
        return tooSoon
          ? fail('slow_down', `Polling too fast: wait ${interval} seconds between polls`)
          : fail('authorization_pending', 'Waiting for the user to approve the request')
      }
      await markRedeemed(trx, row.id, now)
      return { kind: 'approved', row }
    })
    if (outcome.kind === 'failure') throw outcome.failure
    if (outcome.kind === 'replayed') {
      // Tokens come once: a second redemption means the device code leaked, so what it issued ends.
      const row = outcome.row
      if (row.session_id) await sessions.revoke(row.session_id, 'device_code_replay')
      await audit.record('device.replay', context, {
        subjectId: row.user_id,
        sessionId: row.session_id,
        details: { client_id: row.client_id, device_login_id: row.id },
      })
      throw new DeviceGrantFailure('invalid_grant', 'The device code was already used')
    }
    const row = outcome.row
    const session = row.session_id ? await findSession(db.db, row.session_id) : undefined
    const user = row.user_id ? await findUserById(db.db, row.user_id) : undefined
    if (!session || !user || session.revoked_at !== null) throw new DeviceGrantFailure('access_denied', 'The approved session has ended')
    if (!user.is_active) {
      await sessions.revoke(session.id, 'user_suspended')
      throw new DeviceGrantFailure('access_denied', 'The account has been suspended by an administrator')
    }
    // The device that redeems is the device that holds the tokens: the session takes its address and
    // user agent (the portal's call that approved it never labels it).
    const pair = await sessions.issue(user, await sessions.activate(session, context))
    return { pair, user }
  }
}
