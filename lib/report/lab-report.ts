// The lab's self-contained HTML report: the result table, charts drawn from the shared Vega-Lite specs (held-out
// EM bands, reward, dead-end rate, probe success and counts, per-token-kind ratio ranges) as inline SVG, example
// trajectories from the runs' samples, every evaluation and the setting; plus the terminal summary table.
import { join } from 'node:path';

import type { LabEvalRow } from '../lab/lab-eval.js';
import { sampleSteps, readSamples, type TrajectorySample } from '../train/run-samples.js';
import { methodLabel } from './chart-specs.js';
import { specToSvg } from './figures.js';
import { labChartSpecs } from './lab-charts.js';
import { escapeHtml, TRAJECTORY_CSS, trajectoryHtml, trajectoryLegendHtml } from './trajectory-html.js';

export interface LabRunSummary {
  /** The lab method (lib/lab/lab-methods.ts). */
  algorithm: string;
  steps: { step: number; metrics: Record<string, number> }[];
  /** Training time (rollouts + updates + checkpoints). */
  trainSeconds: number;
  /** Training and the evaluation of its checkpoints. */
  seconds: number;
}

export interface LabSummary {
  title: string;
  /** Facts about the setting, shown as a table. */
  setting: [string, string][];
  /** Held-out evaluations: per method (each method's rows include the shared warm start at step 0), step and hop group. */
  rows: LabEvalRow[];
  runs: LabRunSummary[];
  /** Wall time per stage, in seconds. */
  timings: [string, number][];
  notes: string[];
}

const pct = (row: LabEvalRow) => `${row.em.toFixed(3)} [${row.emLow.toFixed(3)}, ${row.emHigh.toFixed(3)}]`;

/** Terminal rows: per method and hop group, sampled EM with interval at the warm start and at the last step, and greedy EM. */
export function summaryRows(summary: LabSummary): string[][] {
  const out: string[][] = [];
  for (const run of summary.runs) {
    const mine = summary.rows.filter((r) => r.method === run.algorithm);
    const last = Math.max(...mine.map((r) => r.step));
    for (const hops of [1, 2, 3, 'multi', 'all'] as const) {
      const start = mine.find((r) => r.step === 0 && r.hops === hops);
      const end = mine.find((r) => r.step === last && r.hops === hops);
      if (!start || !end) continue;
      const separated = end.emLow > start.emHigh ? 'up' : end.emHigh < start.emLow ? 'down' : 'overlap';
      out.push([
        methodLabel(run.algorithm), String(hops), pct(start), `${pct(end)} @${last}`, (end.em - start.em).toFixed(3), separated,
        `${start.greedyEm.toFixed(3)} -> ${end.greedyEm.toFixed(3)}`, `${start.allWrong.toFixed(2)} -> ${end.allWrong.toFixed(2)}`, String(end.samples),
      ]);
    }
  }
  return out;
}

const HEADER = ['method', 'hops', 'sampled EM warm start [95% CI]', 'sampled EM final [95% CI]', 'change', 'intervals', 'greedy EM', 'all-wrong share', 'samples'];

function align(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) => r.map((cell, c) => cell.padEnd(widths[c]!)).join('  ')).join('\n');
}

/** The summary as aligned text lines for a terminal. */
export function labSummaryText(summary: LabSummary): string {
  const timing = summary.timings.map(([stage, s]) => `${stage} ${s.toFixed(0)} s`).join(', ');
  return `held-out test questions (entities never seen in training)\n${align([HEADER, ...summaryRows(summary)])}\n\ntime: ${timing}`;
}

/** Example trajectories of one method for the report. */
export interface LabExamples {
  method: string;
  samples: TrajectorySample[];
}

/**
 * A few trajectories worth reading from a run's samples: a kept probe (right ones first; it shows the spliced
 * prompt), then a right and a wrong original, from the latest steps that have them.
 */
export function chooseExamples(samples: readonly TrajectorySample[], count = 3): TrajectorySample[] {
  const latestFirst = [...samples].sort((a, b) => b.step - a.step);
  const probe = latestFirst.filter((s) => s.isProbe).sort((a, b) => Number(b.kept ?? false) - Number(a.kept ?? false) || (b.reward ?? 0) - (a.reward ?? 0))[0];
  const originals = latestFirst.filter((s) => !s.isProbe);
  const right = originals.find((s) => (s.reward ?? 0) > 0);
  const wrong = originals.find((s) => (s.reward ?? 0) === 0);
  const chosen = [probe, right, wrong].filter((s): s is TrajectorySample => s !== undefined);
  for (const s of originals) if (chosen.length < count && !chosen.includes(s)) chosen.push(s);
  return chosen.slice(0, count);
}

/** Reads the samples of each method's run folder (runsDir/<method>) and picks its examples; runs without samples give none. */
export async function labExamples(runsDir: string, methods: readonly string[], count = 3): Promise<LabExamples[]> {
  const out: LabExamples[] = [];
  for (const method of methods) {
    const dir = join(runsDir, method);
    const all: TrajectorySample[] = [];
    for (const step of await sampleSteps(dir)) all.push(...(await readSamples(dir, step)));
    out.push({ method, samples: chooseExamples(all, count) });
  }
  return out;
}

function table(rows: string[][], header?: string[]): string {
  return `<table>${header ? `<tr>${header.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr>` : ''}${rows
    .map((r) => `<tr>${r.map((c) => `<td>${escapeHtml(c)}</td>`).join('')}</tr>`)
    .join('')}</table>`;
}

/** The full report as one HTML page: charts as inline SVG, no scripts, no external resources. */
export async function labReportHtml(summary: LabSummary, examples: readonly LabExamples[] = []): Promise<string> {
  const charts = await Promise.all(labChartSpecs(summary.rows, summary.runs).map(async ({ spec }) => `<figure>${await specToSvg(spec)}</figure>`));
  const evalRows = summary.rows.map((r) => [methodLabel(r.method), String(r.step), String(r.hops), pct(r), String(r.samples), r.greedyEm.toFixed(3), r.allWrong.toFixed(2), r.searches.toFixed(2)]);
  const trajectories = examples.filter((e) => e.samples.length > 0).map((e) =>
    `<h3>${escapeHtml(methodLabel(e.method))}</h3>${e.samples.map(trajectoryHtml).join('\n')}`).join('\n');
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>${escapeHtml(summary.title)}</title>
<style>body{font-family:sans-serif;max-width:1280px;margin:24px auto;color:#222}table{border-collapse:collapse;margin:12px 0}
td,th{border:1px solid #ccc;padding:4px 10px;text-align:left}th{background:#f4f4f4}.charts{display:flex;flex-wrap:wrap;gap:12px}
figure{margin:0}${TRAJECTORY_CSS}</style>
</head><body>
<h1>${escapeHtml(summary.title)}</h1>
<h2>Result: warm start vs final (held-out test questions)</h2>
${table(summaryRows(summary), HEADER)}
<h2>Charts</h2>
<div class="charts">${charts.join('\n')}</div>
${trajectories ? `<h2>Example trajectories</h2>\n${trajectoryLegendHtml()}\n${trajectories}` : ''}
<h2>Every evaluation</h2>
${table(evalRows, ['method', 'step', 'hops', 'sampled EM [95% CI]', 'samples', 'greedy EM', 'all-wrong share', 'searches per rollout'])}
<h2>Setting</h2>
${table(summary.setting)}
${table(summary.timings.map(([stage, s]) => [stage, `${s.toFixed(1)} s`]), ['stage', 'wall time'])}
<h2>Notes</h2>
<ul>${summary.notes.map((n) => `<li>${escapeHtml(n)}</li>`).join('')}</ul>
</body></html>
`;
}
