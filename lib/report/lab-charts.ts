// Which charts the lab report shows and from which numbers: held-out EM bands, training reward and dead-end rate,
// probe success and counts, and the per-token-kind importance ratio ranges, each a spec from chart-specs.ts.
import { TOKEN_KINDS } from '../native-types.js';
import { emBandsSpec, methodLabel, rangeBandsSpec, seriesChartSpec, type ChartSpec, type EmRow, type RangeRow, type SeriesPoint } from './chart-specs.js';

/** One method's training steps, as the RL loop returns them. */
export interface LabRunSteps {
  algorithm: string;
  steps: readonly { step: number; metrics: Readonly<Record<string, number>> }[];
}

/** Points of one metric per method, over the steps that logged it. */
function perMethod(runs: readonly LabRunSteps[], key: string): SeriesPoint[] {
  return runs.flatMap((run) => run.steps.filter((s) => Number.isFinite(s.metrics[key])).map((s) => ({ series: run.algorithm, step: s.step, value: s.metrics[key]! })));
}

/** Whether a run spawned any probe (REX-RAG and its ablations do; GRPO does not). */
function probes(run: LabRunSteps): boolean {
  return run.steps.some((s) => (s.metrics['probe/generated'] ?? 0) > 0);
}

/**
 * The per-token-kind ratio ranges (train/<kind>/ratio_min, _mean, _max) of each method at each step, for the
 * kinds that had loss tokens at that step.
 */
export function ratioRangeRows(runs: readonly LabRunSteps[]): RangeRow[] {
  return runs.flatMap((run) => run.steps.flatMap((s) => TOKEN_KINDS.flatMap((kind) => {
    const m = s.metrics;
    const [min, mean, max, tokens] = ['ratio_min', 'ratio_mean', 'ratio_max', 'tokens'].map((stat) => m[`train/${kind}/${stat}`]);
    if (!(tokens! > 0) || ![min, mean, max].every((v) => Number.isFinite(v))) return [];
    return [{ panel: run.algorithm, group: kind.replace(/_/g, ' '), step: s.step, min: min!, mean: mean!, max: max! }];
  })));
}

/** The lab report's charts, in page order; charts without data are left out. */
export function labChartSpecs(rows: readonly EmRow[], runs: readonly LabRunSteps[]): { title: string; spec: ChartSpec }[] {
  const charts: { title: string; spec: ChartSpec }[] = [];
  for (const hops of ['multi', 1, 2, 3] as const) {
    if (rows.some((r) => String(r.hops) === String(hops))) charts.push({ title: `EM ${hops}`, spec: emBandsSpec(rows, { hops }) });
  }
  const add = (title: string, points: SeriesPoint[], yTitle: string, yDomain?: [number, number], byMethod = true) => {
    if (points.length > 0) charts.push({ title, spec: seriesChartSpec({ title, points, yTitle, byMethod, ...(yDomain ? { yDomain } : {}) }) });
  };
  add('Training reward (original rollouts)', perMethod(runs, 'reward/mean'), 'mean EM', [0, 1]);
  add('Dead-end rate (groups whose rollouts all failed)', perMethod(runs, 'deadend/rate'), 'share of groups', [0, 1]);
  const probing = runs.filter(probes);
  const several = probing.length > 1;
  const named = (run: LabRunSteps, what: string) => (several ? `${methodLabel(run.algorithm)} ${what}` : what);
  const probeSeries = (keys: [string, string][]) => probing.flatMap((run) => keys.flatMap(([key, what]) => perMethod([run], key).map((p) => ({ ...p, series: named(run, what) }))));
  add('Probe success (exact match of probes)', probeSeries([['probe/kept_accuracy', 'kept probes'], ['probe/generated_accuracy', 'all probes']]), 'EM', [0, 1], false);
  add('Probes per step: generated, filter budget, kept', probeSeries([['probe/generated', 'generated'], ['probe/budget', 'budget'], ['probe/kept', 'kept']]), 'probes', undefined, false);
  const ratios = ratioRangeRows(runs);
  if (ratios.length > 0) {
    charts.push({ title: 'ratios', spec: rangeBandsSpec({ rows: ratios, title: 'Importance ratio π_θ / behaviour per token kind (band: min to max, line: mean)', yTitle: 'ratio' }) });
  }
  return charts;
}
