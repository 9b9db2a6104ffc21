// One UUID v7 generator for every id the product writes (rows, sessions, audit, imports).
import { randomFillSync } from 'node:crypto'

/**
 * UUID v7 (RFC 9562) for bulk writes: the same ids as the `uuid` package's v7(), monotonic within
 * a process, at a fraction of the cost. uuid draws 16 random bytes through WebCrypto for every id,
 * which took ~3.7 µs an id and was the largest single cost of a 500k-row import on the Node side;
 * here the randomness comes from a pool refilled 256 ids at a time.
 *
 * Layout (RFC 9562 §6.2 method 1, a counter seeded at random each millisecond):
 *   48 bits unix ms · version 7 · 12-bit counter high · variant 10 · 18-bit counter low · 44 random bits
 * The 30-bit counter starts below 2^29, so a millisecond holds at least 2^29 ids before the
 * timestamp is borrowed from the next millisecond; ids never go backwards, even if the clock does.
 */

const POOL_IDS = 256
const pool = Buffer.alloc(16 * POOL_IDS)
let poolOffset = pool.length

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'))

let lastMs = -1
let counter = 0

function randomBytes16(): number {
  if (poolOffset === pool.length) {
    randomFillSync(pool)
    poolOffset = 0
  }
  const at = poolOffset
  poolOffset += 16
  return at
}

export function newId(now: number = Date.now()): string {
  const r = randomBytes16()
  if (now > lastMs) {
    lastMs = now
    counter = ((pool[r] << 21) | (pool[r + 1] << 13) | (pool[r + 2] << 5) | (pool[r + 3] >>> 3)) & 0x1fffffff
  } else {
    counter++
    if (counter > 0x3fffffff) {
      lastMs++
      counter = 0
    }
  }
  const ms = lastMs
  const hi = Math.floor(ms / 0x100000000) // top 16 bits of the 48-bit timestamp
  const lo = ms >>> 0
  const counterHigh = counter >>> 18 // 12 bits
  const counterLow = counter & 0x3ffff // 18 bits
  const b6 = 0x70 | (counterHigh >>> 8)
  const b7 = counterHigh & 0xff
  const b8 = 0x80 | (counterLow >>> 12)
  const b9 = (counterLow >>> 4) & 0xff
  const b10 = ((counterLow & 0x0f) << 4) | (pool[r + 10] & 0x0f)
  return (
    HEX[(hi >>> 8) & 0xff] +
    HEX[hi & 0xff] +
    HEX[lo >>> 24] +
    HEX[(lo >>> 16) & 0xff] +
    '-' +
    HEX[(lo >>> 8) & 0xff] +
    HEX[lo & 0xff] +
    '-' +
    HEX[b6] +
    HEX[b7] +
    '-' +
    HEX[b8] +
    HEX[b9] +
    '-' +
    HEX[b10] +
    HEX[pool[r + 11]] +
    HEX[pool[r + 12]] +
    HEX[pool[r + 13]] +
    HEX[pool[r + 14]] +
    HEX[pool[r + 15]]
  )
}

/** Any RFC 9562 UUID, any case: what an `:id` in a path must look like before it reaches SQL. */
export const UUID_PATTERN = '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$'
const UUID_RE = new RegExp(UUID_PATTERN)

export function isUuid(value: string): boolean {
  return UUID_RE.test(value)
}

/**
 * A v7 id carrying exactly the time `ms` (a fixture's or an import's own timestamp), not monotonic:
 * its other 74 bits are newId's. Two ids of the same millisecond still differ in their random bits.
 */
export function idAt(ms: number): string {
  const hex = Math.trunc(ms).toString(16).padStart(12, '0').slice(-12)
  const id = newId()
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}${id.slice(13)}`
}
