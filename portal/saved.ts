/**
 * Saved searches as the portal shows them (issue 15): each runs as a portal URL (the Profiles page
 * for a list, the Search page for a search), which is also the URL to share.
 */
import type { SavedSearchJson } from '../contract/saved-search.ts'
import type { Query } from './api-client.ts'
import { href } from './format.ts'

export interface SavedSearchView {
  id: string
  name: string
  kind: 'list' | 'search'
  query: string
  /** relative: the link that runs it here */
  runHref: string
  /** absolute: the same page for a colleague to open */
  shareUrl: string
  createdAt: string
}

export function savedSearchView(saved: SavedSearchJson, publicUrl: string): SavedSearchView {
  const runHref = `${saved.kind === 'search' ? '/search' : '/profiles'}?${saved.query}`
  return { id: saved.id, name: saved.name, kind: saved.kind, query: saved.query, runHref, shareUrl: `${publicUrl.replace(/\/$/, '')}${runHref}`, createdAt: saved.created_at }
}

/** The query string a save form sends for the page's current parameters (only those that are set). */
export function queryToSave(params: Query): string {
  return href('', params).replace(/^\?/, '')
}

/** Where to go back to after saving or deleting: one of our own pages, nothing else. */
export function safeBack(value: unknown, fallback: string): string {
  if (typeof value !== 'string' || value.length > 2000) return fallback
  return /^\/(profiles|search|saved-searches)?(\?[^\r\n]*)?$/.test(value) && !value.startsWith('//') ? value : fallback
}
