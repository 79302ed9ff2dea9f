// The lab's self-contained HTML report (setting, held-out EM with 95% intervals per method and step, charts of
// sampled EM, training reward and dead-end rate) and the terminal table of warm-start vs final sampled EM.
import type { LabEvalRow } from '../lab/lab-eval.js';
import { lineChartSvg, type ChartSeries } from './line-chart.js';

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

const COLORS: Record<string, string> = {
  grpo: '#d62728', 'rex-rag': '#1f77b4', 'rex-rag-no-correction': '#2ca02c', 'rex-rag-no-filter': '#9467bd', 'rex-rag-coarse': '#ff7f0e',
};
const NAMES: Record<string, string> = {
  grpo: 'GRPO', 'rex-rag': 'REX-RAG', 'rex-rag-no-correction': 'REX-RAG, no correction', 'rex-rag-no-filter': 'REX-RAG, no filter', 'rex-rag-coarse': 'REX-RAG, coarse density',
};

function escapeHtml(text: string): string {
  return text.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c]!);
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
        NAMES[run.algorithm]!, String(hops), pct(start), `${pct(end)} @${last}`, (end.em - start.em).toFixed(3), separated,
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

function emSeries(summary: LabSummary, hops: LabEvalRow['hops']): ChartSeries[] {
  return summary.runs.flatMap((run) => {
    const rows = summary.rows.filter((r) => r.method === run.algorithm && r.hops === hops).sort((a, b) => a.step - b.step);
    const color = COLORS[run.algorithm]!;
    return [
      { name: NAMES[run.algorithm]!, color, points: rows.map((r) => [r.step, r.em] as [number, number]) },
      { name: `${NAMES[run.algorithm]} 95% low`, color: `${color}66`, points: rows.map((r) => [r.step, r.emLow] as [number, number]) },
      { name: `${NAMES[run.algorithm]} 95% high`, color: `${color}66`, points: rows.map((r) => [r.step, r.emHigh] as [number, number]) },
    ];
  });
}

function metricSeries(summary: LabSummary, key: string): ChartSeries[] {
  return summary.runs.map((run) => ({
    name: NAMES[run.algorithm]!, color: COLORS[run.algorithm]!,
    points: run.steps.filter((s) => key in s.metrics).map((s) => [s.step, s.metrics[key]!] as [number, number]),
  }));
}

/** The full report as one HTML page (inline SVG, no external resources). */
export function labReportHtml(summary: LabSummary): string {
  const charts = [
    lineChartSvg({ title: 'Held-out multi-hop EM (sampled, 95% interval)', xLabel: 'training step', yLabel: 'EM', series: emSeries(summary, 'multi'), yRange: [0, 1] }),
    lineChartSvg({ title: 'Held-out 1-hop EM (sampled, 95% interval)', xLabel: 'training step', yLabel: 'EM', series: emSeries(summary, 1), yRange: [0, 1] }),
    lineChartSvg({ title: 'Training reward (original rollouts)', xLabel: 'training step', yLabel: 'mean EM', series: metricSeries(summary, 'reward/mean'), yRange: [0, 1] }),
    lineChartSvg({ title: 'Dead-end rate (groups with all rollouts wrong)', xLabel: 'training step', yLabel: 'rate', series: metricSeries(summary, 'deadend/rate'), yRange: [0, 1] }),
  ];
  const table = (rows: string[][], header?: string[]) =>
    `<table>${header ? `<tr>${header.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr>` : ''}${rows
      .map((r) => `<tr>${r.map((c) => `<td>${escapeHtml(c)}</td>`).join('')}</tr>`)
      .join('')}</table>`;
  const evalRows = summary.rows.map((r) => [NAMES[r.method] ?? r.method, String(r.step), String(r.hops), pct(r), String(r.samples), r.greedyEm.toFixed(3), r.allWrong.toFixed(2), r.searches.toFixed(2)]);
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>${escapeHtml(summary.title)}</title>
<style>body{font-family:sans-serif;max-width:1200px;margin:24px auto;color:#222}table{border-collapse:collapse;margin:12px 0}
td,th{border:1px solid #ccc;padding:4px 10px;text-align:left}th{background:#f4f4f4}.charts{display:flex;flex-wrap:wrap;gap:12px}</style>
</head><body>
<h1>${escapeHtml(summary.title)}</h1>
<h2>Result: warm start vs final (held-out test questions)</h2>
${table(summaryRows(summary), HEADER)}
<div class="charts">${charts.join('\n')}</div>
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
