/**
 * Geometry for the dashboard's server-rendered SVG charts. Pure: numbers in, coordinates and labels
 * out; the templates only place them (and escape them). No client-side charting, so the charts
 * work without JavaScript and print as they look.
 */
import type { ProfileStats } from './api-client.ts'
import { capitalise, formatCount, formatShare } from './format.ts'

export interface BarRow {
  label: string
  /** the label cut to fit beside the bar (the full one is in the bar's tooltip and the data table) */
  shortLabel: string
  value: number
  /** "1,234 (12%)" */
  text: string
  y: number
  width: number
  /** a CSS modifier for the bar's colour */
  tone: string
}

export interface BarChart {
  width: number
  height: number
  labelWidth: number
  barHeight: number
  rows: BarRow[]
  total: number
  /** one sentence for screen readers */
  summary: string
  /** false when at most one row has a value: a single 100 % bar says nothing a sentence would not */
  informative: boolean
  /** that sentence, for a chart that is not informative */
  note: string
}

const WIDTH = 520
const LABEL_WIDTH = 130
const VALUE_WIDTH = 110
const BAR_HEIGHT = 22
const GAP = 10
const MAX_LABEL_CHARS = 18

export function barChart(items: { label: string; value: number; tone?: string }[], total: number, subject: string): BarChart {
  const max = Math.max(1, ...items.map((i) => i.value))
  const plot = WIDTH - LABEL_WIDTH - VALUE_WIDTH
  const rows = items.map((item, index) => ({
    label: item.label,
    shortLabel: item.label.length > MAX_LABEL_CHARS ? `${item.label.slice(0, MAX_LABEL_CHARS - 1).trimEnd()}…` : item.label,
    value: item.value,
    text: `${formatCount(item.value)} (${formatShare(item.value, total)})`,
    y: index * (BAR_HEIGHT + GAP),
    width: item.value === 0 ? 0 : Math.max(2, Math.round((item.value / max) * plot)),
    tone: item.tone ?? 'default',
  }))
  const summary =
    items.length === 0
      ? `No ${subject} to show.`
      : `${capitalise(subject)}: ${items.map((i) => `${i.label} ${formatCount(i.value)}`).join(', ')}.`
  const nonZero = items.filter((i) => i.value > 0)
  const note =
    nonZero.length === 0
      ? `No ${subject} to show.`
      : `All ${formatCount(nonZero[0].value)} ${nonZero[0].value === 1 ? 'profile' : 'profiles'}: ${nonZero[0].label}.`
  return {
    informative: nonZero.length >= 2,
    note,
    width: WIDTH,
    height: Math.max(BAR_HEIGHT, items.length * (BAR_HEIGHT + GAP) - GAP),
    labelWidth: LABEL_WIDTH,
    barHeight: BAR_HEIGHT,
    rows,
    total,
    summary,
  }
}

export interface Column {
  label: string
  /** the band's first age, under the column (the full band is in its tooltip and the data table) */
  axisLabel: string
  value: number
  x: number
  y: number
  width: number
  height: number
  text: string
}

export interface ColumnChart {
  width: number
  height: number
  plotTop: number
  plotBottom: number
  columns: Column[]
  /** horizontal grid lines with their value labels */
  ticks: { y: number; label: string }[]
  summary: string
}

const COLUMN_CHART_HEIGHT = 240
const AXIS_LEFT = 48
const AXIS_BOTTOM = 28
const TOP = 16

/** A "nice" upper bound for an axis: 1, 2 or 5 times a power of ten. */
export function niceMax(value: number): number {
  if (value <= 0) return 1
  const power = 10 ** Math.floor(Math.log10(value))
  for (const step of [1, 2, 5, 10]) if (step * power >= value) return step * power
  return 10 * power
}

/** A whole-number axis step near `raw`: 1, 2 or 5 times a power of ten, at least 1. */
export function niceStep(raw: number): number {
  if (raw <= 1) return 1
  const power = 10 ** Math.floor(Math.log10(raw))
  for (const m of [1, 2, 5, 10]) if (m * power >= raw) return m * power
  return 10 * power
}

/** The age histogram, with empty bands between the youngest and the oldest filled in as zero. */
export function histogramChart(histogram: ProfileStats['age_histogram']): ColumnChart {
  const bands = new Map(histogram.map((b) => [b.from, b.count]))
  const froms = histogram.map((b) => b.from)
  const first = froms.length ? Math.min(...froms) : 0
  const last = froms.length ? Math.max(...froms) : 0
  const series: { from: number; label: string; value: number }[] = []
  if (froms.length) for (let from = first; from <= last; from += 10) series.push({ from, label: `${from}–${from + 9}`, value: bands.get(from) ?? 0 })
  // whole-number ticks: a count axis never reads "0, 0, 1, 1, 1"
  const step = niceStep(Math.max(0, ...series.map((s) => s.value)) / 4)
  const max = Math.max(step, Math.ceil(Math.max(0, ...series.map((s) => s.value)) / step) * step)
  const plotBottom = COLUMN_CHART_HEIGHT - AXIS_BOTTOM
  const plotHeight = plotBottom - TOP
  const slot = series.length ? (WIDTH - AXIS_LEFT) / series.length : 0
  const columns = series.map((s, index) => {
    const height = s.value === 0 ? 0 : Math.max(1, Math.round((s.value / max) * plotHeight))
    return {
      label: s.label,
      axisLabel: String(s.from),
      value: s.value,
      x: Math.round(AXIS_LEFT + index * slot + slot * 0.12),
      y: plotBottom - height,
      width: Math.max(1, Math.round(slot * 0.76)),
      height,
      text: formatCount(s.value),
    }
  })
  const ticks: { y: number; label: string }[] = []
  for (let value = 0; value <= max; value += step) ticks.push({ y: Math.round(plotBottom - (value / max) * plotHeight), label: formatCount(value) })
  const summary = series.length
    ? `Profiles by age band: ${series.map((s) => `${s.label} ${formatCount(s.value)}`).join(', ')}.`
    : 'No ages to show.'
  return { width: WIDTH, height: COLUMN_CHART_HEIGHT, plotTop: TOP, plotBottom, columns, ticks, summary }
}

/** Every chart on the dashboard from one stats answer. */
export function dashboardCharts(stats: ProfileStats, topCountries = 10) {
  const total = stats.total
  return {
    gender: barChart(
      [
        { label: 'Male', value: stats.by_gender.male, tone: 'male' },
        { label: 'Female', value: stats.by_gender.female, tone: 'female' },
      ],
      total,
      'gender split',
    ),
    ageGroups: barChart(
      [
        { label: 'Child (0–12)', value: stats.by_age_group.child },
        { label: 'Teenager (13–19)', value: stats.by_age_group.teenager },
        { label: 'Adult (20–59)', value: stats.by_age_group.adult },
        { label: 'Senior (60+)', value: stats.by_age_group.senior },
      ],
      total,
      'age groups',
    ),
    countries: barChart(
      [...stats.by_country]
        .sort((a, b) => b.count - a.count || a.country_name.localeCompare(b.country_name))
        .slice(0, topCountries)
        .map((c) => ({ label: c.country_name, value: c.count, tone: 'country' })),
      total,
      'top countries',
    ),
    histogram: histogramChart(stats.age_histogram),
  }
}
