/** Small formatting helpers the templates use; every result is plain text, escaped by `<%= %>`. */
import { cliDeviceLabel } from '../contract/cli-user-agent.ts'
import { countryNameOf } from '../contract/countries.ts'

const integer = new Intl.NumberFormat('en-GB')

export function formatCount(value: number): string {
  return integer.format(value)
}

/**
 * 0.8734 → "0.87": confidence is shown in the unit it is entered in and sent to the API (0–1, as
 * in the contract, the CSV and the CLI), never as a percentage beside a 0–1 field.
 */
export function formatProbability(value: number): string {
  return (Math.round(value * 100) / 100).toFixed(2)
}

/** Share of a total as a percentage with one decimal ("12.5%"), "0%" when the total is 0. */
export function formatShare(part: number, total: number): string {
  if (total <= 0) return '0%'
  const pct = (part / total) * 100
  return `${pct >= 10 || pct === 0 ? Math.round(pct) : pct.toFixed(1)}%`
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']
const pad = (n: number) => String(n).padStart(2, '0')

/** "2026-11-23T17:00:00Z" → "23 Nov 2026, 17:00 UTC"; anything unparseable is shown as given. (No Intl: it is hot.) */
export function formatDateTime(value: string | null | undefined): string {
  if (!value) return '—'
  const date = new Date(value)
  if (Number.isNaN(date.getTime())) return String(value)
  return `${date.getUTCDate()} ${MONTHS[date.getUTCMonth()]} ${date.getUTCFullYear()}, ${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())} UTC`
}

export function countryLabel(id: string, name?: string): string {
  return `${name || countryNameOf(id) || id} (${id})`
}

/** A message (the API's, say) as a sentence: with a full stop unless it ends in one. */
export function sentence(message: string): string {
  return /[.!?]$/.test(message) ? message : `${message}.`
}

export function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1)
}

/** 104857600 → "100 MB", 2048 → "2 KB". */
export function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${Math.round((bytes / (1024 * 1024)) * 10) / 10} MB`
  if (bytes >= 1024) return `${Math.round(bytes / 1024)} KB`
  return `${bytes} bytes`
}

/**
 * "Mozilla/5.0 (X11; Linux x86_64) … Chrome/126 …" → "Chrome on Linux", the CLI's
 * "insighta/0.1.0 (build-box; linux)" → "insighta 0.1.0 on build-box"; unknown agents are shown shortened.
 */
export function deviceLabel(userAgent: string | null | undefined): string {
  if (!userAgent) return 'Unknown device'
  const cli = cliDeviceLabel(userAgent)
  if (cli !== undefined) return cli
  const ua = userAgent
  const browser =
    /insighta/i.test(ua) ? 'insighta CLI'
    : /Edg\//.test(ua) ? 'Edge'
    : /Firefox\//.test(ua) ? 'Firefox'
    : /HeadlessChrome\//.test(ua) ? 'Headless Chrome'
    : /Chrome\//.test(ua) ? 'Chrome'
    : /Safari\//.test(ua) ? 'Safari'
    : /^curl\//.test(ua) ? 'curl'
    : /^node|undici/i.test(ua) ? 'Node.js'
    : undefined
  const os =
    /Android/.test(ua) ? 'Android'
    : /iPhone|iPad|iOS/.test(ua) ? 'iOS'
    : /Windows/.test(ua) ? 'Windows'
    : /Mac OS X|Macintosh/.test(ua) ? 'macOS'
    : /Linux|X11/.test(ua) ? 'Linux'
    : undefined
  if (browser && os) return `${browser} on ${os}`
  if (browser) return browser
  return ua.length > 60 ? `${ua.slice(0, 59)}…` : ua
}

/**
 * A path with a query string built from the defined, non-empty values. Commas stay commas (they
 * mean the same in a query string): an either-or list reads as the contract writes it,
 * `country_id=GH,NG`, in the address bar and in shared links.
 */
export function href(path: string, params: Record<string, string | number | undefined | null>): string {
  const qs = new URLSearchParams()
  for (const [key, value] of Object.entries(params)) if (value !== undefined && value !== null && value !== '') qs.append(key, String(value))
  const text = qs.toString().replaceAll('%2C', ',')
  return text === '' ? path : `${path}?${text}`
}

/** Only http(s) URLs may become an <img src>; anything else (javascript:, data:) is dropped. */
export function safeImageUrl(value: string | null | undefined): string | undefined {
  if (!value) return undefined
  try {
    const url = new URL(value)
    return url.protocol === 'https:' ? url.toString() : undefined
  } catch {
    return undefined
  }
}

export const formatters = { deviceLabel, formatBytes, formatCount, formatProbability, formatShare, formatDateTime, countryLabel, capitalise, href, safeImageUrl }
export type Formatters = typeof formatters
