// From metrics.jsonl lines of several runs to the points one chart plots: a metric's values per run with their
// step, minutes since the run started and a smoothed value. Browser-safe (no Node imports): the dashboard page
// loads this module as it is, and the lab report uses it in Node.

/** One parsed line of metrics.jsonl: `step`, optionally `wall_time` (Unix seconds), and the metrics. */
export type MetricLine = Readonly<Record<string, number>>;

export interface RunMetrics {
  run: string;
  lines: readonly MetricLine[];
}

export interface MetricPoint {
  run: string;
  step: number;
  /** Minutes since the run's first line (from wall_time, else from summed step times). */
  minutes: number;
  value: number;
  /** `value` after exponential smoothing along the run (equal to it when smoothing is 0). */
  smoothed: number;
}

/** Keys of a metrics line that are coordinates, not metrics. */
export const COORDINATE_KEYS: readonly string[] = ['step', 'wall_time', 'epoch'];

/**
 * TensorBoard's smoothing: an exponential moving average with weight `weight` in [0, 1), debiased so the first
 * points are not pulled toward 0: m_t = w·m_{t−1} + (1−w)·y_t, s_t = m_t / (1 − w^t).
 */
export function smoothEma(values: readonly number[], weight: number): number[] {
  if (!(weight >= 0 && weight < 1)) throw new RangeError(`smoothing weight must be in [0, 1), got ${weight}`);
  let moving = 0;
  let count = 0;
  return values.map((value) => {
    count++;
    moving = weight * moving + (1 - weight) * value;
    return weight === 0 ? value : moving / (1 - weight ** count);
  });
}

/**
 * Minutes since the first line of a run, per line: from `wall_time` when every line has it, otherwise from the
 * running sum of the step times the run logged (`time/step_s`, or `seconds` as `rexrag sft` writes).
 */
export function elapsedMinutes(lines: readonly MetricLine[]): number[] {
  if (lines.length > 0 && lines.every((line) => Number.isFinite(line.wall_time))) {
    const first = lines[0]!.wall_time!;
    return lines.map((line) => (line.wall_time! - first) / 60);
  }
  if (lines.some((line) => Number.isFinite(line.seconds))) {
    let last = 0;
    return lines.map((line) => (last = Number.isFinite(line.seconds) ? line.seconds! / 60 : last));
  }
  let total = 0;
  return lines.map((line) => (total += Number.isFinite(line['time/step_s']) ? line['time/step_s']! / 60 : 0));
}

/** Every metric name any run logged, sorted (coordinates excluded). */
export function metricNames(runs: readonly RunMetrics[]): string[] {
  const names = new Set<string>();
  for (const run of runs) for (const line of run.lines) for (const key of Object.keys(line)) if (!COORDINATE_KEYS.includes(key)) names.add(key);
  return [...names].sort();
}

/** The points of `metric` for every run (lines without it are skipped), smoothed per run with `smoothing`. */
export function metricPoints(runs: readonly RunMetrics[], metric: string, smoothing = 0): MetricPoint[] {
  return runs.flatMap((run) => {
    const minutes = elapsedMinutes(run.lines);
    const kept = run.lines.flatMap((line, i) => (Number.isFinite(line[metric]) && Number.isFinite(line.step) ? [{ line, minutes: minutes[i]! }] : []));
    const smoothed = smoothEma(kept.map((k) => k.line[metric]!), smoothing);
    return kept.map((k, i) => ({ run: run.run, step: k.line.step!, minutes: k.minutes, value: k.line[metric]!, smoothed: smoothed[i]! }));
  });
}
