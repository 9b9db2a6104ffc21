/**
 * The insighta CLI's User-Agent, `insighta/<version> (<hostname>; <platform>)`. The API labels a
 * CLI session with the user agent of the request that redeemed its code (the CLI itself, never the
 * browser that approved the login), and the session lists read it back as "insighta <version> on
 * <hostname>". The host's name and the OS family are all it says about the machine.
 */
const CLI_USER_AGENT = /^insighta\/([0-9A-Za-z._-]{1,40}) \(([0-9A-Za-z._-]{1,100}); ([0-9A-Za-z._-]{1,40})\)$/

/** Keeps a name to the characters a host name may have, so it cannot break the format (or a terminal). */
function token(text: string, max: number, fallback: string): string {
  const kept = text.replace(/[^0-9A-Za-z._-]/g, '-').slice(0, max)
  return /[0-9A-Za-z]/.test(kept) ? kept : fallback
}

/** `insighta/0.1.0 (build-box; linux)`. */
export function cliUserAgent(version: string, hostname: string, platform: string): string {
  return `insighta/${token(version, 40, '0')} (${token(hostname, 100, 'unknown-host')}; ${token(platform, 40, 'unknown')})`
}

/** "insighta 0.1.0 on build-box" for the CLI's user agent; undefined for any other. */
export function cliDeviceLabel(userAgent: string | null | undefined): string | undefined {
  const match = CLI_USER_AGENT.exec(userAgent ?? '')
  return match ? `insighta ${match[1]} on ${match[2]}` : undefined
}
