import { randomBytes } from 'node:crypto'

/** Milliseconds since the epoch. Token expiry, codes and rate-limit windows all read this, so tests can move time. */
export type Clock = () => number

/** Cryptographically strong random bytes; injectable so tests can make codes and tokens predictable. */
export type RandomBytes = (size: number) => Buffer

export const systemClock: Clock = () => Date.now()
export const systemRandom: RandomBytes = (size) => randomBytes(size)
