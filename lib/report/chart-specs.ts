// Vega-Lite specs of every chart rexrag draws: the dashboard's metric charts, the lab report's EM bands, dead-end
// and probe curves and per-token-kind ratio bands. One place, so the live page and the static figures look alike.
// Browser-safe (no Node imports): the dashboard loads this module as it is; render-figure.ts turns a spec into
// SVG or PNG in Node.
import type { TopLevelSpec } from 'vega-lite';

import type { MetricPoint } from './metric-series.js';

export type ChartSpec = TopLevelSpec;

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';

/** Colours of the lab's methods (others take the tableau10 palette in order). */
const METHOD_COLORS: Record<string, string> = { grpo: '#d62728', 'rex-rag': '#1f77b4', 'warm-start': '#7f7f7f' };
const PALETTE = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];
/** For methods other than the lab's: colours far from GRPO's red and REX-RAG's blue. */
const OTHER_METHOD_PALETTE = ['#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#bcbd22', '#7f7f7f'];
const METHOD_NAMES: Record<string, string> = { grpo: 'GRPO', 'rex-rag': 'REX-RAG', 'warm-start': 'warm start' };

/** How a method is named in charts and tables (`rex-rag` → `REX-RAG`, `rex-rag-no-filter` → `REX-RAG no filter`). */
export function methodLabel(method: string): string {
  if (METHOD_NAMES[method]) return METHOD_NAMES[method]!;
  return method.startsWith('rex-rag-') ? `REX-RAG ${method.slice('rex-rag-'.length).replace(/-/g, ' ')}` : method;
}

/** The colour of each name: the lab's fixed colours for its methods (when `byMethod`), the palette in order for the rest. */
export function seriesColors(names: readonly string[], byMethod = false): string[] {
  let next = 0;
  const palette = byMethod ? OTHER_METHOD_PALETTE : PALETTE;
  return names.map((name) => (byMethod && METHOD_COLORS[name] ? METHOD_COLORS[name]! : palette[next++ % palette.length]!));
}

function colorScale(names: readonly string[], byMethod: boolean): { domain: string[]; range: string[] } {
  return { domain: [...names], range: seriesColors(names, byMethod) };
}

/** Names in order of first appearance. */
function distinct(values: readonly string[]): string[] {
  return [...new Set(values)];
}

export interface MetricChartOptions {
  points: readonly MetricPoint[];
  metric: string;
  /** x axis: the step, or minutes since each run started. */
  x?: 'step' | 'time';
  /** Whether `smoothed` differs from `value` (then the raw values are drawn faintly behind). */
  smoothed?: boolean;
  /** Runs in legend order (default: order of appearance). */
  runs?: readonly string[];
  width?: number | 'container';
  height?: number;
  title?: string;
  /** Legend columns (default 4); 0 draws no legend (when the page shows the colours elsewhere). */
  legendColumns?: number;
}

/** One metric over steps (or time) for several runs: one line per run, raw values faint behind a smoothed line. */
export function metricChartSpec(options: MetricChartOptions): ChartSpec {
  const runs = options.runs ?? distinct(options.points.map((p) => p.run));
  const time = options.x === 'time';
  const y = (field: string) => ({ field, type: 'quantitative' as const, title: options.metric, scale: { zero: false } });
  const line = {
    mark: { type: 'line' as const, strokeWidth: 2, point: options.points.length <= 60 ? { size: 18 } : false },
    encoding: {
      y: y('smoothed'),
      tooltip: [
        { field: 'run', type: 'nominal' as const },
        { field: 'step', type: 'quantitative' as const },
        { field: 'value', type: 'quantitative' as const, format: '.4~g', title: options.metric },
        ...(options.smoothed ? [{ field: 'smoothed', type: 'quantitative' as const, format: '.4~g' }] : []),
      ],
    },
  };
  return {
    $schema: SCHEMA,
    title: options.title ?? options.metric,
    width: options.width ?? 520,
    height: options.height ?? 280,
    data: { name: 'table', values: options.points as unknown as Record<string, unknown>[] },
    encoding: {
      x: time ? { field: 'minutes', type: 'quantitative', title: 'minutes since start' } : { field: 'step', type: 'quantitative', title: 'step' },
      color: {
        field: 'run', type: 'nominal', scale: colorScale(runs, false),
        legend: options.legendColumns === 0 ? null : { orient: 'bottom', columns: options.legendColumns ?? 4, title: null, labelLimit: 260, labelFontSize: 12, symbolType: 'stroke', symbolOpacity: 1, symbolStrokeWidth: 3 },
      },
    },
    layer: options.smoothed ? [{ mark: { type: 'line', strokeWidth: 1, opacity: 0.25 }, encoding: { y: y('value') } }, line] : [line],
  };
}

/** A row of the lab's summary.json (and of the experiment's): held-out EM of one method at one step. */
export interface EmRow {
  method: string;
  step: number;
  hops: number | string;
  em: number;
  emLow: number;
  emHigh: number;
}

/**
 * Sampled EM per step with its 95% interval as a band, one line per method, for one hop group (`multi` by
 * default: 2- and 3-hop questions together). Rows of other hop groups are ignored.
 */
export function emBandsSpec(
  rows: readonly EmRow[],
  options: { hops?: number | string; title?: string; width?: number | 'container'; height?: number; yTitle?: string; yDomain?: [number, number] | null; zeroRule?: boolean } = {},
): ChartSpec {
  const hops = String(options.hops ?? 'multi');
  const values = rows.filter((r) => String(r.hops) === hops).map((r) => ({ ...r, label: methodLabel(r.method) }));
  const methods = distinct(values.map((r) => r.method));
  const scale = colorScale(methods, true);
  const color = { field: 'label', type: 'nominal' as const, scale: { domain: methods.map(methodLabel), range: scale.range }, legend: { orient: 'bottom' as const, title: null, columns: 3, labelLimit: 260, symbolType: 'stroke', symbolOpacity: 1, symbolStrokeWidth: 3 } };
  const hopsLabel = hops === 'multi' ? 'multi-hop' : hops === 'all' ? 'all questions' : `${hops}-hop`;
  return {
    $schema: SCHEMA,
    title: options.title ?? `Held-out sampled EM, ${hopsLabel} (95% intervals)`,
    width: options.width ?? 420,
    height: options.height ?? 260,
    data: { values: values as unknown as Record<string, unknown>[] },
    encoding: { x: { field: 'step', type: 'quantitative', title: 'RL step' }, color },
    layer: [
      {
        mark: { type: 'area', opacity: 0.18 },
        encoding: {
          y: { field: 'emLow', type: 'quantitative', scale: options.yDomain === null ? { zero: false } : { domain: options.yDomain ?? [0, 1] }, title: options.yTitle ?? 'sampled EM' },
          y2: { field: 'emHigh' },
        },
      },
      {
        mark: { type: 'line', strokeWidth: 2, point: true },
        encoding: {
          y: { field: 'em', type: 'quantitative' },
          tooltip: [
            { field: 'label', title: 'method' }, { field: 'step', type: 'quantitative' },
            { field: 'em', type: 'quantitative', format: '.3f', title: 'EM' }, { field: 'emLow', type: 'quantitative', format: '.3f', title: 'low' },
            { field: 'emHigh', type: 'quantitative', format: '.3f', title: 'high' },
          ],
        },
      },
      ...(options.zeroRule ? [{ mark: { type: 'rule' as const, color: '#555', strokeDash: [4, 4] }, encoding: { y: { datum: 0 } } }] : []),
    ],
  };
}

/** A point of a named series (a method's metric, a count) at a step. */
export interface SeriesPoint {
  series: string;
  step: number;
  value: number;
}

/**
 * Lines over steps, one per series, coloured by series (the lab's method colours when series are methods).
 * `dash` names series drawn dashed (e.g. generated vs kept counts).
 */
export function seriesChartSpec(options: {
  points: readonly SeriesPoint[]; title: string; yTitle: string; yDomain?: [number, number]; width?: number | 'container'; height?: number; byMethod?: boolean;
}): ChartSpec {
  const names = distinct(options.points.map((p) => p.series));
  const byMethod = options.byMethod ?? true;
  const values = options.points.map((p) => ({ ...p, label: byMethod ? methodLabel(p.series) : p.series }));
  const scale = colorScale(names, byMethod);
  return {
    $schema: SCHEMA,
    title: options.title,
    width: options.width ?? 420,
    height: options.height ?? 220,
    data: { values: values as unknown as Record<string, unknown>[] },
    mark: { type: 'line', strokeWidth: 2, point: values.length <= 80 },
    encoding: {
      x: { field: 'step', type: 'quantitative', title: 'RL step' },
      y: { field: 'value', type: 'quantitative', title: options.yTitle, ...(options.yDomain ? { scale: { domain: options.yDomain } } : {}) },
      color: { field: 'label', type: 'nominal', scale: { domain: byMethod ? names.map(methodLabel) : names, range: scale.range }, legend: { orient: 'bottom', title: null, labelLimit: 260, symbolType: 'stroke', symbolOpacity: 1, symbolStrokeWidth: 3 } },
      tooltip: [{ field: 'label', title: 'series' }, { field: 'step', type: 'quantitative' }, { field: 'value', type: 'quantitative', format: '.4~g' }],
    },
  };
}

/** The range of a statistic at a step for one group (a token kind) in one panel (a method). */
export interface RangeRow {
  panel: string;
  group: string;
  step: number;
  min: number;
  mean: number;
  max: number;
}

/**
 * Bands from min to max with the mean as a line, one colour per group, one panel per `panel` value: the
 * per-token-kind importance ratio statistics of each method over steps.
 */
export function rangeBandsSpec(options: { rows: readonly RangeRow[]; title: string; yTitle: string; width?: number; height?: number }): ChartSpec {
  const groups = distinct(options.rows.map((r) => r.group));
  const panels = distinct(options.rows.map((r) => r.panel));
  const values = options.rows.map((r) => ({ ...r, panel: methodLabel(r.panel) }));
  const color = { field: 'group', type: 'nominal' as const, scale: colorScale(groups, false), legend: { orient: 'bottom' as const, title: 'token kind', symbolType: 'stroke', symbolOpacity: 1, symbolStrokeWidth: 3 } };
  return {
    $schema: SCHEMA,
    title: options.title,
    data: { values: values as unknown as Record<string, unknown>[] },
    facet: { column: { field: 'panel', type: 'nominal', title: null, sort: panels.map(methodLabel) } },
    spec: {
      width: options.width ?? 300,
      height: options.height ?? 220,
      encoding: { x: { field: 'step', type: 'quantitative', title: 'RL step' }, color },
      layer: [
        { mark: { type: 'area', opacity: 0.2 }, encoding: { y: { field: 'min', type: 'quantitative', title: options.yTitle, scale: { zero: false } }, y2: { field: 'max' } } },
        {
          mark: { type: 'line', strokeWidth: 2 },
          encoding: {
            y: { field: 'mean', type: 'quantitative' },
            tooltip: [{ field: 'group', title: 'kind' }, { field: 'step', type: 'quantitative' }, { field: 'min', format: '.3f' }, { field: 'mean', format: '.3f' }, { field: 'max', format: '.3f' }],
          },
        },
      ],
    },
  } as ChartSpec;
}
