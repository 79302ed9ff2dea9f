// The lab's single self-contained HTML report: what was run, a summary table, and charts of evaluation EM,
// training reward and dead-end rate for GRPO against REX-RAG. Also a plain-text summary for the terminal.
import { lineChartSvg, type ChartSeries } from './line-chart.js';

export interface LabRunSummary {
  algorithm: 'grpo' | 'rex-rag';
  evals: { step: number; em: number; f1: number; searchesMean: number; answeredRate: number }[];
  steps: { step: number; metrics: Record<string, number> }[];
  seconds: number;
}

export interface LabSummary {
  title: string;
  /** Facts about the setting (world size, model size, settings), shown as a table. */
  setting: [string, string][];
  runs: LabRunSummary[];
  notes: string[];
}

const COLORS: Record<LabRunSummary['algorithm'], string> = { grpo: '#d62728', 'rex-rag': '#1f77b4' };
const NAMES: Record<LabRunSummary['algorithm'], string> = { grpo: 'GRPO', 'rex-rag': 'REX-RAG' };

function escapeHtml(text: string): string {
  return text.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c]!);
}

function metricSeries(runs: LabRunSummary[], key: string): ChartSeries[] {
  return runs.map((run) => ({
    name: NAMES[run.algorithm],
    color: COLORS[run.algorithm],
    points: run.steps.filter((s) => key in s.metrics).map((s) => [s.step, s.metrics[key]!] as [number, number]),
  }));
}

/** Mean of a metric over a run's steps. */
function meanMetric(run: LabRunSummary, key: string): number {
  const values = run.steps.map((s) => s.metrics[key]).filter((v): v is number => typeof v === 'number');
  return values.length ? values.reduce((a, b) => a + b, 0) / values.length : 0;
}

/** One row per run: start and final dev EM, best EM, mean train reward, dead-end rate, probes kept, time. */
export function summaryRows(runs: LabRunSummary[]): string[][] {
  return runs.map((run) => {
    const first = run.evals[0];
    const last = run.evals[run.evals.length - 1];
    return [
      NAMES[run.algorithm],
      first ? first.em.toFixed(3) : '-',
      last ? last.em.toFixed(3) : '-',
      run.evals.length ? Math.max(...run.evals.map((e) => e.em)).toFixed(3) : '-',
      meanMetric(run, 'reward/mean').toFixed(3),
      meanMetric(run, 'deadend/rate').toFixed(3),
      run.steps.reduce((n, s) => n + (s.metrics['probe/kept'] ?? 0), 0).toFixed(0),
      `${run.seconds.toFixed(0)} s`,
    ];
  });
}

const HEADER = ['method', 'dev EM at start', 'dev EM at end', 'best dev EM', 'train reward (mean)', 'dead-end rate (mean)', 'probes trained', 'time'];

/** The summary as aligned text lines for a terminal. */
export function labSummaryText(summary: LabSummary): string {
  const rows = [HEADER, ...summaryRows(summary.runs)];
  const widths = HEADER.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) => r.map((cell, c) => cell.padEnd(widths[c]!)).join('  ')).join('\n');
}

/** The full report as one HTML page (inline SVG, no external resources). */
export function labReportHtml(summary: LabSummary): string {
  const evalSeries: ChartSeries[] = summary.runs.map((run) => ({
    name: NAMES[run.algorithm], color: COLORS[run.algorithm], points: run.evals.map((e) => [e.step, e.em] as [number, number]),
  }));
  const charts = [
    lineChartSvg({ title: 'Dev exact match (greedy)', xLabel: 'training step', yLabel: 'EM', series: evalSeries, yRange: [0, 1] }),
    lineChartSvg({ title: 'Training reward (original rollouts)', xLabel: 'training step', yLabel: 'mean EM', series: metricSeries(summary.runs, 'reward/mean'), yRange: [0, 1] }),
    lineChartSvg({ title: 'Dead-end rate (questions with all rollouts wrong)', xLabel: 'training step', yLabel: 'rate', series: metricSeries(summary.runs, 'deadend/rate'), yRange: [0, 1] }),
    lineChartSvg({ title: 'Probes kept per step (REX-RAG)', xLabel: 'training step', yLabel: 'probes', series: metricSeries(summary.runs.filter((r) => r.algorithm === 'rex-rag'), 'probe/kept') }),
  ];
  const table = (rows: string[][], header?: string[]) =>
    `<table>${header ? `<tr>${header.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr>` : ''}${rows
      .map((r) => `<tr>${r.map((c) => `<td>${escapeHtml(c)}</td>`).join('')}</tr>`)
      .join('')}</table>`;
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>${escapeHtml(summary.title)}</title>
<style>body{font-family:sans-serif;max-width:1200px;margin:24px auto;color:#222}table{border-collapse:collapse;margin:12px 0}
td,th{border:1px solid #ccc;padding:4px 10px;text-align:left}th{background:#f4f4f4}.charts{display:flex;flex-wrap:wrap;gap:12px}</style>
</head><body>
<h1>${escapeHtml(summary.title)}</h1>
<h2>Result</h2>
${table(summaryRows(summary.runs), HEADER)}
<div class="charts">${charts.join('\n')}</div>
<h2>Setting</h2>
${table(summary.setting)}
<h2>Notes</h2>
<ul>${summary.notes.map((n) => `<li>${escapeHtml(n)}</li>`).join('')}</ul>
</body></html>
`;
}
