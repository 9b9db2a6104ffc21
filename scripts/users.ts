/**
 * npm run users -- promote|demote|suspend|activate <github-login>
 * npm run users -- list [search]
 *
 * Operator commands on the configured database (DATABASE_URL, or the embedded one: opened here when
 * nothing runs, else used through the loopback socket the running `npm start` advertises in its
 * data directory's lock file). Failures are one line on stderr, exit 1. The same rules as the admin API apply (a
 * suspension ends the user's sessions; no change may leave the system without an active admin), and
 * every change is audited with actor "console". Running API instances see the change within
 * AUTH_CACHE_TTL_MS.
 */
import { loadApiConfig } from '../api/config.ts'
import { AuditLog, NO_REQUEST } from '../api/services/audit.ts'
import { systemClock } from '../api/services/clock.ts'
import { SessionCache } from '../api/services/session-cache.ts'
import { changeUser, toUserJson, type UserPatch } from '../api/services/user-admin.ts'
import { ApiError } from '../api/errors.ts'
import { openDatabase } from '../db/connect.ts'
import { findUserByUsername, listUsers } from '../db/repositories/users.ts'

const COMMANDS: Record<string, UserPatch> = {
  promote: { role: 'admin' },
  demote: { role: 'analyst' },
  suspend: { is_active: false },
  activate: { is_active: true },
}

const USAGE = 'usage: npm run users -- promote|demote|suspend|activate <github-login>\n       npm run users -- list [search]'

const [command, argument] = process.argv.slice(2)
if (command === undefined || (command !== 'list' && (!(command in COMMANDS) || !argument))) {
  console.error(USAGE)
  process.exit(2)
}

/** One line, never a stack trace: operators read this, not developers. */
function fail(error: unknown): never {
  console.error(`npm run users: ${error instanceof Error ? error.message : String(error)}`)
  process.exit(1)
}

const config = (() => {
  try {
    return loadApiConfig()
  } catch (error) {
    return fail(error)
  }
})()
const database = await openDatabase({
  databaseUrl: config.databaseUrl,
  dataDir: config.dataDir,
  poolMax: 1,
  attachToRunning: true,
  log: (m) => m.startsWith('using ') && console.error(m),
}).catch(fail)
let exitCode = 0
try {
  if (command === 'list') {
    const rows = await listUsers(database.db, { q: argument }, 1000, 0)
    for (const row of rows) {
      const u = toUserJson(row)
      console.log(`${u.username.padEnd(24)} ${u.role.padEnd(8)} ${u.is_active ? 'active   ' : 'suspended'} ${u.email ?? ''}`)
    }
    if (rows.length === 0) console.log('no users')
  } else {
    const user = await findUserByUsername(database.db, argument)
    if (!user) {
      console.error(`no user with GitHub login "${argument}" (they must have logged in once)`)
      exitCode = 1
    } else {
      const deps = {
        db: database,
        clock: systemClock,
        cache: new SessionCache(0, systemClock),
        audit: new AuditLog(database, systemClock),
      }
      const after = await changeUser(deps, null, user.id, COMMANDS[command], { ...NO_REQUEST, userAgent: 'npm run users' })
      console.log(`${after.username}: role ${after.role}, ${after.is_active ? 'active' : 'suspended'}`)
    }
  }
} catch (error) {
  if (error instanceof ApiError) console.error(error.message)
  else console.error(`npm run users: ${error instanceof Error ? error.message : String(error)}`)
  exitCode = 1
} finally {
  await database.close().catch(() => {})
}
process.exit(exitCode)
