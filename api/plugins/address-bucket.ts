import { isIPv4, isIPv6 } from 'node:net'

/**
 * The rate-limit bucket of a client address. One IPv6 subscriber gets a whole /64 (RFC 6177), so
 * counting per address would hand an abuser 2^64 fresh budgets: IPv6 addresses are grouped by their
 * /64 prefix. IPv4 is counted per address, and an IPv4-mapped IPv6 address (`::ffff:192.0.2.1`, as a
 * dual-stack socket reports IPv4 clients) is that IPv4 address.
 */
export function addressBucket(address: string): string {
  if (isIPv4(address)) return address
  const zoneless = address.split('%')[0]
  if (!isIPv6(zoneless)) return address
  const groups = expandIPv6(zoneless)
  if (isMappedIPv4(groups)) return `${groups[6] >> 8}.${groups[6] & 0xff}.${groups[7] >> 8}.${groups[7] & 0xff}`
  return `${groups
    .slice(0, 4)
    .map((g) => g.toString(16))
    .join(':')}::/64`
}

/** The eight 16-bit groups of a valid IPv6 address (with `::` and a trailing dotted IPv4 expanded). */
function expandIPv6(address: string): number[] {
  let text = address.toLowerCase()
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text)
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number)
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined]
  const left = head ? head.split(':') : []
  const right = tail ? tail.split(':') : []
  const zeros = tail === undefined ? [] : Array<string>(8 - left.length - right.length).fill('0')
  return [...left, ...zeros, ...right].map((g) => parseInt(g, 16))
}

function isMappedIPv4(groups: number[]): boolean {
  return groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff
}
