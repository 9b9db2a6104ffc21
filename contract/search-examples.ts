/**
 * Example natural-language queries, shown wherever a search is empty or could not be read (the
 * portal's search page, the CLI's `profiles search` errors), so both front doors teach the same
 * phrasing. Each one parses to a filter and matches profiles in the seed.
 */
export const SEARCH_EXAMPLES = [
  'young males from nigeria',
  'females above 30',
  'adult males from kenya',
  'teenagers in ghana',
  'women aged 20–45 living in nigeria',
  'seniors from angola',
] as const
